// Package api implements the server HTTP API (generated Echo interface in gen/)
// on top of a Service, the node's operations.
package api

import (
	"context"

	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/node"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
)

// Service is what the HTTP API needs from the node. Every method takes the
// project name ("" means the default project). Errors that are a
// *protocol.Error are shown to the API caller as {"error": {code, message}};
// any other error is an internal error (code 100).
type Service interface {
	Publish(ctx context.Context, project, channel string, data []byte, opts node.PublishOptions) (engine.StreamPosition, error)
	// Broadcast publishes data into each channel, as Publish would; results[i]
	// is channels[i]'s outcome, and one channel's failure does not fail the others.
	Broadcast(ctx context.Context, project string, channels []string, data []byte, opts node.PublishOptions) (results []node.PublishResult)
	// Subscribe subscribes every connection of user (or only opts.Client, when set) to channel.
	Subscribe(ctx context.Context, project, user, channel string, opts node.SubscribeOptions) error
	// Unsubscribe unsubscribes user's connections (or only client) from channel.
	Unsubscribe(ctx context.Context, project, user, channel, client string) error
	// Disconnect closes user's connections (or only client) with d, except
	// the connections whose client id is in whitelist.
	Disconnect(ctx context.Context, project, user, client string, d protocol.Disconnect, whitelist []string) error
	Refresh(ctx context.Context, project, user, client string, opts node.RefreshOptions) error
	Presence(ctx context.Context, project, channel string) (map[string]*engine.ClientInfo, error)
	PresenceStats(ctx context.Context, project, channel string) (engine.PresenceStats, error)
	History(ctx context.Context, project, channel string, opts engine.HistoryOptions) (engine.HistoryResult, error)
	HistoryRemove(ctx context.Context, project, channel string) error
	// Channels lists active channels (with at least one subscriber) whose name
	// matches pattern (path.Match syntax; "" matches all), with their subscriber counts.
	Channels(ctx context.Context, project, pattern string) (map[string]int, error)
	Info(ctx context.Context) ([]node.NodeInfo, error)
}

var _ Service = (*node.Node)(nil)
