// Package storetest is the conformance suite every store.Store must pass.
// Each subtest gets a fresh, empty store from the factory (for a shared
// backend such as one Redis server: under a fresh key prefix) and closes it
// when it ends.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/duration"
	"github.com/centrifugehq/centrifuge/server/internal/store"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

// Run runs the suite against the stores newStore returns.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Empty", testEmpty},
		{"SeedOnce", testSeedOnce},
		{"SeedRefusesInvalid", testSeedRefusesInvalid},
		{"CreateGetLoad", testCreateGetLoad},
		{"CreateRefusesDuplicateAndInvalid", testCreateRefuses},
		{"Update", testUpdate},
		{"UpdateRefusals", testUpdateRefusals},
		{"Delete", testDelete},
		{"ConcurrentUpdatesLoseNothing", testConcurrentUpdates},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

// Project returns a valid project using every kind of field.
func Project(name string) structure.Project {
	return structure.Project{
		Name:        name,
		DisplayName: "Project " + name,
		Secret:      "secret-" + name + "-0123456789",
		APIKey:      "key-" + name + "-0123456789",
		Options: structure.ChannelOptions{
			Presence: true, HistorySize: 10, HistoryTTL: duration.Duration(time.Minute),
			AllowSubscribeForClient: true,
			PublishProxy:            &structure.Proxy{URL: "http://127.0.0.1:1/publish", Headers: []string{"Cookie"}, StaticHeaders: map[string]string{"X-A": "b"}},
		},
		Namespaces: []structure.Namespace{
			{Name: "chat", Options: structure.ChannelOptions{JoinLeave: true}},
		},
		ConnectProxy:       &structure.Proxy{URL: "https://example.com/connect", Timeout: duration.Duration(2 * time.Second)},
		MaxAuthAttempts:    3,
		BackOffInterval:    duration.Duration(50 * time.Millisecond),
		ConnectionLifetime: duration.Duration(time.Hour),
	}
}

func ctx(t *testing.T) context.Context { return t.Context() }

