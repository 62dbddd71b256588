// Package sqlitestore is the embedded structure store: one SQLite database
// file (through modernc.org/sqlite, pure Go, no cgo) in the data directory.
//
// The schema is versioned by the migrations in migrations/, applied in order
// at Open (PRAGMA user_version holds the last applied one). Every write is one
// transaction in WAL mode with synchronous=FULL: a process killed half-way
// leaves the previous state, and a committed write survives a power cut.
// Several processes may open the same file (a server and the CLI): writers
// wait for each other (busy_timeout).
package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/centrifugehq/centrifuge/server/internal/store"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

// FileName is the database's name in the data directory.
const FileName = "structure.db"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the schema migrations in order (index i is version i+1).
func Migrations() []string {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		panic(err)
	}
	sort.Strings(names)
	out := make([]string, len(names))
	for i, n := range names {
		b, err := migrationFiles.ReadFile(n)
		if err != nil {
			panic(err)
		}
		out[i] = string(b)
	}
	return out
}

// Store is the SQLite store.
type Store struct {
	db *sql.DB
}

var _ store.Store = (*Store)(nil)

// OpenDir opens (creating the directory and the file when needed) the store
// of a data directory.
func OpenDir(ctx context.Context, dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	return Open(ctx, filepath.Join(dir, FileName))
}

// Open opens the database file at path and migrates it to the latest schema.
func Open(ctx context.Context, path string) (*Store, error) {
	return open(ctx, path, len(Migrations()))
}

// OpenAtVersion opens the file migrated only up to version: for testing
// migrations from a previous schema.
func OpenAtVersion(ctx context.Context, path string, version int) (*Store, error) {
	return open(ctx, path, version)
}

func open(ctx context.Context, path string, version int) (*Store, error) {
	dsn := "file:" + path + "?_txlock=immediate" +
		"&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s := &Store{db: db}
	if err := s.migrate(ctx, version); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// SchemaVersion returns the database's schema version.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v)
	return v, err
}

func (s *Store) migrate(ctx context.Context, target int) error {
	migrations := Migrations()
	for {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		var v int
		if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
			tx.Rollback()
			return err
		}
		if v > len(migrations) {
			tx.Rollback()
			return fmt.Errorf("schema version %d is newer than this server knows (%d): use a newer server", v, len(migrations))
		}
		if v >= target {
			return tx.Rollback()
		}
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
	}
}

// Kind implements store.Store.
func (s *Store) Kind() string { return "sqlite" }

// Load implements store.Store.
func (s *Store) Load(ctx context.Context) ([]structure.Project, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT data FROM projects ORDER BY name")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []structure.Project{}
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		p, err := store.Decode(data)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// write runs fn in a transaction and bumps the change counter when fn
// reports a change.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) (bool, error)) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	changed, err := fn(tx)
	if err != nil {
		return err
	}
	if !changed {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "UPDATE meta SET value = value + 1 WHERE key = 'version'"); err != nil {
		return err
	}
	return tx.Commit()
}

func now() string { return time.Now().UTC().Format(time.RFC3339Nano) }

// Seed implements store.Store.
func (s *Store) Seed(ctx context.Context, projects []structure.Project) (bool, error) {
	if err := store.CheckNames(projects); err != nil {
		return false, err
	}
	enc := make([][]byte, len(projects))
	for i, p := range projects {
		data, err := store.Encode(p)
		if err != nil {
			return false, err
		}
		enc[i] = data
	}
	seeded := false
	err := s.write(ctx, func(tx *sql.Tx) (bool, error) {
		var v uint64
		if err := tx.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'version'").Scan(&v); err != nil {
			return false, err
		}
		if v != 0 {
			return false, nil
		}
		for i, p := range projects {
			if _, err := tx.ExecContext(ctx, "INSERT INTO projects (name, data, updated_at) VALUES (?, ?, ?)", p.Name, enc[i], now()); err != nil {
				return false, err
			}
		}
		seeded = true
		return true, nil
	})
	return seeded, err
}

func get(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, name string) (structure.Project, error) {
	var data []byte
	err := q.QueryRowContext(ctx, "SELECT data FROM projects WHERE name = ?", name).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return structure.Project{}, store.NotFound(name)
	}
	if err != nil {
		return structure.Project{}, err
	}
	return store.Decode(data)
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, name string) (structure.Project, error) {
	return get(ctx, s.db, name)
}

// Create implements store.Store.
func (s *Store) Create(ctx context.Context, p structure.Project) error {
	data, err := store.Encode(p)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) (bool, error) {
		_, err := tx.ExecContext(ctx, "INSERT INTO projects (name, data, updated_at) VALUES (?, ?, ?)", p.Name, data, now())
		if err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed") {
			return false, store.Exists(p.Name)
		}
		return err == nil, err
	})
}

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, name string, fn func(p *structure.Project) error) (structure.Project, error) {
	var out structure.Project
	err := s.write(ctx, func(tx *sql.Tx) (bool, error) {
		stored, err := get(ctx, tx, name)
		if err != nil {
			return false, err
		}
		p, data, err := store.ApplyUpdate(stored, fn)
		if err != nil {
			return false, err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE projects SET data = ?, updated_at = ? WHERE name = ?", data, now(), name); err != nil {
			return false, err
		}
		out = p
		return true, nil
	})
	return out, err
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, name string) error {
	return s.write(ctx, func(tx *sql.Tx) (bool, error) {
		res, err := tx.ExecContext(ctx, "DELETE FROM projects WHERE name = ?", name)
		if err != nil {
			return false, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return false, err
		}
		if n == 0 {
			return false, store.NotFound(name)
		}
		return true, nil
	})
}

// Version implements store.Store.
func (s *Store) Version(ctx context.Context) (uint64, error) {
	var v uint64
	err := s.db.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'version'").Scan(&v)
	return v, err
}

// Backup writes a consistent copy of the database to path (which must not
// exist), while the store stays in use: SQLite's VACUUM INTO. Restore by
// putting the copy in place of the data directory's structure.db while no
// server runs.
func (s *Store) Backup(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s exists: choose a new file", path)
	}
	if _, err := s.db.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	return nil
}

// Close implements store.Store.
func (s *Store) Close() error { return s.db.Close() }
