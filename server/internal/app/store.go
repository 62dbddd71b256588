package app

import (
	"context"
	"fmt"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/config"
	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/engine/redisengine"
	"github.com/centrifugehq/centrifuge/server/internal/store"
	"github.com/centrifugehq/centrifuge/server/internal/store/sqlitestore"
)

// openStore opens the structure store cfg selects (config.StoreType): the
// engine's Redis, SQLite in data_dir, or memory.
func openStore(cfg config.Config, eng engine.Engine) (store.Store, error) {
	switch t := cfg.StoreType(); t {
	case config.StoreRedis:
		re, ok := eng.(*redisengine.Engine)
		if !ok {
			return nil, fmt.Errorf("store.type redis needs the redis engine")
		}
		return re.StructureStore(), nil
	case config.StoreSQLite:
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return sqlitestore.OpenDir(ctx, cfg.DataDir)
	case config.StoreMemory:
		return store.NewMemory(), nil
	default:
		return nil, fmt.Errorf("unknown store type %q", t)
	}
}
