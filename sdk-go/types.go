package centrifuge

import "github.com/centrifugehq/centrifuge/sdk-go/gen"

// The request and result shapes of the server API, generated from openapi.yaml
// into package gen and re-exported under the same names.
type (
	// PublishResult is where a publication went in the channel's history
	// stream; empty when the channel keeps no history.
	PublishResult = gen.PublishResult
	// BroadcastResult has one PublishResponse per channel, in the order of the
	// channels: check each one's Error (ReplyError turns it into an *Error).
	BroadcastResult = gen.BroadcastResult
	// PublishResponse is one channel's answer in a BroadcastResult.
	PublishResponse = gen.PublishResponse
	// PresenceResult lists the connections subscribed to a channel, keyed by client id.
	PresenceResult = gen.PresenceResult
	// ClientInfo is a connection as seen in presence and in publications.
	ClientInfo = gen.ClientInfo
	// PresenceStatsResult counts a channel's connections and unique users.
	PresenceStatsResult = gen.PresenceStatsResult
	// HistoryResult is a page of a channel's history and the stream position.
	HistoryResult = gen.HistoryResult
	// Publication is one message of a channel's history.
	Publication = gen.Publication
	// StreamPosition is a position in a channel's history stream.
	StreamPosition = gen.StreamPosition
	// ChannelsResult lists the active channels, keyed by name.
	ChannelsResult = gen.ChannelsResult
	// ChannelInfo describes one active channel.
	ChannelInfo = gen.ChannelInfo
	// InfoResult describes every live node.
	InfoResult = gen.InfoResult
	// NodeResult describes one live node.
	NodeResult = gen.NodeResult
	// Metrics are a node's metrics, in Centrifugo's shape {interval, items}.
	Metrics = gen.Metrics
	// Command is one command of a batch, as sent.
	Command = gen.Command
	// Reply is the answer to one command of a batch: Error, or the result under
	// the command's method (Publish, Presence, ...).
	Reply = gen.Reply
)
