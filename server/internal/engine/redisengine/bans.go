package redisengine

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/centrifugehq/centrifuge/server/internal/engine"
)

var _ engine.BanStore = (*Engine)(nil)

// banKey holds the ban of one user, on the first shard:
// <prefix>.ban.<project>.<user> ({<prefix>.control}.ban... in cluster mode).
func (e *Engine) banKey(project, user string) string {
	head := e.prefix
	if e.clustered {
		head = "{" + e.prefix + ".control}"
	}
	return head + ".ban." + escape(project) + "." + escape(user)
}

// SaveBan replaces the ban of user, kept for ttl (0: no expiry).
func (e *Engine) SaveBan(ctx context.Context, project, user string, data []byte, ttl time.Duration) error {
	if err := e.check(ctx); err != nil {
		return err
	}
	return e.wrap(ctx, "save ban", e.shards[0].client.Set(ctx, e.banKey(project, user), data, ttl).Err())
}

// LoadBan returns the ban of user, nil when there is none.
func (e *Engine) LoadBan(ctx context.Context, project, user string) ([]byte, error) {
	if err := e.check(ctx); err != nil {
		return nil, err
	}
	data, err := e.shards[0].client.Get(ctx, e.banKey(project, user)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, e.wrap(ctx, "load ban", err)
	}
	return data, nil
}
