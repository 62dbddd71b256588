package app_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/auth"
	"github.com/centrifugehq/centrifuge/server/internal/config"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

// withProxies points the default project's proxies at app: the subscribe
// proxy for $ channels (and every channel of namespace "gated"), the publish
// proxy for namespace "pub", rpc, and fast retries.
func withProxies(a *webApp) func(*config.Config) {
	return func(c *config.Config) {
		p := &c.Projects[0]
		p.Options.SubscribeProxy = a.proxy("/subscribe")
		p.Namespaces = append(p.Namespaces,
			structure.Namespace{Name: "gated", Options: structure.ChannelOptions{Presence: true, ProxySubscribe: true}},
			structure.Namespace{Name: "pub", Options: structure.ChannelOptions{
				AllowSubscribeForClient: true, PublishProxy: a.proxy("/publish"),
			}},
		)
		p.RPCProxy = a.proxy("/rpc")
		p.BackOffInterval = dur(10 * time.Millisecond)
		p.BackOffMaxTimeout = dur(40 * time.Millisecond)
	}
}

func TestSubscribeProxyAllowsWithInfo(t *testing.T) {
	a := newWebApp(t)
	a.handle("/subscribe", func(w http.ResponseWriter, r *appRequest) {
		fmt.Fprintf(w, `{"result":{"info":{"role":"member-%s"},"data":{"welcome":%q}}}`, r.Body["user"], r.Body["channel"])
	})
	onEngines(t, withProxies(a), func(t *testing.T, _ *syncBuffer, n0, n1 *testServer) {
		a.resetRequests()
		testSubscribeProxyAllows(t, a, n0, n1)
	})
}

// testSubscribeProxyAllows: c1 on n0, c2 on n1.
func testSubscribeProxyAllows(t *testing.T, a *webApp, n0, n1 *testServer) {
	c1, res := n0.connect(t, "42")
	sr := c1.mustCall("subscribe", map[string]any{"channel": "$room", "join_leave": true, "data": map[string]any{"x": 1}}).Subscribe
	jsonEq(t, sr.Data, `{"welcome":"$room"}`)
	if sr.Expires {
		t.Fatalf("proxied subscription without expire_at expires: %+v", sr)
	}
	got := a.seen("/subscribe")
	if len(got) != 1 {
		t.Fatalf("%d requests to the app", len(got))
	}
	body := got[0].Body
	if body["client"] != res.Client || body["transport"] != "websocket" || body["user"] != "42" || body["channel"] != "$room" {
		t.Fatalf("request %v", body)
	}
	jsonEq(t, got[0].Raw, fmt.Sprintf(`{"client":%q,"transport":"websocket","user":"42","channel":"$room","data":{"x":1}}`, res.Client))

	// The app's info is the channel info: in join pushes and in presence.
	c2, _ := n1.connect(t, "43")
	c2.mustCall("subscribe", map[string]any{"channel": "$room"})
	j := c1.push(func(p *protocol.Push) bool { return p.Channel == "$room" && p.Join != nil && p.Join.Info.User == "43" })
	jsonEq(t, j.Join.Info.ChanInfo, `{"role":"member-43"}`)
	pres := c1.mustCall("presence", map[string]any{"channel": "$room"}).Presence.Presence
	if len(pres) != 2 {
		t.Fatalf("presence %v", pres)
	}
	for _, info := range pres {
		jsonEq(t, info.ChanInfo, fmt.Sprintf(`{"role":"member-%s"}`, info.User))
	}
	// Publications reach the proxied subscribers.
	n1.publish("$room", `{"n":1}`)
	c1.pub("$room")
	c2.pub("$room")

	// A namespace with proxy_subscribe asks about ordinary channels too; others do not.
	c1.mustCall("subscribe", map[string]any{"channel": "gated:x"})
	c1.mustCall("subscribe", map[string]any{"channel": "chat:x"})
	if got := a.seen("/subscribe"); len(got) != 3 || got[2].Body["channel"] != "gated:x" {
		t.Fatalf("requests %d", len(got))
	}
}

