package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"

	"github.com/centrifugehq/centrifuge/server/internal/auth"
	"github.com/centrifugehq/centrifuge/server/internal/config"
	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
)

func TestConnectReply(t *testing.T) {
	s := startServer(t)
	_, res := s.connect(t, "42")
	if res.Client == "" || res.Node == "" || res.Version == "" {
		t.Fatalf("connect result misses fields: %+v", res)
	}
	if res.Ping != 25 || !res.Pong {
		t.Fatalf("ping %d pong %v, want 25 true", res.Ping, res.Pong)
	}
	if !res.Expires || res.TTL < 3590 || res.TTL > 3600 {
		t.Fatalf("expires %v ttl %d, want about an hour", res.Expires, res.TTL)
	}
}

func TestConnectErrors(t *testing.T) {
	s := startServer(t)
	t.Run("no token is unauthorized", func(t *testing.T) {
		c := dial(t, s.wsURL(""), nil)
		c.callErr("connect", map[string]any{}, 101)
	})
	t.Run("expired token is 109", func(t *testing.T) {
		c := dial(t, s.wsURL(""), nil)
		c.callErr("connect", map[string]any{"token": expiredToken(t, jwt.MapClaims{"sub": "42"})}, 109)
	})
	t.Run("wrong secret closes 3500", func(t *testing.T) {
		c := dial(t, s.wsURL(""), nil)
		tok, _ := auth.NewConnectToken("another-secret-that-is-long", "42", time.Hour, nil, nil)
		c.send("connect", map[string]any{"token": tok})
		c.expectClose(3500)
	})
	t.Run("garbage token closes 3500", func(t *testing.T) {
		c := dial(t, s.wsURL(""), nil)
		c.send("connect", map[string]any{"token": "a.b.c"})
		c.expectClose(3500)
	})
	t.Run("alg none closes 3500", func(t *testing.T) {
		c := dial(t, s.wsURL(""), nil)
		// {"alg":"none","typ":"JWT"}.{"sub":"42"}.
		c.send("connect", map[string]any{"token": "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiI0MiJ9."})
		c.expectClose(3500)
	})
	t.Run("another project's token closes 3500", func(t *testing.T) {
		c := dial(t, s.wsURL("other"), nil)
		c.send("connect", map[string]any{"token": token(t, "42", time.Hour)})
		c.expectClose(3500)
	})
	t.Run("own project's token on prefixed path", func(t *testing.T) {
		c := dial(t, s.wsURL("other"), nil)
		tok, _ := auth.NewConnectToken(otherSecret, "42", time.Hour, nil, nil)
		c.mustCall("connect", map[string]any{"token": tok})
	})
	t.Run("command before connect closes 3501", func(t *testing.T) {
		c := dial(t, s.wsURL(""), nil)
		c.send("subscribe", map[string]any{"channel": "news"})
		c.expectClose(3501)
	})
	t.Run("second connect closes 3501", func(t *testing.T) {
		c, _ := s.connect(t, "42")
		c.send("connect", map[string]any{"token": token(t, "42", time.Hour)})
		c.expectClose(3501)
	})
	t.Run("unknown project is 404", func(t *testing.T) {
		resp, err := http.Get("http://" + s.addr + "/connection/nope/websocket")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}

func TestStaleConnectionClosed(t *testing.T) {
	s := startServer(t, func(c *config.Config) { c.Client.ConnectTimeout = dur(300 * time.Millisecond) })
	c := dial(t, s.wsURL(""), nil)
	c.expectClose(3502)
}

func TestBadFrames(t *testing.T) {
	s := startServer(t)
	for name, frame := range map[string]string{
		"malformed JSON":     `{"id":1,"subscribe":`,
		"wrong type":         `{"id":1,"subscribe":{"channel":5}}`,
		"not an object":      `"hello"`,
		"several methods":    `{"id":1,"subscribe":{"channel":"a"},"publish":{"channel":"a","data":1}}`,
		"command without id": `{"subscribe":{"channel":"a"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			c, _ := s.connect(t, "42")
			c.sendRaw(frame)
			c.expectClose(3501)
		})
	}
	t.Run("oversized frame", func(t *testing.T) {
		c, _ := s.connect(t, "42")
		// The server may close before the whole frame is written: ignore write errors.
		_ = c.conn.WriteMessage(websocket.TextMessage, []byte(`{"id":1,"publish":{"channel":"a","data":"`+strings.Repeat("x", 20<<10)+`"}}`))
		<-c.closed
		if c.close != nil && c.close.Code != 1009 {
			t.Fatalf("close %d, want 1009 (message too big)", c.close.Code)
		}
	})
	t.Run("server keeps serving others", func(t *testing.T) {
		c, _ := s.connect(t, "1")
		c.mustCall("subscribe", map[string]any{"channel": "news"})
		bad := dial(t, s.wsURL(""), nil)
		bad.sendRaw("\x00\x01garbage")
		bad.expectClose(3501)
		s.publish("news", `{"ok":true}`)
		jsonEq(t, c.pub("news").Data, `{"ok":true}`)
	})
}

func TestUnknownMethodAndRPC(t *testing.T) {
	s := startServer(t)
	c, _ := s.connect(t, "42")
	c.sendRaw(`{"id":7,"frobnicate":{}}`)
	r := c.next()
	if r.ID != 7 || r.Error == nil || r.Error.Code != 104 {
		t.Fatalf("reply %+v", r)
	}
	c.callErr("rpc", map[string]any{"method": "x", "data": map[string]any{}}, 104)
	// send has no reply and does not break the connection
	c.sendRaw(`{"send":{"data":{"hello":1}}}`)
	c.callErr("presence_stats", map[string]any{"channel": "chat:x"}, 103) // not subscribed: the connection still works
}

func TestSeveralCommandsInOneFrame(t *testing.T) {
	s := startServer(t)
	c := dial(t, s.wsURL(""), nil)
	c.sendRaw(fmt.Sprintf("{\"id\":1,\"connect\":{\"token\":%q}}\n{\"id\":2,\"subscribe\":{\"channel\":\"news\"}}\n{\"id\":3,\"subscribe\":{\"channel\":\"chat:room\"}}", token(t, "42", time.Hour)))
	for id := uint32(1); id <= 3; id++ {
		r := c.next()
		if r.ID != id || r.Error != nil {
			t.Fatalf("reply %d: %+v", id, r)
		}
	}
	s.publish("news", `1`)
	s.publish("chat:room", `2`)
	if p := c.pub("news"); string(p.Data) != "1" {
		t.Fatalf("news data %s", p.Data)
	}
	if p := c.pub("chat:room"); string(p.Data) != "2" || p.Offset != 1 {
		t.Fatalf("chat data %s offset %d", p.Data, p.Offset)
	}
}

func TestSubscribeErrors(t *testing.T) {
	s := startServer(t)
	c, _ := s.connect(t, "42")
	c.callErr("subscribe", map[string]any{"channel": "nope:room"}, 102)
	c.callErr("subscribe", map[string]any{"channel": "has space"}, 107)
	c.callErr("subscribe", map[string]any{"channel": ""}, 107)
	c.callErr("subscribe", map[string]any{"channel": strings.Repeat("a", 65)}, 106)
	c.callErr("subscribe", map[string]any{"channel": "$private"}, 103)
	c.callErr("subscribe", map[string]any{"channel": "closed:room"}, 103)
	c.callErr("subscribe", map[string]any{"channel": "dialog#7,8"}, 103)
	c.mustCall("subscribe", map[string]any{"channel": "dialog#42,8"})
	c.callErr("subscribe", map[string]any{"channel": "dialog#42,8"}, 105)
	for i := 0; i < 4; i++ {
		c.mustCall("subscribe", map[string]any{"channel": fmt.Sprintf("room%d", i)})
	}
	c.mustCall("unsubscribe", map[string]any{"channel": "room0"})
	c.mustCall("subscribe", map[string]any{"channel": "room5"})
	// One more than max_subscriptions (5): terminal disconnect 3505 (limits_test.go).
	c.send("subscribe", map[string]any{"channel": "room6"})
	c.expectClose(3505)
}

func TestAnonymous(t *testing.T) {
	s := startServer(t)
	c, _ := s.connect(t, "")
	c.callErr("subscribe", map[string]any{"channel": "news"}, 103)
	c.mustCall("subscribe", map[string]any{"channel": "anon:news"})
	c.callErr("subscribe", map[string]any{"channel": "dialog#42"}, 103)
}

func TestPrivateChannelWithToken(t *testing.T) {
	s := startServer(t)
	c, _ := s.connect(t, "42")
	r := c.mustCall("subscribe", map[string]any{"channel": "$secret", "token": subToken(t, "42", "$secret", time.Hour)})
	if !r.Subscribe.Expires || r.Subscribe.TTL == 0 {
		t.Fatalf("subscribe result %+v", r.Subscribe)
	}
	p := c.mustCall("presence", map[string]any{"channel": "$secret"}).Presence.Presence
	for _, info := range p {
		jsonEq(t, info.ChanInfo, `{"role":"member"}`)
	}
	c.mustCall("sub_refresh", map[string]any{"channel": "$secret", "token": subToken(t, "42", "$secret", 2*time.Hour)})
	s.publish("$secret", `{"a":1}`)
	jsonEq(t, c.pub("$secret").Data, `{"a":1}`)

	// A token for another user, or another channel, is an invalid token.
	c2, _ := s.connect(t, "7")
	c2.send("subscribe", map[string]any{"channel": "$secret", "token": subToken(t, "42", "$secret", time.Hour)})
	c2.expectClose(3500)
	c3, _ := s.connect(t, "42")
	c3.send("subscribe", map[string]any{"channel": "$other", "token": subToken(t, "42", "$secret", time.Hour)})
	c3.expectClose(3500)
	c4, _ := s.connect(t, "42")
	c4.callErr("subscribe", map[string]any{"channel": "$secret", "token": expiredToken(t, jwt.MapClaims{"sub": "42", "channel": "$secret"})}, 109)
}

func TestSubscriptionTokenExpiry(t *testing.T) {
	s := startServer(t)
	c, _ := s.connect(t, "42")
	c.mustCall("subscribe", map[string]any{"channel": "$secret", "token": subToken(t, "42", "$secret", time.Second)})
	c.expectClose(3006)
}

func TestPublishFromClient(t *testing.T) {
	s := startServer(t)
	a, _ := s.connect(t, "1")
	b, _ := s.connect(t, "2")
	b.mustCall("subscribe", map[string]any{"channel": "news"})
	a.mustCall("publish", map[string]any{"channel": "news", "data": map[string]any{"text": "hi"}})
	p := b.pub("news")
	jsonEq(t, p.Data, `{"text":"hi"}`)
	if p.Info == nil || p.Info.User != "1" {
		t.Fatalf("publication info %+v", p.Info)
	}
	jsonEq(t, p.Info.ConnInfo, `{"name":"1"}`)
	a.callErr("publish", map[string]any{"channel": "bare:x", "data": 1}, 103)
	a.callErr("publish", map[string]any{"channel": "nope:x", "data": 1}, 102)
	a.callErr("publish", map[string]any{"channel": "dialog#5,6", "data": 1}, 103)
	a.callErr("publish", map[string]any{"channel": "news"}, 107)
}

func TestPresence(t *testing.T) {
	s := startServer(t)
	a, _ := s.connect(t, "1")
	b, _ := s.connect(t, "2")
	b2, _ := s.connect(t, "2")
	for _, c := range []*wsClient{a, b, b2} {
		c.mustCall("subscribe", map[string]any{"channel": "room"})
	}
	p := a.mustCall("presence", map[string]any{"channel": "room"}).Presence.Presence
	if len(p) != 3 {
		t.Fatalf("presence %v", p)
	}
	users := map[string]int{}
	for id, info := range p {
		if id != info.Client {
			t.Fatalf("key %s client %s", id, info.Client)
		}
		users[info.User]++
	}
	if users["1"] != 1 || users["2"] != 2 {
		t.Fatalf("users %v", users)
	}
	st := a.mustCall("presence_stats", map[string]any{"channel": "room"}).PresenceStats
	if st.NumClients != 3 || st.NumUsers != 2 {
		t.Fatalf("stats %+v", st)
	}
	b2.mustCall("unsubscribe", map[string]any{"channel": "room"})
	st = a.mustCall("presence_stats", map[string]any{"channel": "room"}).PresenceStats
	if st.NumClients != 2 || st.NumUsers != 2 {
		t.Fatalf("stats after unsubscribe %+v", st)
	}
	b.conn.Close()
	deadline := time.Now().Add(waitTimeout)
	for {
		st = a.mustCall("presence_stats", map[string]any{"channel": "room"}).PresenceStats
		if st.NumClients == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("presence not cleaned after disconnect: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	a.callErr("presence", map[string]any{"channel": "other"}, 103) // not subscribed
	a.mustCall("subscribe", map[string]any{"channel": "bare:x"})
	a.callErr("presence", map[string]any{"channel": "bare:x"}, 108)
	a.callErr("presence_stats", map[string]any{"channel": "bare:x"}, 108)
}

func TestHistory(t *testing.T) {
	s := startServer(t)
	c, _ := s.connect(t, "1")
	c.mustCall("subscribe", map[string]any{"channel": "room"})
	for i := 1; i <= 5; i++ {
		s.publish("room", fmt.Sprint(i))
	}
	h := c.mustCall("history", map[string]any{"channel": "room", "limit": 10}).History
	if len(h.Publications) != 5 || h.Offset != 5 || h.Epoch == "" {
		t.Fatalf("history %+v", h)
	}
	for i, p := range h.Publications {
		if p.Offset != uint64(i+1) || string(p.Data) != fmt.Sprint(i+1) {
			t.Fatalf("pub %d: %+v", i, p)
		}
	}
	h = c.mustCall("history", map[string]any{"channel": "room", "limit": 2, "reverse": true}).History
	if len(h.Publications) != 2 || h.Publications[0].Offset != 5 {
		t.Fatalf("reverse %+v", h.Publications)
	}
	h = c.mustCall("history", map[string]any{"channel": "room", "limit": -1, "since": map[string]any{"offset": 3, "epoch": h.Epoch}}).History
	if len(h.Publications) != 2 || h.Publications[0].Offset != 4 {
		t.Fatalf("since %+v", h.Publications)
	}
	h = c.mustCall("history", map[string]any{"channel": "room"}).History
	if len(h.Publications) != 0 || h.Offset != 5 {
		t.Fatalf("limit 0 must give only the position: %+v", h)
	}
	c.callErr("history", map[string]any{"channel": "other"}, 103)
	c.mustCall("subscribe", map[string]any{"channel": "bare:x"})
	c.callErr("history", map[string]any{"channel": "bare:x"}, 108)
}

func TestRecovery(t *testing.T) {
	s := startServer(t)
	c, _ := s.connect(t, "1")
	r := c.mustCall("subscribe", map[string]any{"channel": "chat:room"}).Subscribe
	if !r.Recoverable || r.Epoch == "" || r.Offset != 0 {
		t.Fatalf("subscribe %+v", r)
	}
	s.publish("chat:room", `"a"`)
	first := c.pub("chat:room")
	epoch := r.Epoch
	c.conn.Close()
	for i := 0; i < 3; i++ {
		s.publish("chat:room", fmt.Sprintf(`"m%d"`, i))
	}
	c2, _ := s.connect(t, "1")
	r = c2.mustCall("subscribe", map[string]any{"channel": "chat:room", "recover": true, "offset": first.Offset, "epoch": epoch}).Subscribe
	if !r.WasRecovering || !r.Recovered || len(r.Publications) != 3 || r.Offset != 4 {
		t.Fatalf("recovery %+v", r)
	}
	for i, p := range r.Publications {
		if p.Offset != uint64(i+2) {
			t.Fatalf("recovered offsets %+v", r.Publications)
		}
	}
	// Nothing recovered is delivered again as a push.
	s.publish("chat:room", `"live"`)
	if p := c2.pub("chat:room"); p.Offset != 5 {
		t.Fatalf("live publication offset %d, want 5", p.Offset)
	}

	t.Run("wrong epoch is not recovered", func(t *testing.T) {
		c, _ := s.connect(t, "1")
		r := c.mustCall("subscribe", map[string]any{"channel": "small:gone", "recover": true, "offset": 1, "epoch": "gone"}).Subscribe
		if !r.WasRecovering || r.Recovered || len(r.Publications) != 0 {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("a lost stream still delivers what the new stream holds from its start", func(t *testing.T) {
		c, _ := s.connect(t, "1")
		r := c.mustCall("subscribe", map[string]any{"channel": "chat:room", "recover": true, "offset": 1, "epoch": "gone"}).Subscribe
		if !r.WasRecovering || r.Recovered || len(r.Publications) != 5 || r.Publications[0].Offset != 1 || r.Offset != 5 {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("evicted publications are not recovered", func(t *testing.T) {
		c, _ := s.connect(t, "1")
		r := c.mustCall("subscribe", map[string]any{"channel": "small:room"}).Subscribe
		for i := 0; i < 5; i++ {
			s.publish("small:room", `1`)
		}
		c2, _ := s.connect(t, "1")
		r = c2.mustCall("subscribe", map[string]any{"channel": "small:room", "recover": true, "offset": 0, "epoch": r.Epoch}).Subscribe
		if r.Recovered || len(r.Publications) != 0 || r.Offset != 5 {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("client-requested recovery on a non-forced channel", func(t *testing.T) {
		c, _ := s.connect(t, "1")
		r := c.mustCall("subscribe", map[string]any{"channel": "news", "recoverable": true}).Subscribe
		if !r.Recoverable {
			t.Fatalf("%+v", r)
		}
		s.publish("news", `1`)
		c2, _ := s.connect(t, "1")
		r = c2.mustCall("subscribe", map[string]any{"channel": "news", "recoverable": true, "recover": true, "offset": r.Offset, "epoch": r.Epoch}).Subscribe
		if !r.Recovered || len(r.Publications) != 1 {
			t.Fatalf("%+v", r)
		}
	})
}

// TestRecoveryUnderLoad subscribes with recovery while another goroutine
// publishes: every publication arrives exactly once, in order, in the
// recovered list or as a push.
func TestRecoveryUnderLoad(t *testing.T) {
	s := startServer(t, func(c *config.Config) {
		c.Projects[0].Namespaces[0].Options.HistorySize = 1000
		c.Client.HistoryMaxLimit = 1000
	})
	c, _ := s.connect(t, "1")
	r := c.mustCall("subscribe", map[string]any{"channel": "chat:load"}).Subscribe
	epoch := r.Epoch
	c.conn.Close()
	const n = 300
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= n; i++ {
			s.publish("chat:load", fmt.Sprint(i))
		}
	}()
	time.Sleep(5 * time.Millisecond)
	c2, _ := s.connect(t, "1")
	r = c2.mustCall("subscribe", map[string]any{"channel": "chat:load", "recover": true, "offset": 0, "epoch": epoch}).Subscribe
	if !r.Recovered {
		t.Fatalf("not recovered: %+v", r)
	}
	next := uint64(1)
	for _, p := range r.Publications {
		if p.Offset != next {
			t.Fatalf("recovered offset %d, want %d", p.Offset, next)
		}
		next++
	}
	<-done
	for next <= n {
		// Publications after the recovered ones come as pushes.
		p := c2.pub("chat:load")
		if p.Offset != next {
			t.Fatalf("push offset %d, want %d", p.Offset, next)
		}
		next++
	}
}

func TestJoinLeave(t *testing.T) {
	s := startServer(t)
	a, _ := s.connect(t, "1")
	a.mustCall("subscribe", map[string]any{"channel": "room", "join_leave": true})
	quiet, _ := s.connect(t, "3")
	quiet.mustCall("subscribe", map[string]any{"channel": "room"})
	b, _ := s.connect(t, "2")
	b.mustCall("subscribe", map[string]any{"channel": "room"})
	j := a.push(func(p *protocol.Push) bool { return p.Join != nil && p.Join.Info.User == "2" })
	jsonEq(t, j.Join.Info.ConnInfo, `{"name":"2"}`)
	b.mustCall("unsubscribe", map[string]any{"channel": "room"})
	a.push(func(p *protocol.Push) bool { return p.Leave != nil && p.Leave.Info.User == "2" })
	b.mustCall("subscribe", map[string]any{"channel": "room"})
	a.push(func(p *protocol.Push) bool { return p.Join != nil && p.Join.Info.User == "2" })
	b.conn.Close()
	a.push(func(p *protocol.Push) bool { return p.Leave != nil && p.Leave.Info.User == "2" })
	quiet.noPush(200 * time.Millisecond) // did not ask for join/leave
	// force_push_join_leave pushes to everyone.
	a.mustCall("subscribe", map[string]any{"channel": "chat:jl"})
	c, _ := s.connect(t, "4")
	c.mustCall("subscribe", map[string]any{"channel": "chat:jl"})
	a.push(func(p *protocol.Push) bool { return p.Channel == "chat:jl" && p.Join != nil && p.Join.Info.User == "4" })
}

func TestTokenRefresh(t *testing.T) {
	s := startServer(t)
	c := dial(t, s.wsURL(""), nil)
	res := c.mustCall("connect", map[string]any{"token": token(t, "42", 2*time.Second)}).Connect
	if !res.Expires || res.TTL > 2 {
		t.Fatalf("connect %+v", res)
	}
	r := c.mustCall("refresh", map[string]any{"token": token(t, "42", time.Hour)}).Refresh
	if !r.Expires || r.TTL < 3500 || r.Client != res.Client {
		t.Fatalf("refresh %+v", r)
	}
	c.mustCall("subscribe", map[string]any{"channel": "news"})
	time.Sleep(3500 * time.Millisecond) // past the first token's expiry and grace
	s.publish("news", `1`)
	c.pub("news")

	t.Run("refresh with another user's token closes 3500", func(t *testing.T) {
		c, _ := s.connect(t, "42")
		c.send("refresh", map[string]any{"token": token(t, "43", time.Hour)})
		c.expectClose(3500)
	})
	t.Run("refresh with an expired token is 109", func(t *testing.T) {
		c, _ := s.connect(t, "42")
		c.callErr("refresh", map[string]any{"token": expiredToken(t, jwt.MapClaims{"sub": "42"})}, 109)
	})
}

func TestTokenExpiryDisconnects(t *testing.T) {
	s := startServer(t)
	c := dial(t, s.wsURL(""), nil)
	c.mustCall("connect", map[string]any{"token": token(t, "42", time.Second)})
	c.expectClose(3005)
}

func TestServerSideSubscriptionsFromToken(t *testing.T) {
	s := startServer(t)
	c := dial(t, s.wsURL(""), nil)
	res := c.mustCall("connect", map[string]any{"token": token(t, "42", time.Hour, "news", "chat:room", "nope:x")}).Connect
	if len(res.Subs) != 2 || res.Subs["chat:room"] == nil || !res.Subs["chat:room"].Recoverable {
		t.Fatalf("subs %+v", res.Subs)
	}
	s.publish("news", `"n"`)
	if p := c.pub("news"); string(p.Data) != `"n"` {
		t.Fatalf("%s", p.Data)
	}
	// Recovering server-side subscriptions through connect.
	epoch := res.Subs["chat:room"].Epoch
	s.publish("chat:room", `1`)
	c.pub("chat:room")
	c.conn.Close()
	s.publish("chat:room", `2`)
	c2 := dial(t, s.wsURL(""), nil)
	res = c2.mustCall("connect", map[string]any{
		"token": token(t, "42", time.Hour, "chat:room"),
		"subs":  map[string]any{"chat:room": map[string]any{"recover": true, "offset": 1, "epoch": epoch}},
	}).Connect
	sr := res.Subs["chat:room"]
	if !sr.Recovered || len(sr.Publications) != 1 || string(sr.Publications[0].Data) != "2" {
		t.Fatalf("recovered %+v", sr)
	}
}

func TestPingPong(t *testing.T) {
	s := startServer(t, func(c *config.Config) {
		c.Client.PingInterval = dur(time.Second)
		c.Client.PongTimeout = dur(500 * time.Millisecond)
	})
	good, res := s.connect(t, "1")
	if res.Ping != 1 || !res.Pong {
		t.Fatalf("%+v", res)
	}
	bad, _ := s.connect(t, "2")
	// good answers pings for 2.5 s; bad never does.
	deadline := time.After(2500 * time.Millisecond)
	pings := 0
loop:
	for {
		select {
		case r := <-good.in:
			if r.ID == 0 && r.Push == nil {
				pings++
				good.sendRaw("{}")
			}
		case <-deadline:
			break loop
		}
	}
	if pings < 2 {
		t.Fatalf("%d pings in 2.5 s", pings)
	}
	bad.expectClose(3012)
	good.mustCall("subscribe", map[string]any{"channel": "news"}) // still connected
}

func TestServerAPIControlsClients(t *testing.T) {
	s := startServer(t)
	c, _ := s.connect(t, "42")
	other, _ := s.connect(t, "7")

	code, out := s.api("subscribe", map[string]any{"user": "42", "channel": "chat:srv"})
	if code != 200 || out["error"] != nil {
		t.Fatalf("subscribe %d %v", code, out)
	}
	p := c.push(func(p *protocol.Push) bool { return p.Subscribe != nil })
	if p.Channel != "chat:srv" || !p.Subscribe.Recoverable || p.Subscribe.Epoch == "" {
		t.Fatalf("subscribe push %+v", p)
	}
	s.publish("chat:srv", `1`)
	c.pub("chat:srv")

	_, out = s.api("channels", map[string]any{"pattern": "chat:*"})
	chans := out["result"].(map[string]any)["channels"].(map[string]any)
	if chans["chat:srv"] == nil {
		t.Fatalf("channels %v", out)
	}

	s.api("unsubscribe", map[string]any{"user": "42", "channel": "chat:srv"})
	p = c.push(func(p *protocol.Push) bool { return p.Unsubscribe != nil })
	if p.Channel != "chat:srv" || p.Unsubscribe.Code != 2000 {
		t.Fatalf("unsubscribe push %+v", p)
	}

	_, out = s.api("refresh", map[string]any{"user": "42", "expire_at": time.Now().Add(time.Hour).Unix()})
	if out["error"] != nil {
		t.Fatalf("refresh %v", out)
	}
	p = c.push(func(p *protocol.Push) bool { return p.Refresh != nil })
	if !p.Refresh.Expires || p.Refresh.TTL < 3500 {
		t.Fatalf("refresh push %+v", p.Refresh)
	}

	_, out = s.api("info", map[string]any{})
	nodes := out["result"].(map[string]any)["nodes"].([]any)
	if len(nodes) != 1 || nodes[0].(map[string]any)["num_clients"].(float64) != 2 {
		t.Fatalf("info %v", out)
	}

	s.api("disconnect", map[string]any{"user": "42"})
	c.expectClose(3503)
	other.mustCall("subscribe", map[string]any{"channel": "news"}) // untouched

	s.api("disconnect", map[string]any{"user": "7", "disconnect": map[string]any{"code": 3011, "reason": "go away"}})
	other.expectClose(3011)
	if other.close.Text != "go away" {
		t.Fatalf("reason %q", other.close.Text)
	}
}

func TestServerAPIErrors(t *testing.T) {
	s := startServer(t)
	code, out := s.apiWith("", "", "publish", map[string]any{"channel": "a", "data": 1})
	if code != 401 || out["error"] == nil {
		t.Fatalf("no key: %d %v", code, out)
	}
	code, _ = s.apiWith("", "wrong-key-0123456789", "publish", map[string]any{"channel": "a", "data": 1})
	if code != 401 {
		t.Fatalf("wrong key: %d", code)
	}
	code, _ = s.apiWith("other", apiKey, "publish", map[string]any{"channel": "a", "data": 1})
	if code != 401 {
		t.Fatalf("another project's key: %d", code)
	}
	code, out = s.apiWith("other", otherKey, "publish", map[string]any{"channel": "a", "data": 1})
	if code != 200 || out["error"] != nil {
		t.Fatalf("own project: %d %v", code, out)
	}
	_, out = s.api("publish", map[string]any{"channel": "nope:a", "data": 1})
	if e, _ := out["error"].(map[string]any); e == nil || e["code"].(float64) != 102 {
		t.Fatalf("unknown namespace: %v", out)
	}
	_, out = s.api("presence", map[string]any{"channel": "bare:a"})
	if e, _ := out["error"].(map[string]any); e == nil || e["code"].(float64) != 108 {
		t.Fatalf("presence disabled: %v", out)
	}
	_, out = s.api("disconnect", map[string]any{"user": "1", "disconnect": map[string]any{"code": 1000}})
	if e, _ := out["error"].(map[string]any); e == nil || e["code"].(float64) != 107 {
		t.Fatalf("bad disconnect code: %v", out)
	}
}

func TestServerAPIHistoryAndBroadcast(t *testing.T) {
	s := startServer(t)
	c, _ := s.connect(t, "1")
	c.mustCall("subscribe", map[string]any{"channel": "a"})
	c.mustCall("subscribe", map[string]any{"channel": "b"})
	_, out := s.api("broadcast", map[string]any{"channels": []string{"a", "b", "nope:c"}, "data": map[string]any{"x": 1}})
	resps := out["result"].(map[string]any)["responses"].([]any)
	if len(resps) != 3 || resps[0].(map[string]any)["result"] == nil || resps[2].(map[string]any)["error"] == nil {
		t.Fatalf("broadcast %v", out)
	}
	jsonEq(t, c.pub("a").Data, `{"x":1}`)
	jsonEq(t, c.pub("b").Data, `{"x":1}`)
	_, out = s.api("history", map[string]any{"channel": "a", "limit": 10})
	res := out["result"].(map[string]any)
	if pubs := res["publications"].([]any); len(pubs) != 1 || res["epoch"] == "" {
		t.Fatalf("history %v", out)
	}
	s.api("history_remove", map[string]any{"channel": "a"})
	_, out = s.api("history", map[string]any{"channel": "a", "limit": 10})
	res = out["result"].(map[string]any)
	if pubs, _ := res["publications"].([]any); len(pubs) != 0 || res["offset"].(float64) != 1 {
		t.Fatalf("after history_remove %v", out)
	}
	_, out = s.api("presence", map[string]any{"channel": "a"})
	if p := out["result"].(map[string]any)["presence"].(map[string]any); len(p) != 1 {
		t.Fatalf("presence %v", out)
	}
	_, out = s.api("batch", map[string]any{"commands": []any{
		map[string]any{"publish": map[string]any{"channel": "a", "data": 2}},
		map[string]any{"presence_stats": map[string]any{"channel": "a"}},
	}})
	replies := out["replies"].([]any)
	if len(replies) != 2 || replies[0].(map[string]any)["publish"] == nil {
		t.Fatalf("batch %v", out)
	}
	c.pub("a")
}

func TestSlowClientDisconnectedOthersServed(t *testing.T) {
	s := startServer(t, func(c *config.Config) { c.Client.MaxQueueSize = 256 << 10 })
	slow, _ := s.connect(t, "slow")
	fast, _ := s.connect(t, "fast")
	slow.mustCall("subscribe", map[string]any{"channel": "firehose"})
	fast.mustCall("subscribe", map[string]any{"channel": "firehose"})
	resume := slow.pause() // stop reading after the current frame
	slow.sendRaw("{}")     // wake the read loop so it parks
	payload, _ := json.Marshal(strings.Repeat("x", 8<<10))
	const n = 2000 // 16 MB: more than socket buffers and the queue limit
	got := make(chan int)
	go func() {
		count := 0
		for count < n {
			select {
			case r := <-fast.in:
				if r.Push != nil && r.Push.Pub != nil {
					count++
				}
			case <-time.After(10 * time.Second):
				got <- count
				return
			}
		}
		got <- count
	}()
	for i := 0; i < n; i++ {
		s.publish("firehose", string(payload))
	}
	if c := <-got; c != n {
		t.Fatalf("fast client got %d of %d", c, n)
	}
	// The slow client was disconnected: the node no longer counts it.
	deadline := time.Now().Add(waitTimeout)
	for {
		_, out := s.api("presence_stats", map[string]any{"channel": "firehose"})
		if out["result"].(map[string]any)["num_clients"].(float64) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slow client still subscribed: %v", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	resume()
}

func TestGracefulShutdown(t *testing.T) {
	s := startServer(t)
	c, _ := s.connect(t, "1")
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := contextWithTimeout(5 * time.Second)
		defer cancel()
		shut <- s.srv.Shutdown(ctx)
	}()
	c.expectClose(3001)
	select {
	case err := <-shut:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("shutdown did not return after the clients were closed")
	}
	// Once Shutdown has returned, the listener is closed: a new request is refused.
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Second}
	if resp, err := hc.Get("http://" + s.addr + "/health"); err == nil {
		resp.Body.Close()
		t.Fatalf("server still answers after shutdown: %s", resp.Status)
	}
}

func TestOriginCheck(t *testing.T) {
	s := startServer(t)
	h := http.Header{}
	h.Set("Origin", "https://evil.example")
	conn, resp, err := dialRaw(s.wsURL(""), h)
	if err == nil {
		conn.Close()
		t.Fatal("cross-origin upgrade accepted")
	}
	if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("resp %v", resp)
	}
	h.Set("Origin", "http://"+s.addr)
	c := dial(t, s.wsURL(""), h)
	c.mustCall("connect", map[string]any{"token": token(t, "1", time.Hour)})

	s2 := startServer(t, func(c *config.Config) { c.HTTP.AllowedOrigins = []string{"https://*.example.com"} })
	h.Set("Origin", "https://app.example.com")
	dial(t, s2.wsURL(""), h)
}

func TestHealth(t *testing.T) {
	s := startServer(t)
	resp, err := http.Get("http://" + s.addr + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

// TestLostDeliveriesMakeSubscribersRecover covers what a multi-node engine
// relies on: a gap in offsets, a new epoch, or a lost broker connection makes
// recoverable subscriptions resubscribe (unsubscribe push 2500), and
// duplicates are dropped.
func TestLostDeliveriesMakeSubscribersRecover(t *testing.T) {
	s := startServer(t)
	node := s.srv.Node()
	c, _ := s.connect(t, "1")
	r := c.mustCall("subscribe", map[string]any{"channel": "chat:gap"}).Subscribe
	c.mustCall("subscribe", map[string]any{"channel": "plain"})
	s.publish("chat:gap", `1`)
	c.pub("chat:gap")
	deliver := func(offset uint64, epoch string) {
		node.HandlePublication("default", "chat:gap", &engine.Publication{Offset: offset, Data: []byte(fmt.Sprint(offset))},
			engine.StreamPosition{Offset: offset, Epoch: epoch})
	}
	deliver(1, r.Epoch) // a duplicate: dropped
	deliver(2, r.Epoch) // next in line: delivered
	if p := c.pub("chat:gap"); p.Offset != 2 {
		t.Fatalf("offset %d", p.Offset)
	}
	deliver(4, r.Epoch) // a gap
	u := c.push(func(p *protocol.Push) bool { return p.Unsubscribe != nil })
	if u.Channel != "chat:gap" || u.Unsubscribe.Code != 2500 {
		t.Fatalf("push %+v", u)
	}
	// The client resubscribes with recovery (as centrifuge-js does on codes >= 2500).
	r = c.mustCall("subscribe", map[string]any{"channel": "chat:gap", "recover": true, "offset": 2, "epoch": r.Epoch}).Subscribe
	if !r.WasRecovering || r.Recovered {
		t.Fatalf("offsets 2-4 were never in history, so recovery must fail: %+v", r)
	}
	deliver(r.Offset+1, "another-epoch")
	c.push(func(p *protocol.Push) bool { return p.Unsubscribe != nil && p.Unsubscribe.Code == 2500 })

	c.mustCall("subscribe", map[string]any{"channel": "chat:gap"})
	node.HandleLost()
	c.push(func(p *protocol.Push) bool {
		return p.Unsubscribe != nil && p.Channel == "chat:gap" && p.Unsubscribe.Code == 2500
	})
	s.publish("plain", `"still here"`)
	if p := c.pub("plain"); string(p.Data) != `"still here"` {
		t.Fatalf("non-recoverable subscription touched: %s", p.Data)
	}
}
