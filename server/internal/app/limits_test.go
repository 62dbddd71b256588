package app_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/config"
	"github.com/centrifugehq/centrifuge/server/internal/redistest"
)

func TestConnectionsPerUserLimit(t *testing.T) {
	s := startServer(t, func(c *config.Config) { c.Client.MaxConnectionsPerUser = 2 })
	a1, _ := s.connect(t, "u")
	s.connect(t, "u")
	third := dial(t, s.wsURL(""), nil)
	third.send("connect", map[string]any{"token": token(t, "u", time.Hour)})
	third.expectClose(3504)
	// Others are served, and so is u's existing connection.
	other, _ := s.connect(t, "v")
	other.mustCall("subscribe", map[string]any{"channel": "news"})
	a1.mustCall("subscribe", map[string]any{"channel": "news"})
	// Anonymous connections are not one user.
	for range 3 {
		s.connect(t, "")
	}
	// When one of u's connections goes, u may connect again.
	a1.conn.Close()
	waitFor(t, "u to have a free slot", waitTimeout, func() bool {
		// Until the server has seen a1 go, an attempt is closed with 3504.
		c := dial(t, s.wsURL(""), nil)
		c.send("connect", map[string]any{"token": token(t, "u", time.Hour)})
		select {
		case r := <-c.in:
			return r.Error == nil
		case <-c.closed:
			if c.close == nil || c.close.Code != 3504 {
				t.Fatalf("attempt closed with %v, want 3504 or a connect reply", c.close)
			}
			return false
		case <-time.After(waitTimeout):
			t.Fatal("no answer to connect")
		}
		return false
	})
	if s.srv.Node().Stats().ConnectionLimit.Load() == 0 {
		t.Fatal("not counted")
	}
}

func TestSubscriptionsPerConnectionLimit(t *testing.T) {
	s := startServer(t) // max_subscriptions 5
	c, _ := s.connect(t, "42")
	other, _ := s.connect(t, "7")
	other.mustCall("subscribe", map[string]any{"channel": "news"})
	for i := range 5 {
		c.mustCall("subscribe", map[string]any{"channel": fmt.Sprintf("room%d", i)})
	}
	c.send("subscribe", map[string]any{"channel": "room5"})
	c.expectClose(3505)
	if c.close.Text != "channel limit" {
		t.Fatalf("reason %q", c.close.Text)
	}
	s.publish("news", `1`)
	other.pub("news")
	// A token granting more server-side channels than the limit: 3505 at connect.
	big := dial(t, s.wsURL(""), nil)
	big.send("connect", map[string]any{"token": token(t, "42", time.Hour, "a", "b", "c", "d", "e", "f")})
	big.expectClose(3505)
	// Server API subscriptions beyond the limit are refused (logged), the connection stays.
	full, _ := s.connect(t, "full", "a", "b", "c", "d", "e")
	s.api("subscribe", map[string]any{"user": "full", "channel": "f"})
	full.noPush(300 * time.Millisecond)
	full.mustCall("presence_stats", map[string]any{"channel": "a"})
	if n := s.srv.Node().Stats().SubscriptionLimit.Load(); n != 3 {
		t.Fatalf("counted %d, want 3", n)
	}
}

func TestCommandRateLimit(t *testing.T) {
	s := startServer(t, func(c *config.Config) {
		c.Client.MaxCommandsPerSecond = 5
		c.Client.CommandsBurst = 5
	})
	c, _ := s.connect(t, "42") // the connect was one command
	other, _ := s.connect(t, "7")
	frame := func(n, from int) string {
		lines := make([]string, n)
		for i := range lines {
			lines[i] = fmt.Sprintf(`{"id":%d,"ping":{}}`, from+i)
		}
		return strings.Join(lines, "\n")
	}
	// A burst of 8: the bucket (5, one spent) lets 4 through, then 111 (temporary).
	c.sendRaw(frame(8, 100))
	ok, limited := 0, 0
	for range 8 {
		r := c.next()
		switch {
		case r.Error == nil:
			ok++
		case r.Error.Code == 111 && r.Error.Temporary:
			limited++
		default:
			t.Fatalf("reply %+v", r.Error)
		}
	}
	if ok != 4 || limited != 4 {
		t.Fatalf("%d served, %d limited", ok, limited)
	}
	// After a pause the connection is served again.
	time.Sleep(1200 * time.Millisecond)
	c.mustCall("ping", map[string]any{})
	// Flooding on while refused: disconnect 3013.
	c.sendRaw(frame(40, 200))
	c.expectClose(3013)
	other.mustCall("ping", map[string]any{})
	st := s.srv.Node().Stats()
	if st.RateLimited.Load() < 9 || st.RateDisconnects.Load() != 1 {
		t.Fatalf("limited %d, disconnects %d", st.RateLimited.Load(), st.RateDisconnects.Load())
	}
}

func TestPublicationSizeLimit(t *testing.T) {
	a := newWebApp(t)
	a.reply("/rpc", `{"result":{}}`)
	a.reply("/publish", `{"result":{"data":"`+strings.Repeat("y", 200)+`"}}`)
	s := startServer(t, withProxies(a), func(c *config.Config) { c.Client.MaxPublicationSize = 100 })
	sub, _ := s.connect(t, "7")
	sub.mustCall("subscribe", map[string]any{"channel": "news"})
	c, _ := s.connect(t, "42")
	big, _ := json.Marshal(strings.Repeat("x", 200))
	r := c.call("publish", map[string]any{"channel": "news", "data": json.RawMessage(big)})
	if r.Error == nil || r.Error.Code != 106 || r.Error.Message != "data too large" {
		t.Fatalf("reply %+v", r.Error)
	}
	c.callErr("rpc", map[string]any{"method": "m", "data": json.RawMessage(big)}, 106)
	// A publish proxy may not rewrite data beyond the limit either.
	c.callErr("publish", map[string]any{"channel": "pub:x", "data": "small"}, 106)
	// The connection and the others are served.
	c.mustCall("publish", map[string]any{"channel": "news", "data": "small"})
	if p := sub.pub("news"); string(p.Data) != `"small"` {
		t.Fatalf("data %s", p.Data)
	}
	if n := s.srv.Node().Stats().PublicationTooLarge.Load(); n != 3 {
		t.Fatalf("counted %d", n)
	}
	// Frames beyond max_frame_size still close the connection (1009 on WebSocket).
	c.sendRaw(`{"id":99,"publish":{"channel":"news","data":"` + strings.Repeat("z", 17<<10) + `"}}`)
	if code := c.waitClose(); code != 1009 {
		t.Fatalf("close %d", code)
	}
	sub.mustCall("presence_stats", map[string]any{"channel": "news"})
}

// The limits that count connections are per node: two nodes on Redis each
// allow max_connections_per_user.
func TestConnectionsPerUserLimitRedis(t *testing.T) {
	r := redistest.Start(t)
	nodes := redisNodes(t, 2, func(c *config.Config) {
		c.Engine.RedisURL = r.URL
		c.Client.MaxConnectionsPerUser = 1
	})
	nodes[0].connect(t, "u")
	nodes[1].connect(t, "u")
	c := dial(t, nodes[0].wsURL(""), nil)
	c.send("connect", map[string]any{"token": token(t, "u", time.Hour)})
	c.expectClose(3504)
}
