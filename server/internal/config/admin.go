package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/duration"
)

// Structure store types (Store.Type).
const (
	// StoreMemory keeps the configuration's projects in memory: changes made
	// while running are lost at restart.
	StoreMemory = "memory"
	// StoreSQLite keeps projects in DataDir/structure.db (one node).
	StoreSQLite = "sqlite"
	// StoreRedis keeps projects in the Redis engine's Redis (several nodes).
	StoreRedis = "redis"
)

// Store selects where the structure (projects, namespaces, options) lives.
// The configuration's projects seed it on first start; from then on the
// store is the source of truth and the admin API and CLI change it.
type Store struct {
	// Type is memory, sqlite or redis; "" picks redis with the Redis engine,
	// sqlite when data_dir is set, memory otherwise.
	Type string `yaml:"type"`
}

// Admin configures the admin API (/admin/api/) and the admin UI.
type Admin struct {
	// Enabled serves the admin API and UI; false removes every admin route.
	Enabled bool `yaml:"enabled"`
	// Password logs in to the admin UI: the password itself, or its bcrypt
	// hash ($2a$/$2b$/$2y$..., from centrifuge admin hash-password).
	// Empty: nobody can log in (admin tokens still work).
	Password string `yaml:"password"`
	// Tokens are admin tokens for scripts (Authorization: Bearer <token>):
	// each the token itself (at least 32 characters) or "sha256:" and the
	// hex SHA-256 of it.
	Tokens []string `yaml:"tokens,omitempty"`
	// SessionTTL is how long a login lasts.
	SessionTTL duration.Duration `yaml:"session_ttl"`
	// LoginAttempts failed logins per remote address are allowed within
	// LoginWindow; more are refused (HTTP 429) until the window passes.
	LoginAttempts int               `yaml:"login_attempts"`
	LoginWindow   duration.Duration `yaml:"login_window"`
}

// DefaultAdmin is the admin section's default.
func DefaultAdmin() Admin {
	return Admin{
		Enabled:       true,
		SessionTTL:    duration.Duration(12 * time.Hour),
		LoginAttempts: 5,
		LoginWindow:   duration.Duration(time.Minute),
	}
}

// MinAdminTokenLength is the shortest plain admin token accepted.
const MinAdminTokenLength = 32

// IsPasswordHash reports whether s is a bcrypt hash rather than a password.
func IsPasswordHash(s string) bool {
	return strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$")
}

// TokenHashes returns the SHA-256 of every admin token (hex), whether given
// plain or as "sha256:<hex>".
func (a Admin) TokenHashes() []string {
	out := make([]string, 0, len(a.Tokens))
	for _, t := range a.Tokens {
		if h, ok := strings.CutPrefix(t, "sha256:"); ok {
			out = append(out, strings.ToLower(h))
			continue
		}
		sum := sha256.Sum256([]byte(t))
		out = append(out, hex.EncodeToString(sum[:]))
	}
	return out
}

// StoreType resolves Store.Type's automatic choice.
func (c *Config) StoreType() string {
	if c.Store.Type != "" {
		return c.Store.Type
	}
	switch {
	case c.Engine.Type == EngineRedis:
		return StoreRedis
	case c.DataDir != "":
		return StoreSQLite
	}
	return StoreMemory
}

// StorePath is the SQLite file of DataDir.
func (c *Config) StorePath() string { return filepath.Join(c.DataDir, "structure.db") }

// validateStoreAndAdmin adds the problems of data_dir, store and admin.
func (c *Config) validateStoreAndAdmin(add func(format string, args ...any)) {
	switch c.Store.Type {
	case "", StoreMemory:
	case StoreSQLite:
		if c.DataDir == "" {
			add("store.type sqlite needs data_dir (where structure.db is kept)")
		}
	case StoreRedis:
		if c.Engine.Type != EngineRedis {
			add("store.type redis needs engine.type redis (the store uses the engine's Redis)")
		}
	default:
		add("store.type %q unknown: use %q, %q or %q", c.Store.Type, StoreMemory, StoreSQLite, StoreRedis)
	}
	a := c.Admin
	if a.SessionTTL <= 0 {
		add("admin.session_ttl must be > 0")
	}
	if a.LoginAttempts <= 0 {
		add("admin.login_attempts must be > 0")
	}
	if a.LoginWindow <= 0 {
		add("admin.login_window must be > 0")
	}
	if a.Password != "" && !IsPasswordHash(a.Password) && len(a.Password) < 8 {
		add("admin.password must be at least 8 characters (or a bcrypt hash)")
	}
	for i, t := range a.Tokens {
		if h, ok := strings.CutPrefix(t, "sha256:"); ok {
			if b, err := hex.DecodeString(h); err != nil || len(b) != sha256.Size {
				add("admin.tokens[%d]: sha256: must be followed by 64 hex digits", i)
			}
		} else if len(t) < MinAdminTokenLength {
			add("admin.tokens[%d] must be at least %d characters", i, MinAdminTokenLength)
		}
	}
}

// AdminWarnings reports admin settings that are valid but probably
// unintended; the server logs them when it starts.
func (c *Config) AdminWarnings() []string {
	var out []string
	if c.Admin.Enabled && c.Admin.Password == "" && len(c.Admin.Tokens) == 0 {
		out = append(out, "admin.enabled without admin.password or admin.tokens: nobody can use the admin API (centrifuge genconfig writes a password)")
	}
	if c.StoreType() == StoreSQLite && c.Engine.Type == EngineRedis {
		out = append(out, "store.type sqlite with the redis engine: each node keeps its own projects (use store.type redis for a cluster)")
	}
	if c.StoreType() == StoreMemory && c.Admin.Enabled {
		out = append(out, fmt.Sprintf("no data_dir: projects changed through the admin API are lost at restart (set data_dir, e.g. %q)", "./data"))
	}
	return out
}