func version(t *testing.T, s store.Store) uint64 {
	t.Helper()
	v, err := s.Version(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func load(t *testing.T, s store.Store) []structure.Project {
	t.Helper()
	ps, err := s.Load(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func names(ps []structure.Project) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func testEmpty(t *testing.T, s store.Store) {
	if v := version(t, s); v != 0 {
		t.Fatalf("version of an empty store = %d", v)
	}
	if ps := load(t, s); len(ps) != 0 {
		t.Fatalf("empty store loads %v", names(ps))
	}
	if _, err := s.Get(ctx(t), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get of a missing project: %v", err)
	}
	if s.Kind() == "" {
		t.Fatal("Kind is empty")
	}
}

func testSeedOnce(t *testing.T, s store.Store) {
	ok, err := s.Seed(ctx(t), []structure.Project{Project("bb"), Project("aa")})
	if err != nil || !ok {
		t.Fatalf("first seed: %v %v", ok, err)
	}
	if got := names(load(t, s)); !reflect.DeepEqual(got, []string{"aa", "bb"}) {
		t.Fatalf("after seed: %v", got)
	}
	v := version(t, s)
	if v == 0 {
		t.Fatal("version still 0 after a seed")
	}
	ok, err = s.Seed(ctx(t), []structure.Project{Project("cc")})
	if err != nil || ok {
		t.Fatalf("second seed: %v %v", ok, err)
	}
	if got := names(load(t, s)); !reflect.DeepEqual(got, []string{"aa", "bb"}) {
		t.Fatalf("a second seed changed the store: %v", got)
	}
	if version(t, s) != v {
		t.Fatal("a refused seed changed the version")
	}
	// A store emptied by deletes stays seeded.
	for _, n := range []string{"aa", "bb"} {
		if err := s.Delete(ctx(t), n); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := s.Seed(ctx(t), []structure.Project{Project("cc")}); err != nil || ok {
		t.Fatalf("seed of an emptied store: %v %v", ok, err)
	}
	if ps := load(t, s); len(ps) != 0 {
		t.Fatalf("emptied store reseeded: %v", names(ps))
	}
}

func testSeedRefusesInvalid(t *testing.T, s store.Store) {
	bad := Project("bad")
	bad.Options.HistoryTTL = 0
	if _, err := s.Seed(ctx(t), []structure.Project{Project("aa"), bad}); err == nil {
		t.Fatal("invalid seed accepted")
	}
	if _, err := s.Seed(ctx(t), []structure.Project{Project("aa"), Project("aa")}); err == nil {
		t.Fatal("seed with a name twice accepted")
	}
	if v := version(t, s); v != 0 {
		t.Fatalf("a refused seed wrote (version %d)", v)
	}
	if ps := load(t, s); len(ps) != 0 {
		t.Fatalf("a refused seed wrote %v", names(ps))
	}
}

func testCreateGetLoad(t *testing.T, s store.Store) {
	want := Project("shop")
	if err := s.Create(ctx(t), want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx(t), "shop")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
	// Returned values are copies.
	got.Namespaces[0].Name = "changed"
	got.Options.PublishProxy.URL = "http://changed"
	again, _ := s.Get(ctx(t), "shop")
	if !reflect.DeepEqual(again, want) {
		t.Fatal("changing a returned project changed the store")
	}
	if ps := load(t, s); len(ps) != 1 || !reflect.DeepEqual(ps[0], want) {
		t.Fatalf("load: %+v", ps)
	}
	if version(t, s) == 0 {
		t.Fatal("version 0 after a create")
	}
}

func testCreateRefuses(t *testing.T, s store.Store) {
	if err := s.Create(ctx(t), Project("shop")); err != nil {
		t.Fatal(err)
	}
	v := version(t, s)
	other := Project("shop")
	other.DisplayName = "other"
	if err := s.Create(ctx(t), other); !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate create: %v", err)
	}
	bad := Project("bad")
	bad.Namespaces[0].Options.HistorySize = 5
	err := s.Create(ctx(t), bad)
	if err == nil || structure.ErrorField(err) != "namespaces.chat.options.history_ttl" {
		t.Fatalf("invalid create: %v (field %q)", err, structure.ErrorField(err))
	}
	if _, err := s.Get(ctx(t), "bad"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("invalid project stored: %v", err)
	}
	if got, _ := s.Get(ctx(t), "shop"); got.DisplayName != Project("shop").DisplayName {
		t.Fatal("duplicate create overwrote")
	}
	if version(t, s) != v {
		t.Fatal("refused creates changed the version")
	}
}

func testUpdate(t *testing.T, s store.Store) {
	if err := s.Create(ctx(t), Project("shop")); err != nil {
		t.Fatal(err)
	}
	v := version(t, s)
	got, err := s.Update(ctx(t), "shop", func(p *structure.Project) error {
		p.Secret = "a-brand-new-secret-value"
		p.Namespaces = append(p.Namespaces, structure.Namespace{Name: "news"})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Secret != "a-brand-new-secret-value" || len(got.Namespaces) != 2 {
		t.Fatalf("update result %+v", got)
	}
	stored, _ := s.Get(ctx(t), "shop")
	if !reflect.DeepEqual(stored, got) {
		t.Fatalf("stored %+v, returned %+v", stored, got)
	}
	if version(t, s) <= v {
		t.Fatal("update did not change the version")
	}
}

func testUpdateRefusals(t *testing.T, s store.Store) {
	if err := s.Create(ctx(t), Project("shop")); err != nil {
		t.Fatal(err)
	}
	v := version(t, s)
	want := Project("shop")
	boom := errors.New("boom")
	for i, fn := range []func(p *structure.Project) error{
		func(p *structure.Project) error { p.DisplayName = "x"; return boom },
		func(p *structure.Project) error { p.Name = "other"; return nil },
		func(p *structure.Project) error { p.Options.HistorySize = -1; return nil },
		func(p *structure.Project) error { p.Secret = "short"; p.DisplayName = "half"; return nil },
	} {
		if _, err := s.Update(ctx(t), "shop", fn); err == nil {
			t.Fatalf("refusal %d: update accepted", i)
		}
		if got, _ := s.Get(ctx(t), "shop"); !reflect.DeepEqual(got, want) {
			t.Fatalf("refusal %d: store changed to %+v", i, got)
		}
	}
	if _, err := s.Update(ctx(t), "nope", func(*structure.Project) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of a missing project: %v", err)
	}
	if version(t, s) != v {
		t.Fatal("refused updates changed the version")
	}
}

func testDelete(t *testing.T, s store.Store) {
	for _, n := range []string{"aa", "bb"} {
		if err := s.Create(ctx(t), Project(n)); err != nil {
			t.Fatal(err)
		}
	}
	v := version(t, s)
	if err := s.Delete(ctx(t), "aa"); err != nil {
		t.Fatal(err)
	}
	if got := names(load(t, s)); !reflect.DeepEqual(got, []string{"bb"}) {
		t.Fatalf("after delete: %v", got)
	}
	if version(t, s) <= v {
		t.Fatal("delete did not change the version")
	}
	v = version(t, s)
	if err := s.Delete(ctx(t), "aa"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if version(t, s) != v {
		t.Fatal("a refused delete changed the version")
	}
}

func testConcurrentUpdates(t *testing.T, s store.Store) {
	if err := s.Create(ctx(t), Project("shop")); err != nil {
		t.Fatal(err)
	}
	const writers, each = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				_, err := s.Update(ctx(t), "shop", func(p *structure.Project) error {
					p.Options.HistorySize++
					p.Namespaces = append(p.Namespaces, structure.Namespace{Name: fmt.Sprintf("w%d-%d", w, i)})
					return nil
				})
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, _ := s.Get(ctx(t), "shop")
	if got.Options.HistorySize != 10+writers*each || len(got.Namespaces) != 1+writers*each {
		t.Fatalf("lost updates: history_size %d, %d namespaces", got.Options.HistorySize, len(got.Namespaces))
	}
}