func TestSubscribeProxyRefuses(t *testing.T) {
	a := newWebApp(t)
	a.handle("/subscribe", func(w http.ResponseWriter, r *appRequest) {
		switch r.Body["channel"] {
		case "$closed":
			io.WriteString(w, `{"error":{"code":403,"message":"members only"}}`)
		case "$banned":
			io.WriteString(w, `{"disconnect":{"code":4501,"reason":"banned"}}`)
		default:
			io.WriteString(w, `{"result":{}}`)
		}
	})
	onEngines(t, withProxies(a), func(t *testing.T, _ *syncBuffer, n0, _ *testServer) {
		a.resetRequests()
		testSubscribeProxyRefuses(t, a, n0)
	})
}

func testSubscribeProxyRefuses(t *testing.T, a *webApp, s *testServer) {
	c, _ := s.connect(t, "42")
	r := c.call("subscribe", map[string]any{"channel": "$closed"})
	if r.Error == nil || r.Error.Code != 403 || r.Error.Message != "members only" || r.Error.Temporary {
		t.Fatalf("reply %+v", r.Error)
	}
	c.mustCall("subscribe", map[string]any{"channel": "$open"}) // still connected

	// A subscription token needs no proxy.
	c.mustCall("subscribe", map[string]any{"channel": "$tok", "token": subToken(t, "42", "$tok", time.Hour)})
	if n := len(a.seen("/subscribe")); n != 2 {
		t.Fatalf("%d requests to the app", n)
	}
	// User-limited channels are checked before asking.
	c.callErr("subscribe", map[string]any{"channel": "$dialog#7,8"}, 103)

	c.send("subscribe", map[string]any{"channel": "$banned"})
	c.expectClose(4501)
	if c.close.Text != "banned" {
		t.Fatalf("reason %q", c.close.Text)
	}
}

func TestSubscribeProxyTimeoutThenRetry(t *testing.T) {
	a := newWebApp(t)
	var n atomic.Int32
	a.handle("/subscribe", func(w http.ResponseWriter, r *appRequest) {
		if n.Add(1) == 1 {
			stall(w, r) // longer than the 300 ms timeout
			return
		}
		io.WriteString(w, `{"result":{"info":{"ok":true}}}`)
	})
	onEngines(t, withProxies(a), func(t *testing.T, logs *syncBuffer, _, n1 *testServer) {
		n.Store(0)
		testSubscribeProxyTimeout(t, n1, logs, &n)
	})
}

func testSubscribeProxyTimeout(t *testing.T, s *testServer, logs *syncBuffer, n *atomic.Int32) {
	c, _ := s.connect(t, "42")
	start := time.Now()
	r := c.call("subscribe", map[string]any{"channel": "$slow"})
	if r.Error == nil || r.Error.Code != 100 || !r.Error.Temporary || !strings.Contains(r.Error.Message, "timeout") {
		t.Fatalf("reply %+v", r.Error)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("timeout took %s", d)
	}
	if n.Load() != 1 {
		t.Fatalf("a timed out request was retried: %d requests", n.Load())
	}
	logs.waitLog(t, "subscribe proxy failed", "timeout")
	// The error is temporary: the client subscribes again, and the app answers.
	c.mustCall("subscribe", map[string]any{"channel": "$slow"})
	if s.srv.Node().Stats().ProxyFailures.Load() < 1 {
		t.Fatal("proxy failure not counted")
	}
}

func TestSubscribeProxyRetriesNetworkErrors(t *testing.T) {
	a := newWebApp(t)
	var n atomic.Int32
	a.handle("/subscribe", func(w http.ResponseWriter, r *appRequest) {
		if n.Add(1) <= 2 {
			hangUp(w, r)
			return
		}
		io.WriteString(w, `{"result":{}}`)
	})
	s := startServer(t, withProxies(a))
	c, _ := s.connect(t, "42")
	c.mustCall("subscribe", map[string]any{"channel": "$flaky"})
	if n.Load() != 3 {
		t.Fatalf("%d requests, want 3 (two failures retried)", n.Load())
	}
	// An app that stays down: max_auth_attempts (5) requests, then a temporary error.
	n.Store(-100)
	r := c.call("subscribe", map[string]any{"channel": "$down"})
	if r.Error == nil || r.Error.Code != 100 || !r.Error.Temporary || !strings.Contains(r.Error.Message, "unavailable") {
		t.Fatalf("reply %+v", r.Error)
	}
	if got := n.Load() + 100; got != 5 {
		t.Fatalf("%d attempts, want max_auth_attempts 5", got)
	}
}

