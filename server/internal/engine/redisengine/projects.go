package redisengine

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"

	"github.com/centrifugehq/centrifuge/server/internal/engine"
)

var _ engine.ProjectStore = (*Engine)(nil)

// projectsKey holds the project list (JSON) on the first shard.
func (e *Engine) projectsKey() string {
	if e.clustered {
		return "{" + e.prefix + ".control}.projects"
	}
	return e.prefix + ".projects"
}

// LoadProjects returns the saved project list, nil when none was saved.
func (e *Engine) LoadProjects(ctx context.Context) ([]byte, error) {
	if err := e.check(ctx); err != nil {
		return nil, err
	}
	data, err := e.shards[0].client.Get(ctx, e.projectsKey()).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, e.wrap(ctx, "load projects", err)
	}
	return data, nil
}

// SaveProjects replaces the saved project list.
func (e *Engine) SaveProjects(ctx context.Context, data []byte) error {
	if err := e.check(ctx); err != nil {
		return err
	}
	return e.wrap(ctx, "save projects", e.shards[0].client.Set(ctx, e.projectsKey(), data, 0).Err())
}
