// Package api implements the server HTTP API (generated Echo interface in gen/)
// on top of a Service, the node's operations.
package api

import (
	"context"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
)

// PublishOptions tune a server-side publish.
type PublishOptions struct {
	SkipHistory    bool
	Tags           map[string]string
	IdempotencyKey string
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

// Service is what the HTTP API needs from the node. Every method takes the
// project name ("" means the default project). Errors that are a
// *protocol.Error are shown to the API caller as {"error": {code, message}};
// any other error is an internal error (code 100).
type Service interface {
	Publish(ctx context.Context, project, channel string, data []byte, opts PublishOptions) (engine.StreamPosition, error)
	// Broadcast publishes data into each channel, as Publish would; results[i]
	// is channels[i]'s outcome, and one channel's failure does not fail the others.
	Broadcast(ctx context.Context, project string, channels []string, data []byte, opts PublishOptions) (results []PublishResult)
	// Subscribe subscribes every connection of user (or only opts.Client, when set) to channel.
	Subscribe(ctx context.Context, project, user, channel string, opts SubscribeOptions) error
	// Unsubscribe unsubscribes user's connections (or only client) from channel.
	Unsubscribe(ctx context.Context, project, user, channel, client string) error
	// Disconnect closes user's connections (or only client) with d, except
	// the connections whose client id is in whitelist.
	Disconnect(ctx context.Context, project, user, client string, d protocol.Disconnect, whitelist []string) error
	Refresh(ctx context.Context, project, user, client string, opts RefreshOptions) error
	Presence(ctx context.Context, project, channel string) (map[string]*engine.ClientInfo, error)
	PresenceStats(ctx context.Context, project, channel string) (engine.PresenceStats, error)
	History(ctx context.Context, project, channel string, opts engine.HistoryOptions) (engine.HistoryResult, error)
	HistoryRemove(ctx context.Context, project, channel string) error
	// Channels lists active channels (with at least one subscriber) whose name
	// matches pattern (path.Match syntax; "" matches all), with their subscriber counts.
	Channels(ctx context.Context, project, pattern string) (map[string]int, error)
	Info(ctx context.Context) ([]NodeInfo, error)
}