func TestSubscribeProxyMalformedReplies(t *testing.T) {
	a := newWebApp(t)
	onEngines(t, withProxies(a), func(t *testing.T, logs *syncBuffer, n0, n1 *testServer) {
		testSubscribeProxyMalformed(t, a, logs, n0, n1)
	})
}

func testSubscribeProxyMalformed(t *testing.T, a *webApp, logs *syncBuffer, s, n1 *testServer) {
	c, _ := s.connect(t, "42")
	huge := `{"result":{"info":"` + strings.Repeat("x", 2<<20) + `"}}`
	for i, tc := range []struct {
		reply  string
		status int
		want   string
	}{
		{reply: `<html>oops</html>`, want: "malformed"},
		{reply: `{"result":{"info":{"a":1}`, want: "malformed"},
		{reply: `{}`, want: "malformed"},
		{reply: `{"result":null}`, want: "malformed"},
		{reply: `{"result":{"expire_at":"tomorrow"}}`, want: "malformed"},
		{reply: `{"result":{"expire_at":-5}}`, want: "malformed"},
		{reply: `{"result":[1,2]}`, want: "malformed"},
		{reply: `{"error":{"code":"403"}}`, want: "malformed"},
		{reply: `{"error":{"message":"no code"}}`, want: "malformed"},
		{reply: `{"disconnect":{"code":1000,"reason":"x"}}`, want: "malformed"},
		{reply: huge, want: "malformed"},
		{reply: `{"result":{}}`, status: 500, want: "unavailable"},
		{reply: `{"result":{}}`, status: 302, want: "unavailable"},
	} {
		a.handle("/subscribe", func(w http.ResponseWriter, r *appRequest) {
			if tc.status != 0 {
				w.Header().Set("Location", "/elsewhere")
				w.WriteHeader(tc.status)
			}
			io.WriteString(w, tc.reply)
		})
		ch := fmt.Sprintf("$m%d", i)
		r := c.call("subscribe", map[string]any{"channel": ch})
		if r.Error == nil || r.Error.Code != 100 || !r.Error.Temporary || !strings.Contains(r.Error.Message, tc.want) {
			t.Fatalf("case %d: reply %+v, want temporary error 100 %q", i, r.Error, tc.want)
		}
	}
	logs.waitLog(t, "level=WARN", "subscribe proxy failed", "malformed reply")
	logs.waitLog(t, "level=WARN", "subscribe proxy failed", "status 500")
	// The connection and the server serve on.
	a.reply("/subscribe", `{"result":{}}`)
	c.mustCall("subscribe", map[string]any{"channel": "$fine"})
	other, _ := n1.connect(t, "7")
	other.mustCall("subscribe", map[string]any{"channel": "news"})
}

func TestSubscribeProxyExpireAt(t *testing.T) {
	a := newWebApp(t)
	a.handle("/subscribe", func(w http.ResponseWriter, r *appRequest) {
		fmt.Fprintf(w, `{"result":{"expire_at":%d}}`, time.Now().Add(time.Second).Unix()+1)
	})
	s := startServer(t, withProxies(a))
	c, _ := s.connect(t, "42")
	sr := c.mustCall("subscribe", map[string]any{"channel": "$short"}).Subscribe
	if sr.Expires || sr.TTL != 0 {
		t.Fatalf("the client cannot refresh a proxied subscription: %+v", sr)
	}
	// At expire_at the server unsubscribes with 2501: the client resubscribes, asking again.
	p := c.push(func(p *protocol.Push) bool { return p.Unsubscribe != nil })
	if p.Channel != "$short" || p.Unsubscribe.Code != protocol.UnsubscribeCodeExpired {
		t.Fatalf("push %+v", p)
	}
	c.mustCall("subscribe", map[string]any{"channel": "$short"})
	if n := len(a.seen("/subscribe")); n != 2 {
		t.Fatalf("%d requests", n)
	}
	// expire_at already past: error 110.
	a.reply("/subscribe", `{"result":{"expire_at":1000}}`)
	c.callErr("subscribe", map[string]any{"channel": "$past"}, 110)
}

