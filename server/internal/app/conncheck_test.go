package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/config"
	"github.com/centrifugehq/centrifuge/server/internal/redistest"
)

// checkApp is the web app's connection check endpoint: it names the users of
// its inactive set inactive (each once, as several nodes ask), or answers 500
// while failing.
type checkApp struct {
	*webApp
	mu       sync.Mutex
	inactive map[string]bool
	failing  bool
	failures int
	// asked records, per user, when a successful check listed it.
	asked map[string][]time.Time
}

func newCheckApp(t *testing.T) *checkApp {
	a := &checkApp{webApp: newWebApp(t), inactive: map[string]bool{}, asked: map[string][]time.Time{}}
	a.handle("/check", func(w http.ResponseWriter, r *appRequest) {
		var req struct {
			Users []string `json:"users"`
		}
		if err := json.Unmarshal(r.Raw, &req); err != nil || !slices.IsSorted(req.Users) {
			t.Errorf("check request %s: %v", r.Raw, err)
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.failing {
			a.failures++
			http.Error(w, "database down", http.StatusInternalServerError)
			return
		}
		out := []string{}
		for _, u := range req.Users {
			a.asked[u] = append(a.asked[u], time.Now())
			if a.inactive[u] {
				out = append(out, u)
				delete(a.inactive, u)
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"inactive": out})
	})
	return a
}

func (a *checkApp) set(f func(a *checkApp)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f(a)
}

// askedSince reports whether a successful check listed user after t.
func (a *checkApp) askedSince(user string, t time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, at := range a.asked[user] {
		if at.After(t) {
			return true
		}
	}
	return false
}

func withCheck(a *checkApp) func(*config.Config) {
	return func(c *config.Config) {
		p := &c.Projects[0]
		p.ConnectionCheckAddress = a.url("/check")
		p.ConnectionLifetime = dur(2 * time.Second)
		p.ConnectionCheckInterval = dur(200 * time.Millisecond)
	}
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timeout waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// testConnectionCheck runs the acceptance scenario of the batched connection
// check with users spread over nodes (one node may appear twice). It returns
// the token of the user named inactive.
func testConnectionCheck(t *testing.T, a *checkApp, n0, n1 *testServer) string {
	start := time.Now()
	badTok := token(t, "bad", time.Hour)
	unusedTok := token(t, "bad", time.Hour) // issued before the user is named inactive, never used
	connectWith := func(s *testServer, tok string) *wsClient {
		c := dial(t, s.wsURL(""), nil)
		c.mustCall("connect", map[string]any{"token": tok})
		return c
	}
	alice, _ := n0.connect(t, "alice")
	bob, _ := n1.connect(t, "bob")
	bad0 := connectWith(n0, badTok)
	bad1, _ := n1.connect(t, "bad") // another connection of the user, another token, another node
	for _, c := range []*wsClient{alice, bob, bad0, bad1} {
		c.mustCall("subscribe", map[string]any{"channel": "chat:lobby"})
	}
	a.set(func(a *checkApp) { a.inactive["bad"] = true })

	// After a lifetime (2 s) the check names "bad" inactive: its connections
	// close on every node with a terminal code; the others stay.
	bad0.expectClose(3503)
	bad1.expectClose(3503)
	if bad0.close.Text != "inactive" || time.Since(start) < 2*time.Second {
		t.Fatalf("closed %q after %s", bad0.close.Text, time.Since(start))
	}
	named := time.Now()
	waitFor(t, "alice and bob checked", waitTimeout, func() bool {
		return a.askedSince("alice", start) && a.askedSince("bob", start)
	})
	alice.mustCall("presence_stats", map[string]any{"channel": "chat:lobby"})
	bob.mustCall("presence_stats", map[string]any{"channel": "chat:lobby"})

	// The inactive user cannot come back with a token it had, on any node.
	for _, s := range []*testServer{n0, n1} {
		for _, tok := range []string{badTok, unusedTok} {
			c := dial(t, s.wsURL(""), nil)
			r := c.call("connect", map[string]any{"token": tok})
			if r.Error == nil || r.Error.Code != 109 {
				t.Fatalf("reconnect with an old token: %+v", r)
			}
		}
	}

	// The app fails for longer than a lifetime: nobody is dropped, the check
	// is retried with backoff (200 ms doubling: 4 attempts in 3 s)...
	a.set(func(a *checkApp) { a.failing = true })
	outage := time.Now()
	time.Sleep(3 * time.Second)
	a.set(func(a *checkApp) {
		if a.failures < 3 {
			t.Errorf("%d failed checks in 3 s", a.failures)
		}
		a.failing = false
		a.inactive["bob"] = true // ...and nothing was lost: bob is still queued
	})
	if a.askedSince("alice", outage) || a.askedSince("bob", outage) {
		t.Fatal("a check succeeded during the outage")
	}
	alice.mustCall("presence_stats", map[string]any{"channel": "chat:lobby"})
	bob.mustCall("presence_stats", map[string]any{"channel": "chat:lobby"})

	// The app recovers: the check resumes with the queued users, at the
	// latest one backoff (here 1.6 s, plus jitter) later.
	recovered := time.Now()
	bob.expectClose(3503)
	if d := time.Since(recovered); d > 3*time.Second {
		t.Fatalf("the check resumed %s after the app recovered", d)
	}
	waitFor(t, "alice checked after the outage", waitTimeout, func() bool { return a.askedSince("alice", outage) })
	alice.mustCall("presence_stats", map[string]any{"channel": "chat:lobby"})

	// A token the app issues after naming the user inactive is welcome.
	for time.Now().Unix() <= named.Unix() {
		time.Sleep(50 * time.Millisecond)
	}
	connectWith(n1, token(t, "bad", time.Hour))
	if st := n0.srv.Node().Stats(); st.RevokedConnects.Load() == 0 && n1.srv.Node().Stats().RevokedConnects.Load() == 0 {
		t.Fatal("revoked connects not counted")
	}
	return badTok
}

func TestConnectionCheck(t *testing.T) {
	a := newCheckApp(t)
	s := startServer(t, withCheck(a))
	testConnectionCheck(t, a, s, s)
	// Closes are counted as the connections close, a moment after the check.
	deadline := time.Now().Add(3 * time.Second)
	for {
		st := s.srv.Node().Stats()
		if st.InactiveUsers.Load() == 2 && st.CheckFailures.Load() >= 3 && st.InactiveCloses.Load() == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats: inactive %d failures %d closes %d", st.InactiveUsers.Load(), st.CheckFailures.Load(), st.InactiveCloses.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestConnectionCheckRedis(t *testing.T) {
	r := redistest.Start(t)
	a := newCheckApp(t)
	prefix := fmt.Sprintf("cc%d", time.Now().UnixNano())
	node := func(name string) *testServer {
		return startServer(t, func(c *config.Config) {
			c.Name = name
			c.Engine.Type = config.EngineRedis
			c.Engine.RedisURL = r.URL
			c.Engine.RedisPrefix = prefix
			withCheck(a)(c)
		})
	}
	n0, n1 := node("node-0"), node("node-1")
	old := testConnectionCheck(t, a, n0, n1)
	// A node started after the ban refuses the old token too (the ban is in Redis).
	n2 := node("node-2")
	c := dial(t, n2.wsURL(""), nil)
	if r := c.call("connect", map[string]any{"token": old}); r.Error == nil || r.Error.Code != 109 {
		t.Fatalf("old token on a new node: %+v", r)
	}
	n2.connect(t, "alice")
}

func TestConnectionCheckMalformedReply(t *testing.T) {
	a := newWebApp(t)
	a.reply("/check", `{"inactive":"everyone"}`)
	logs := &syncBuffer{}
	s := startServerLog(t, logs, func(c *config.Config) {
		p := &c.Projects[0]
		p.ConnectionCheckAddress = a.url("/check")
		p.ConnectionLifetime = dur(time.Second)
		p.ConnectionCheckInterval = dur(100 * time.Millisecond)
	})
	c, _ := s.connect(t, "alice")
	logs.waitLog(t, "connection check failed", "malformed reply")
	for _, reply := range []string{`{}`, `not json`, `{"inactive":[1,2]}`} {
		a.reply("/check", reply)
		n := len(a.seen("/check"))
		waitFor(t, "another check", waitTimeout, func() bool { return len(a.seen("/check")) > n })
	}
	a.reply("/check", `{"inactive":["alice"]}`)
	c.expectClose(3503)
}
