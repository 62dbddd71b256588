package node

import (
	"context"
	"fmt"

	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

// Channel is one channel of a project, resolved to its options once
// (structure.Project.ResolveChannel), and the node's operations on it. The
// server API reaches them through the Node's methods, which take names; a
// connection, which has resolved the channel to check its rights, through
// Node.Channel.
type Channel struct {
	n       *Node
	Project *structure.Project
	Name    string
	Options structure.ChannelOptions
}

// Channel returns the operations on channel ch of project p, whose options
// are opts.
func (n *Node) Channel(p *structure.Project, ch string, opts structure.ChannelOptions) Channel {
	return Channel{n: n, Project: p, Name: ch, Options: opts}
}

// channel resolves channel ch of the named project.
func (n *Node) channel(project, ch string) (Channel, error) {
	p, err := n.project(project)
	if err != nil {
		return Channel{}, err
	}
	_, opts, err := p.ResolveChannel(ch, n.cfg.Client.MaxChannelLength)
	if err != nil {
		return Channel{}, err
	}
	return n.Channel(p, ch, opts), nil
}

// publishOptions returns engine publish options for a channel's options.
func publishOptions(opts structure.ChannelOptions) engine.PublishOptions {
	if !opts.HistoryEnabled() {
		return engine.PublishOptions{}
	}
	return engine.PublishOptions{HistorySize: opts.HistorySize, HistoryTTL: opts.HistoryTTL.D()}
}

// Publish publishes data into the channel, kept in its history unless
// opts.SkipHistory.
func (c Channel) Publish(ctx context.Context, data []byte, opts PublishOptions) (engine.StreamPosition, error) {
	po := publishOptions(c.Options)
	if opts.SkipHistory {
		po = engine.PublishOptions{}
	}
	po.Tags = opts.Tags
	po.IdempotencyKey = opts.IdempotencyKey
	po.ClientInfo = opts.ClientInfo
	sp, _, err := c.n.engine.Publish(ctx, c.Project.Name, c.Name, data, po)
	if err != nil {
		return engine.StreamPosition{}, fmt.Errorf("publish: %w", err)
	}
	return sp, nil
}

// Presence returns the channel's presence on all nodes.
func (c Channel) Presence(ctx context.Context) (map[string]*engine.ClientInfo, error) {
	if !c.Options.Presence {
		return nil, protocol.ErrNotAvailable.WithMessage("presence is not enabled for this channel")
	}
	p, err := c.n.engine.Presence(ctx, c.Project.Name, c.Name)
	if err != nil {
		return nil, fmt.Errorf("presence: %w", err)
	}
	return p, nil
}

// PresenceStats returns the channel's presence counts on all nodes.
func (c Channel) PresenceStats(ctx context.Context) (engine.PresenceStats, error) {
	if !c.Options.Presence {
		return engine.PresenceStats{}, protocol.ErrNotAvailable.WithMessage("presence is not enabled for this channel")
	}
	st, err := c.n.engine.PresenceStats(ctx, c.Project.Name, c.Name)
	if err != nil {
		return engine.PresenceStats{}, fmt.Errorf("presence stats: %w", err)
	}
	return st, nil
}

// History returns the channel's history; limits are capped at HistoryMaxLimit.
func (c Channel) History(ctx context.Context, opts engine.HistoryOptions) (engine.HistoryResult, error) {
	if !c.Options.HistoryEnabled() {
		return engine.HistoryResult{}, protocol.ErrNotAvailable.WithMessage("history is not enabled for this channel")
	}
	opts.Limit = c.n.capLimit(opts.Limit)
	return c.n.engine.History(ctx, c.Project.Name, c.Name, opts)
}

func (n *Node) capLimit(limit int) int {
	max := n.cfg.Client.HistoryMaxLimit
	if max <= 0 {
		return limit
	}
	if limit < 0 || limit > max {
		return max
	}
	return limit
}

// HistoryRemove drops the channel's publications.
func (c Channel) HistoryRemove(ctx context.Context) error {
	if !c.Options.HistoryEnabled() {
		return protocol.ErrNotAvailable.WithMessage("history is not enabled for this channel")
	}
	return c.n.engine.RemoveHistory(ctx, c.Project.Name, c.Name)
}