func TestConnectProxyByCookie(t *testing.T) {
	a := newWebApp(t)
	a.handle("/connect", func(w http.ResponseWriter, r *appRequest) {
		c, err := r.req.Cookie("session")
		if err != nil {
			io.WriteString(w, `{"error":{"code":101,"message":"log in first"}}`)
			return
		}
		fmt.Fprintf(w, `{"result":{"user":%q,"info":{"name":%q},"data":{"hello":%q},"channels":["news"]}}`, c.Value, c.Value, c.Value)
	})
	s := startServer(t, func(c *config.Config) {
		c.Projects[0].ConnectProxy = &structure.Proxy{URL: a.url("/connect"), Headers: []string{"Cookie", "Authorization"}}
	})
	h := http.Header{"Cookie": {"session=alice"}, "X-Private": {"not forwarded"}}
	c := dial(t, s.wsURL(""), h)
	res := c.mustCall("connect", map[string]any{"name": "js", "version": "5.8.0", "data": map[string]any{"v": 1}}).Connect
	jsonEq(t, res.Data, `{"hello":"alice"}`)
	if res.Subs["news"] == nil || res.Expires {
		t.Fatalf("connect %+v", res)
	}
	req := a.seen("/connect")[0]
	if req.Header.Get("Cookie") != "session=alice" || req.Header.Get("X-Private") != "" {
		t.Fatalf("headers %v", req.Header)
	}
	jsonEq(t, req.Raw, fmt.Sprintf(`{"client":%q,"transport":"websocket","protocol":"json","encoding":"json","name":"js","version":"5.8.0","data":{"v":1}}`, res.Client))
	s.publish("news", `1`)
	c.pub("news")
	c.mustCall("subscribe", map[string]any{"channel": "chat:a"})
	p := c.mustCall("presence", map[string]any{"channel": "chat:a"}).Presence.Presence
	for _, info := range p {
		if info.User != "alice" {
			t.Fatalf("presence %+v", info)
		}
		jsonEq(t, info.ConnInfo, `{"name":"alice"}`)
	}

	// Without the cookie the app refuses.
	anon := dial(t, s.wsURL(""), nil)
	anon.callErr("connect", map[string]any{}, 101)
	// A token needs no proxy.
	before := len(a.seen("/connect"))
	s.connect(t, "42")
	if len(a.seen("/connect")) != before {
		t.Fatal("the proxy was asked about a token")
	}
	// The app down: a temporary error, centrifuge-js reconnects later.
	a.handle("/connect", hangUp)
	down := dial(t, s.wsURL(""), h)
	r := down.call("connect", map[string]any{})
	if r.Error == nil || r.Error.Code != 100 || !r.Error.Temporary {
		t.Fatalf("reply %+v", r.Error)
	}
}

func TestPublishProxy(t *testing.T) {
	a := newWebApp(t)
	a.handle("/publish", func(w http.ResponseWriter, r *appRequest) {
		data, _ := r.Body["data"].(map[string]any)
		text, _ := data["text"].(string)
		if strings.Contains(text, "spam") {
			io.WriteString(w, `{"error":{"code":1001,"message":"no spam"}}`)
			return
		}
		fmt.Fprintf(w, `{"result":{"data":{"text":%q,"by":%q}}}`, strings.ToUpper(text), r.Body["user"])
	})
	s := startServer(t, withProxies(a))
	sub, _ := s.connect(t, "7")
	sub.mustCall("subscribe", map[string]any{"channel": "pub:room"})
	c, _ := s.connect(t, "42")
	c.mustCall("publish", map[string]any{"channel": "pub:room", "data": map[string]any{"text": "hello"}})
	jsonEq(t, sub.pub("pub:room").Data, `{"text":"HELLO","by":"42"}`)
	r := c.call("publish", map[string]any{"channel": "pub:room", "data": map[string]any{"text": "buy spam"}})
	if r.Error == nil || r.Error.Code != 1001 || r.Error.Message != "no spam" {
		t.Fatalf("reply %+v", r.Error)
	}
	sub.noPush(200 * time.Millisecond)
	// Channels without a publish proxy keep allow_publish_for_client.
	c.callErr("publish", map[string]any{"channel": "bare:x", "data": 1}, 103)
	// The app down: temporary error, nothing published.
	a.handle("/publish", stall)
	r = c.call("publish", map[string]any{"channel": "pub:room", "data": map[string]any{"text": "hi"}})
	if r.Error == nil || r.Error.Code != 100 || !r.Error.Temporary {
		t.Fatalf("reply %+v", r.Error)
	}
	sub.noPush(200 * time.Millisecond)
}

