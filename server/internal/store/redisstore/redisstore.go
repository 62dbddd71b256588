// Package redisstore is the structure store of a cluster: the projects in a
// Redis hash that every node reads, next to a change counter. Every write is
// one Lua script (atomic); Update is a compare-and-set on the project's
// stored JSON, retried when another writer changed it meanwhile. The keys
// share a hash tag, so the store works on Redis Cluster too.
package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/redis/go-redis/v9"

	"github.com/centrifugehq/centrifuge/server/internal/store"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

// maxUpdateAttempts bounds the compare-and-set retries of one Update.
const maxUpdateAttempts = 100

// Store is the Redis store.
type Store struct {
	c       redis.UniversalClient
	hash    string // name -> project JSON
	version string // change counter; absent: never written
	legacy  string // the list of projects (JSON) of servers before this store
}

var _ store.Store = (*Store)(nil)

// New returns the store with keys under prefix on c. legacyKey, when not
// empty, is the key where earlier servers kept the whole project list as one
// JSON array: an unseeded store imports it instead of the configuration's
// projects. Close does not close c.
func New(c redis.UniversalClient, prefix, legacyKey string) *Store {
	tag := "{" + prefix + ".structure}"
	return &Store{c: c, hash: tag + ".projects", version: tag + ".version", legacy: legacyKey}
}

var (
	seedScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
for i = 1, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i+1]) end
redis.call('SET', KEYS[2], 1)
return 1`)
	createScript = redis.NewScript(`
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('INCR', KEYS[2])
return 1`)
	// casScript: 1 written, 0 changed meanwhile, -1 gone.
	casScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return -1 end
if cur ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('INCR', KEYS[2])
return 1`)
	deleteScript = redis.NewScript(`
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('INCR', KEYS[2])
return 1`)
)

// Kind implements store.Store.
func (s *Store) Kind() string { return "redis" }

// Load implements store.Store.
func (s *Store) Load(ctx context.Context) ([]structure.Project, error) {
	m, err := s.c.HGetAll(ctx, s.hash).Result()
	if err != nil {
		return nil, fmt.Errorf("load projects: %w", err)
	}
	out := make([]structure.Project, 0, len(m))
	for _, data := range m {
		p, err := store.Decode([]byte(data))
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Seed implements store.Store. An unseeded store with a legacy project list
// imports that list (the projects a running cluster served) instead.
func (s *Store) Seed(ctx context.Context, projects []structure.Project) (bool, error) {
	if s.legacy != "" {
		if v, err := s.Version(ctx); err == nil && v == 0 {
			if old, err := s.legacyProjects(ctx); err != nil {
				return false, err
			} else if old != nil {
				projects = old
			}
		}
	}
	if err := store.CheckNames(projects); err != nil {
		return false, err
	}
	args := make([]any, 0, 2*len(projects))
	for _, p := range projects {
		data, err := store.Encode(p)
		if err != nil {
			return false, err
		}
		args = append(args, p.Name, data)
	}
	n, err := seedScript.Run(ctx, s.c, []string{s.hash, s.version}, args...).Int()
	if err != nil {
		return false, fmt.Errorf("seed projects: %w", err)
	}
	return n == 1, nil
}

func (s *Store) legacyProjects(ctx context.Context) ([]structure.Project, error) {
	data, err := s.c.Get(ctx, s.legacy).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("legacy projects: %w", err)
	}
	var ps []structure.Project
	if err := json.Unmarshal(data, &ps); err != nil {
		return nil, fmt.Errorf("legacy projects in %s: %w", s.legacy, err)
	}
	return ps, nil
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, name string) (structure.Project, error) {
	data, err := s.c.HGet(ctx, s.hash, name).Bytes()
	if errors.Is(err, redis.Nil) {
		return structure.Project{}, store.NotFound(name)
	}
	if err != nil {
		return structure.Project{}, fmt.Errorf("get project: %w", err)
	}
	return store.Decode(data)
}

// Create implements store.Store.
func (s *Store) Create(ctx context.Context, p structure.Project) error {
	data, err := store.Encode(p)
	if err != nil {
		return err
	}
	n, err := createScript.Run(ctx, s.c, []string{s.hash, s.version}, p.Name, data).Int()
	if err != nil {
		return fmt.Errorf("create project: %w", err)
	}
	if n == 0 {
		return store.Exists(p.Name)
	}
	return nil
}

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, name string, fn func(p *structure.Project) error) (structure.Project, error) {
	for range maxUpdateAttempts {
		old, err := s.c.HGet(ctx, s.hash, name).Bytes()
		if errors.Is(err, redis.Nil) {
			return structure.Project{}, store.NotFound(name)
		}
		if err != nil {
			return structure.Project{}, fmt.Errorf("update project: %w", err)
		}
		stored, err := store.Decode(old)
		if err != nil {
			return stored, err
		}
		p, data, err := store.ApplyUpdate(stored, fn)
		if err != nil {
			return structure.Project{}, err
		}
		n, err := casScript.Run(ctx, s.c, []string{s.hash, s.version}, name, old, data).Int()
		if err != nil {
			return structure.Project{}, fmt.Errorf("update project: %w", err)
		}
		switch n {
		case 1:
			return p, nil
		case -1:
			return structure.Project{}, store.NotFound(name)
		}
	}
	return structure.Project{}, fmt.Errorf("update project %q: changed by others %d times in a row", name, maxUpdateAttempts)
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, name string) error {
	n, err := deleteScript.Run(ctx, s.c, []string{s.hash, s.version}, name).Int()
	if err != nil {
		return fmt.Errorf("delete project: %w", err)
	}
	if n == 0 {
		return store.NotFound(name)
	}
	return nil
}

// Version implements store.Store.
func (s *Store) Version(ctx context.Context) (uint64, error) {
	v, err := s.c.Get(ctx, s.version).Uint64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("structure version: %w", err)
	}
	return v, nil
}

// Close implements store.Store; the client stays open (its owner closes it).
func (s *Store) Close() error { return nil }
