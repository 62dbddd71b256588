package redisengine

import (
	"github.com/centrifugehq/centrifuge/server/internal/store/redisstore"
)

// legacyProjectsKey is where servers before the structure store kept the
// project list (one JSON array); the store imports it once.
func (e *Engine) legacyProjectsKey() string {
	if e.clustered {
		return "{" + e.prefix + ".control}.projects"
	}
	return e.prefix + ".projects"
}

// StructureStore returns the structure store kept in this engine's Redis (on
// its first shard), under the engine's prefix. It lives as long as the engine.
func (e *Engine) StructureStore() *redisstore.Store {
	return redisstore.New(e.shards[0].client, e.prefix, e.legacyProjectsKey())
}