func TestRPCProxy(t *testing.T) {
	a := newWebApp(t)
	a.handle("/rpc", func(w http.ResponseWriter, r *appRequest) {
		switch r.Body["method"] {
		case "sum":
			d := r.Body["data"].(map[string]any)
			fmt.Fprintf(w, `{"result":{"data":{"sum":%v}}}`, d["a"].(float64)+d["b"].(float64))
		default:
			io.WriteString(w, `{"error":{"code":104,"message":"no such method"}}`)
		}
	})
	s := startServer(t, withProxies(a))
	c, res := s.connect(t, "42")
	r := c.mustCall("rpc", map[string]any{"method": "sum", "data": map[string]any{"a": 2, "b": 3}}).RPC
	jsonEq(t, r.Data, `{"sum":5}`)
	jsonEq(t, a.seen("/rpc")[0].Raw, fmt.Sprintf(`{"client":%q,"transport":"websocket","user":"42","method":"sum","data":{"a":2,"b":3}}`, res.Client))
	c.callErr("rpc", map[string]any{"method": "nope"}, 104)

	// An rpc may have effects: once it reached the app it is not sent again.
	var n atomic.Int32
	a.handle("/rpc", func(w http.ResponseWriter, r *appRequest) {
		n.Add(1)
		hangUp(w, r)
	})
	rr := c.call("rpc", map[string]any{"method": "sum", "data": map[string]any{"a": 1, "b": 1}})
	if rr.Error == nil || rr.Error.Code != 100 || !rr.Error.Temporary || n.Load() != 1 {
		t.Fatalf("reply %+v after %d requests", rr.Error, n.Load())
	}

	// Without an rpc proxy: method not found.
	other := dial(t, s.wsURL("other"), nil)
	tok := mustToken(t, otherSecret, "42")
	other.mustCall("connect", map[string]any{"token": tok})
	other.callErr("rpc", map[string]any{"method": "sum"}, 104)
}

func TestRefreshProxy(t *testing.T) {
	a := newWebApp(t)
	var n atomic.Int32
	a.handle("/refresh", func(w http.ResponseWriter, r *appRequest) {
		switch n.Add(1) {
		case 1:
			hangUp(w, r) // a failure: the connection stays, the server asks again
		case 2:
			fmt.Fprintf(w, `{"result":{"expire_at":%d,"info":{"fresh":true}}}`, time.Now().Unix()+2)
		default:
			io.WriteString(w, `{"result":{"expired":true}}`)
		}
	})
	s := startServer(t, func(c *config.Config) {
		p := &c.Projects[0]
		p.RefreshProxy = a.proxy("/refresh")
		p.MaxAuthAttempts = 1
		p.BackOffInterval = dur(50 * time.Millisecond)
	})
	c := dial(t, s.wsURL(""), nil)
	start := time.Now()
	res := c.mustCall("connect", map[string]any{"token": token(t, "42", time.Second)}).Connect
	if res.Expires {
		t.Fatalf("the server refreshes: the client must not be told to: %+v", res)
	}
	c.mustCall("subscribe", map[string]any{"channel": "chat:r"})
	// After a failure the server asked again, and the app extended the connection.
	deadline := time.Now().Add(waitTimeout)
	for n.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d refresh requests", n.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.mustCall("presence", map[string]any{"channel": "chat:r"})
	// Then ended: 3005, the client reconnects and authenticates again.
	c.expectClose(3005)
	if n.Load() != 3 || time.Since(start) < time.Second {
		t.Fatalf("%d requests, closed after %s", n.Load(), time.Since(start))
	}
	if req := a.seen("/refresh")[0].Body; req["user"] != "42" || req["client"] != res.Client {
		t.Fatalf("request %v", req)
	}
}

func mustToken(t *testing.T, secret, user string) string {
	t.Helper()
	tok, err := auth.NewConnectToken(secret, user, time.Hour, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
