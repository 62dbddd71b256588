package client

import (
	"context"
	"fmt"

	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/node"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
)

// Recovery: a new subscription's stream position, and the publications a
// resubscribing client missed.

// readPosition puts the stream position of a new subscription s in res
// when the subscription is recoverable or positioned, and, when the client
// asks to recover, the publications it missed.
func (c *Client) readPosition(ctx context.Context, p subParams, s *sub, res *protocol.SubscribeResult) error {
	positioned := p.opts.HistoryEnabled() && p.req.Positioned
	if !s.recoverable && !positioned {
		return nil
	}
	res.Positioned = positioned
	hopts := engine.HistoryOptions{Limit: 0}
	recovering := s.recoverable && p.req.Recover
	maxPubs := c.node.ClientConfig().HistoryMaxLimit
	if recovering {
		hopts.Since = &engine.StreamPosition{Offset: p.req.Offset, Epoch: p.req.Epoch}
		hopts.Limit = -1
		if maxPubs > 0 {
			hopts.Limit = maxPubs + 1
		}
	}
	hr, err := c.node.Engine().History(ctx, c.project.Name, p.ch, hopts)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	res.Epoch, res.Offset = hr.Position.Epoch, hr.Position.Offset
	if recovering {
		res.WasRecovering = true
		res.Recovered, res.Publications = recoverMissed(p.req, hr, maxPubs)
		if p.req.Epoch != "" && p.req.Epoch != hr.Position.Epoch && hr.Position.Offset > 0 {
			// The stream was lost (e.g. Redis restarted empty): the client's
			// position cannot be recovered, but everything the new stream
			// holds can still be delivered, when it is complete from its start.
			hopts.Since = &engine.StreamPosition{Offset: 0, Epoch: hr.Position.Epoch}
			fresh, err := c.node.Engine().History(ctx, c.project.Name, p.ch, hopts)
			if err != nil {
				return fmt.Errorf("history: %w", err)
			}
			_, res.Publications = recoverMissed(&protocol.SubscribeRequest{Epoch: fresh.Position.Epoch}, fresh, maxPubs)
			res.Epoch, res.Offset = fresh.Position.Epoch, fresh.Position.Offset
		}
	}
	return nil
}

// recoverMissed decides whether every publication after the client's position is
// available; if not, no publications are returned and recovered is false, so the
// client knows to reload state: never a silent gap.
func recoverMissed(req *protocol.SubscribeRequest, hr engine.HistoryResult, maxPubs int) (bool, []*protocol.Publication) {
	top := hr.Position
	if req.Epoch != "" && req.Epoch != top.Epoch {
		return false, nil
	}
	if req.Offset > top.Offset {
		return false, nil
	}
	missed := top.Offset - req.Offset
	if maxPubs > 0 && missed > uint64(maxPubs) {
		return false, nil
	}
	if uint64(len(hr.Publications)) != missed {
		return false, nil
	}
	pubs := make([]*protocol.Publication, len(hr.Publications))
	for i, pub := range hr.Publications {
		if pub.Offset != req.Offset+uint64(i)+1 {
			return false, nil
		}
		pubs[i] = node.ProtoPublication(pub)
	}
	return true, pubs
}
