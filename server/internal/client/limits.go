package client

import (
	"time"
	"unicode/utf8"

	"github.com/centrifugehq/centrifuge/server/internal/protocol"
)

// errSubLimit is returned by prepareSub when the connection has
// max_subscriptions already.
var errSubLimit = protocol.DisconnectChannelLimit

// strikeWindow: refused commands closer together than this count as one
// episode of abuse; a pause this long forgives them.
const strikeWindow = time.Second

// rateLimiter is a token bucket of commands per second for one connection,
// with the count of refused commands in the current episode. Times are unix
// nanoseconds (0: never), smaller than time.Time in every connection.
// Guarded by the client's mu.
type rateLimiter struct {
	tokens     float64
	last       int64
	lastStrike int64
	strikes    int32
}

// take spends a token. When none is left it returns false and the number of
// commands refused in this episode, this one included.
func (l *rateLimiter) take(rate, burst int, now time.Time) (bool, int) {
	if burst <= 0 {
		burst = rate
	}
	ns := now.UnixNano()
	if l.last == 0 {
		l.tokens = float64(burst)
	} else {
		// A clock set back refills nothing rather than taking tokens away.
		elapsed := time.Duration(max(0, ns-l.last))
		l.tokens = min(float64(burst), l.tokens+elapsed.Seconds()*float64(rate))
	}
	l.last = ns
	if l.tokens >= 1 {
		l.tokens--
		return true, 0
	}
	if time.Duration(ns-l.lastStrike) > strikeWindow {
		l.strikes = 0
	}
	l.strikes++
	l.lastStrike = ns
	return false, int(l.strikes)
}

// allowCommand applies max_commands_per_second to one command. It returns
// false when the command must not run: it was answered 111 (or, being a
// send, dropped), or the connection is closing with 3013 because it kept
// sending while refused.
func (c *Client) allowCommand(cmd *protocol.Command) (run, keep bool) {
	cfg := c.node.ClientConfig()
	if cfg.MaxCommandsPerSecond <= 0 {
		return true, true
	}
	c.mu.Lock()
	ok, strikes := c.limiter.take(cfg.MaxCommandsPerSecond, cfg.CommandsBurst, time.Now())
	c.mu.Unlock()
	if ok {
		return true, true
	}
	burst := cfg.CommandsBurst
	if burst <= 0 {
		burst = cfg.MaxCommandsPerSecond
	}
	if strikes > burst {
		c.node.Stats().RateDisconnects.Add(1)
		c.log().Info("too many requests: disconnecting", "refused", strikes)
		c.close(protocol.DisconnectTooManyRequests, true)
		return false, false
	}
	c.node.Stats().RateLimited.Add(1)
	if cmd.ID != 0 {
		c.sendReply(&protocol.Reply{ID: cmd.ID, Error: protocol.ErrTooManyRequests})
	}
	return false, true
}

// dataAllowed applies max_publication_size to the data of a publish, rpc or
// send (or what a publish proxy rewrote it to), and refuses invalid UTF-8:
// it would reach subscribers in WebSocket text frames, which strict clients
// close with 1007, and stay in history for recovering ones to meet again.
func (c *Client) dataAllowed(data []byte) error {
	if !utf8.Valid(data) {
		return protocol.ErrBadRequest.WithMessage("data is not valid UTF-8")
	}
	if max := c.node.ClientConfig().MaxPublicationSize; max > 0 && len(data) > max {
		c.node.Stats().PublicationTooLarge.Add(1)
		return protocol.ErrLimitExceeded.WithMessage("data too large")
	}
	return nil
}
