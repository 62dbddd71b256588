package engine

import (
	"context"
	"time"
)

// BanStore is implemented by engines that keep records every node can read
// (Redis): the bans of users the connection check named inactive, so that a
// node started after a ban still refuses the user's old tokens.
type BanStore interface {
	// SaveBan replaces the ban of user in project (opaque data), kept for
	// ttl (0: until replaced).
	SaveBan(ctx context.Context, project, user string, data []byte, ttl time.Duration) error
	// LoadBan returns the ban of user in project, nil when there is none.
	LoadBan(ctx context.Context, project, user string) ([]byte, error)
}
