package redisengine

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/metrics"
)

var _ engine.Pinger = (*Engine)(nil)

// Ping checks that every shard answers (readiness).
func (e *Engine) Ping(ctx context.Context) error {
	if err := e.check(ctx); err != nil {
		return err
	}
	for _, sh := range e.shards {
		if err := sh.client.Ping(ctx).Err(); err != nil {
			return e.wrap(ctx, "ping", err)
		}
	}
	return nil
}

// metricsHook times every Redis command and counts the failed ones.
type metricsHook struct {
	latency *metrics.Timer
	errors  *metrics.Counter
}

func newMetricsHook(reg *metrics.Registry) metricsHook {
	return metricsHook{
		latency: reg.Timer("redis.command", "Redis command round trips"),
		errors:  reg.Counter("redis.errors", "Redis commands that failed (not counting a missing key)"),
	}
}

func (h metricsHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := next(ctx, network, addr)
		if err != nil {
			h.errors.Inc(1)
		}
		return c, err
	}
}

func (h metricsHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		h.latency.Since(start)
		if err != nil && !errors.Is(err, redis.Nil) {
			h.errors.Inc(1)
		}
		return err
	}
}

func (h metricsHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		h.latency.Since(start)
		if err != nil && !errors.Is(err, redis.Nil) {
			h.errors.Inc(1)
		}
		return err
	}
}
