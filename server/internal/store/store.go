// Package store keeps the structure (projects, their namespaces and options)
// where it survives restarts and where every node finds it. Store is the one
// interface; implementations: Memory (one process, nothing kept), sqlitestore
// (the embedded default, a file in the data directory) and redisstore
// (several nodes). Every implementation must pass storetest.Run.
//
// A store validates every project it writes (structure.Project.Validate): it
// never holds a project the configuration file would refuse. Each write is
// atomic: a reader sees the state before or after it, even when the writing
// process is killed half-way.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

var (
	// ErrNotFound is returned for a project that is not stored.
	ErrNotFound = errors.New("project not found")
	// ErrExists is returned by Create for a name already stored.
	ErrExists = errors.New("project exists")
)

// Store holds the projects.
type Store interface {
	// Kind names the implementation: "memory", "sqlite" or "redis".
	Kind() string
	// Load returns every project, sorted by name.
	Load(ctx context.Context) ([]structure.Project, error)
	// Seed stores projects when the store has never been written (Version
	// 0) and reports whether it did: the configuration file seeds the store
	// on first start, and from then on the store is the source of truth.
	Seed(ctx context.Context, projects []structure.Project) (bool, error)
	// Get returns one project, or an error wrapping ErrNotFound.
	Get(ctx context.Context, name string) (structure.Project, error)
	// Create stores a new project; ErrExists when the name is taken.
	Create(ctx context.Context, p structure.Project) error
	// Update changes a project atomically: fn gets the stored project and
	// changes it (it may be called more than once when writers race; its
	// error aborts the update). The result must keep its name and pass
	// validation. It returns the stored result.
	Update(ctx context.Context, name string, fn func(p *structure.Project) error) (structure.Project, error)
	// Delete removes a project; ErrNotFound when there is none.
	Delete(ctx context.Context, name string) error
	// Version grows with every write (0: never written). Nodes poll it to
	// notice changes made by another process (the CLI).
	Version(ctx context.Context) (uint64, error)
	// Close releases the store's resources.
	Close() error
}

// Encode is how implementations serialize a project (JSON, as the admin API
// shows it). It validates first.
func Encode(p structure.Project) ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return json.Marshal(p)
}

// Decode reads a project written by Encode.
func Decode(data []byte) (structure.Project, error) {
	var p structure.Project
	if err := json.Unmarshal(data, &p); err != nil {
		return p, fmt.Errorf("stored project: %w", err)
	}
	return p, nil
}

// ApplyUpdate runs an Update's fn on a copy of the stored project and checks
// the result: the shared part of every implementation's Update.
func ApplyUpdate(stored structure.Project, fn func(p *structure.Project) error) (structure.Project, []byte, error) {
	p := Clone(stored)
	if err := fn(&p); err != nil {
		return p, nil, err
	}
	if p.Name != stored.Name {
		return p, nil, &structure.FieldError{Field: "name", Msg: "a project's name cannot change"}
	}
	data, err := Encode(p)
	return p, data, err
}

// CheckNames refuses a list with a name twice (Seed).
func CheckNames(projects []structure.Project) error {
	seen := map[string]bool{}
	for _, p := range projects {
		if seen[p.Name] {
			return fmt.Errorf("project %q defined twice", p.Name)
		}
		seen[p.Name] = true
	}
	return nil
}

// Clone returns a deep copy of p.
func Clone(p structure.Project) structure.Project {
	data, err := json.Marshal(p)
	if err != nil {
		panic(fmt.Sprintf("store: marshal project: %v", err))
	}
	var c structure.Project
	if err := json.Unmarshal(data, &c); err != nil {
		panic(fmt.Sprintf("store: unmarshal project: %v", err))
	}
	return c
}

// NotFound returns ErrNotFound for name.
func NotFound(name string) error { return fmt.Errorf("%w: %q", ErrNotFound, name) }

// Exists returns ErrExists for name.
func Exists(name string) error { return fmt.Errorf("%w: %q", ErrExists, name) }

// Memory is a Store in process memory: for one node whose projects need not
// survive a restart (no data directory). The zero value is not ready: use
// NewMemory.
type Memory struct {
	mu       sync.Mutex
	projects map[string][]byte
	version  uint64
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty memory store.
func NewMemory() *Memory { return &Memory{projects: map[string][]byte{}} }

// Kind implements Store.
func (m *Memory) Kind() string { return "memory" }

// Load implements Store.
func (m *Memory) Load(context.Context) ([]structure.Project, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]structure.Project, 0, len(m.projects))
	for _, data := range m.projects {
		p, err := Decode(data)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Seed implements Store.
func (m *Memory) Seed(_ context.Context, projects []structure.Project) (bool, error) {
	if err := CheckNames(projects); err != nil {
		return false, err
	}
	enc := make(map[string][]byte, len(projects))
	for _, p := range projects {
		data, err := Encode(p)
		if err != nil {
			return false, err
		}
		enc[p.Name] = data
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.version != 0 {
		return false, nil
	}
	m.projects = enc
	m.version++
	return true, nil
}

// Get implements Store.
func (m *Memory) Get(_ context.Context, name string) (structure.Project, error) {
	m.mu.Lock()
	data, ok := m.projects[name]
	m.mu.Unlock()
	if !ok {
		return structure.Project{}, NotFound(name)
	}
	return Decode(data)
}

// Create implements Store.
func (m *Memory) Create(_ context.Context, p structure.Project) error {
	data, err := Encode(p)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.projects[p.Name]; ok {
		return Exists(p.Name)
	}
	m.projects[p.Name] = data
	m.version++
	return nil
}

// Update implements Store.
func (m *Memory) Update(_ context.Context, name string, fn func(p *structure.Project) error) (structure.Project, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.projects[name]
	if !ok {
		return structure.Project{}, NotFound(name)
	}
	stored, err := Decode(old)
	if err != nil {
		return stored, err
	}
	p, data, err := ApplyUpdate(stored, fn)
	if err != nil {
		return structure.Project{}, err
	}
	m.projects[name] = data
	m.version++
	return p, nil
}

// Delete implements Store.
func (m *Memory) Delete(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.projects[name]; !ok {
		return NotFound(name)
	}
	delete(m.projects, name)
	m.version++
	return nil
}

// Version implements Store.
func (m *Memory) Version(context.Context) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.version, nil
}

// Close implements Store.
func (m *Memory) Close() error { return nil }
