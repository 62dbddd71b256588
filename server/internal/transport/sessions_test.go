package transport_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/client"
	"github.com/centrifugehq/centrifuge/server/internal/node"
	"github.com/centrifugehq/centrifuge/server/internal/nodetest"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
	"github.com/centrifugehq/centrifuge/server/internal/transport"
)

func TestValidSessionID(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{"a", true},
		{"AZaz09_-", true},
		{strings.Repeat("x", transport.MaxSessionIDLength), true},
		{"", false},
		{strings.Repeat("x", transport.MaxSessionIDLength+1), false},
		{"a.b", false},
		{"a/b", false},
		{"a~b", false},
		{"a b", false},
		{"a%2Fb", false},
		{"..", false},
		{"é", false},
		{"a\x00", false},
	} {
		if got := transport.ValidSessionID(tc.id); got != tc.want {
			t.Errorf("ValidSessionID(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}

// fakeTransport records the disconnect a client closes it with.
type fakeTransport struct {
	mu     sync.Mutex
	closed []protocol.Disconnect
}

func (f *fakeTransport) Name() string                { return "fake" }
func (f *fakeTransport) Write(frames [][]byte) error { return nil }
func (f *fakeTransport) Close(d protocol.Disconnect) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = append(f.closed, d)
	return nil
}

func (f *fakeTransport) closes() []protocol.Disconnect {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]protocol.Disconnect(nil), f.closed...)
}

func newClient(t *testing.T, n *node.Node) (*client.Client, *fakeTransport) {
	t.Helper()
	ft := &fakeTransport{}
	c, err := client.New(n, ft, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Closed)
	return c, ft
}

func TestSessionsAddRemove(t *testing.T) {
	n := nodetest.New(t, nodetest.Options{Projects: []string{"other"}})
	var s transport.Sessions // the zero value is ready
	if s.Len() != 0 {
		t.Fatal("zero Sessions not empty")
	}
	a, _ := newClient(t, n)
	b, _ := newClient(t, n)
	keyA := transport.SessionKey("default", "abc")
	removeA, ok := s.Add(keyA, a)
	if !ok || s.Len() != 1 {
		t.Fatalf("add: %v, len %d", ok, s.Len())
	}
	// The same client again under its key: fine, still one.
	removeA2, ok := s.Add(keyA, a)
	if !ok || s.Len() != 1 {
		t.Fatalf("add again: %v, len %d", ok, s.Len())
	}
	// Another client under a taken key: refused, nothing registered.
	if remove, ok := s.Add(keyA, b); ok || remove != nil || s.Len() != 1 {
		t.Fatalf("taken key: %v, len %d", ok, s.Len())
	}
	// The same id in another project is another session.
	keyB := transport.SessionKey("other", "abc")
	if keyB == keyA {
		t.Fatalf("SessionKey does not tell projects apart: %q", keyA)
	}
	removeB, ok := s.Add(keyB, b)
	if !ok || s.Len() != 2 {
		t.Fatalf("same id, other project: %v, len %d", ok, s.Len())
	}
	removeA()
	if s.Len() != 1 {
		t.Fatalf("len %d after remove", s.Len())
	}
	removeA2() // removing twice is harmless
	// A stale remove does not drop the key's new client.
	removeStale, _ := s.Add(keyA, b)
	if s.Len() != 2 {
		t.Fatalf("len %d", s.Len())
	}
	removeA()
	if s.Len() != 2 {
		t.Fatalf("a stale remove removed another client: len %d", s.Len())
	}
	removeStale()
	removeB()
	if s.Len() != 0 {
		t.Fatalf("len %d after removing all", s.Len())
	}
}

func TestSessionsShutdown(t *testing.T) {
	n := nodetest.New(t, nodetest.Options{})
	var s transport.Sessions
	s.Shutdown(protocol.DisconnectShutdown) // nothing registered: nothing to do
	type entry struct {
		c  *client.Client
		ft *fakeTransport
	}
	var all []entry
	for i := range 5 {
		c, ft := newClient(t, n)
		if _, ok := s.Add(transport.SessionKey("default", fmt.Sprint("s", i)), c); !ok {
			t.Fatal("add refused")
		}
		all = append(all, entry{c, ft})
	}
	s.Shutdown(protocol.DisconnectShutdown)
	for i, e := range all {
		select {
		case <-e.c.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("client %d not done after Shutdown", i)
		}
		got := e.ft.closes()
		if len(got) == 0 || got[0].Code != protocol.DisconnectShutdown.Code {
			t.Fatalf("client %d closed with %+v, want %d", i, got, protocol.DisconnectShutdown.Code)
		}
	}
}

// Adds, removes, Len and Shutdown from many goroutines (go test -race).
func TestSessionsConcurrent(t *testing.T) {
	n := nodetest.New(t, nodetest.Options{})
	var s transport.Sessions
	clients := make([]*client.Client, 8)
	for i := range clients {
		clients[i], _ = newClient(t, n)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				key := transport.SessionKey("default", fmt.Sprint(g, "-", i%10))
				if remove, ok := s.Add(key, clients[g]); ok {
					_ = s.Len()
					remove()
				} else {
					t.Errorf("goroutine %d: key %s taken", g, key)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 20 {
			s.Shutdown(protocol.DisconnectShutdown)
		}
	}()
	wg.Wait()
	if s.Len() != 0 {
		t.Fatalf("len %d after every add was removed", s.Len())
	}
}
