package node

import (
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/engine"
)

// The node's own types: the options and results of its operations (the
// server API reaches them through api.Service, the client through Node).

// PublishOptions tune a server-side publish.
type PublishOptions struct {
	SkipHistory    bool
	Tags           map[string]string
	IdempotencyKey string
	// ClientInfo is the publisher, when a client published (the server API
	// leaves it nil).
	ClientInfo *engine.ClientInfo
}

// PublishResult is one channel's outcome of a broadcast.
type PublishResult struct {
	Position engine.StreamPosition
	Err      error
}

// RefreshOptions for a server-side refresh of a user's (or one client's) connections.
type RefreshOptions struct {
	// Expired disconnects the connections at once with 3005.
	Expired bool
	// ExpireAt (unix seconds) is the new expiry; 0 means never.
	ExpireAt int64
	// Info replaces conn_info when set.
	Info []byte
}

// SubscribeOptions of a server-side subscribe.
type SubscribeOptions struct {
	// Client, when set, subscribes only this connection of the user.
	Client string
	// Info is the subscription's channel info (chan_info); nil means none.
	Info []byte
	// Data goes to the connection in its subscribe push; nil means none.
	Data []byte
	// RecoverSince, when set, recovers the publications after this position
	// (sent as pub pushes after the subscribe push; an unrecoverable position
	// subscribes without them, with recovered false in the log).
	RecoverSince *engine.StreamPosition
	// Override replaces channel options for this subscription.
	Override ChannelOverride
}

// ChannelOverride replaces some of a channel's options for one subscription;
// nil leaves the channel's value.
type ChannelOverride struct {
	Presence           *bool `json:"presence,omitempty"`
	JoinLeave          *bool `json:"join_leave,omitempty"`
	ForcePushJoinLeave *bool `json:"force_push_join_leave,omitempty"`
	ForcePositioning   *bool `json:"force_positioning,omitempty"`
	ForceRecovery      *bool `json:"force_recovery,omitempty"`
}

// NodeInfo describes one live node.
type NodeInfo struct {
	UID         string
	Name        string
	Version     string
	NumClients  int
	NumUsers    int
	NumSubs     int
	NumChannels int
	Uptime      time.Duration
	// Metrics are the node's current aggregates (metrics.Registry.Snapshot),
	// updated every MetricsInterval.
	Metrics         map[string]float64
	MetricsInterval time.Duration
}
