package centrifuge_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	centrifuge "github.com/centrifugehq/centrifuge/sdk-go"
)

// TestAPI calls every server API method through the SDK against the real
// server, once per engine, and checks each one's effect.
func TestAPI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *server) {
		c := s.client(t, "")
		ctx := bg(t)

		t.Run("publish and history", func(t *testing.T) {
			ch := uniq("news")
			var first centrifuge.PublishResult
			for i := 1; i <= 3; i++ {
				res, err := c.Publish(ctx, ch, map[string]int{"n": i}, centrifuge.WithTags(map[string]string{"i": "x"}))
				if err != nil {
					t.Fatal(err)
				}
				if res.Offset != uint64(i) || res.Epoch == "" {
					t.Fatalf("publish %d: %+v", i, res)
				}
				if i == 1 {
					first = res
				}
			}
			// Idempotency: the same key answers the first result and does not publish.
			r1, err := c.Publish(ctx, ch, 4, centrifuge.WithIdempotencyKey("k1"))
			if err != nil {
				t.Fatal(err)
			}
			r2, err := c.Publish(ctx, ch, 5, centrifuge.WithIdempotencyKey("k1"))
			if err != nil || r2 != r1 {
				t.Fatalf("idempotent publish %+v %+v %v", r1, r2, err)
			}
			// Skipped history: not in the stream.
			if _, err := c.Publish(ctx, ch, 6, centrifuge.SkipHistory()); err != nil {
				t.Fatal(err)
			}

			pos, err := c.History(ctx, ch)
			if err != nil || pos.Offset != 4 || pos.Epoch != first.Epoch || len(pos.Publications) != 0 {
				t.Fatalf("position only: %+v %v", pos, err)
			}
			all, err := c.History(ctx, ch, centrifuge.WithLimit(-1))
			if err != nil || len(all.Publications) != 4 {
				t.Fatalf("all: %+v %v", all, err)
			}
			if string(all.Publications[0].Data) != `{"n":1}` || all.Publications[0].Tags["i"] != "x" {
				t.Fatalf("publication %+v", all.Publications[0])
			}
			page, err := c.History(ctx, ch, centrifuge.WithLimit(2), centrifuge.Since(centrifuge.StreamPosition{Offset: 1, Epoch: first.Epoch}))
			if err != nil || len(page.Publications) != 2 || page.Publications[0].Offset != 2 {
				t.Fatalf("since: %+v %v", page, err)
			}
			rev, err := c.History(ctx, ch, centrifuge.WithLimit(1), centrifuge.Reverse())
			if err != nil || len(rev.Publications) != 1 || rev.Publications[0].Offset != 4 {
				t.Fatalf("reverse: %+v %v", rev, err)
			}

			if err := c.HistoryRemove(ctx, ch); err != nil {
				t.Fatal(err)
			}
			after, err := c.History(ctx, ch, centrifuge.WithLimit(-1))
			if err != nil || len(after.Publications) != 0 || after.Offset != 4 {
				t.Fatalf("after history_remove: %+v %v", after, err)
			}
		})

		t.Run("publish reaches a subscriber", func(t *testing.T) {
			ch := uniq("live")
			user := uniq("u")
			ws := mustConnect(t, s, "", token(t, user, nil, ch))
			if _, err := c.Publish(ctx, ch, json.RawMessage(`{"text":"hi"}`)); err != nil {
				t.Fatal(err)
			}
			var pub struct {
				Data json.RawMessage `json:"data"`
			}
			_ = json.Unmarshal(ws.push("pub", ch), &pub)
			if string(pub.Data) != `{"text":"hi"}` {
				t.Fatalf("pub %s", pub.Data)
			}
		})

		t.Run("broadcast", func(t *testing.T) {
			a, b := uniq("a"), uniq("b")
			res, err := c.Broadcast(ctx, []string{a, "nope:x", b}, "hello")
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Responses) != 3 {
				t.Fatalf("responses %+v", res)
			}
			if res.Responses[0].Result == nil || res.Responses[0].Result.Offset != 1 || res.Responses[2].Result.Offset != 1 {
				t.Fatalf("ok responses %+v", res.Responses)
			}
			err = centrifuge.ReplyError("broadcast", res.Responses[1].Error)
			if !errors.Is(err, centrifuge.ErrUnknownChannel) {
				t.Fatalf("unknown namespace: %v", err)
			}
			h, err := c.History(ctx, b, centrifuge.WithLimit(-1))
			if err != nil || len(h.Publications) != 1 || string(h.Publications[0].Data) != `"hello"` {
				t.Fatalf("history of b %+v %v", h, err)
			}
		})

		t.Run("subscribe, presence, channels, unsubscribe", func(t *testing.T) {
			ch := uniq("room")
			user := uniq("u")
			ws := mustConnect(t, s, "", token(t, user, map[string]string{"name": "Alice"}))
			if err := c.Subscribe(ctx, user, ch); err != nil {
				t.Fatal(err)
			}
			ws.push("subscribe", ch)

			p, err := c.Presence(ctx, ch)
			if err != nil {
				t.Fatal(err)
			}
			info, ok := p.Presence[ws.Client]
			if !ok || info.User != user || string(info.ConnInfo) != `{"name":"Alice"}` {
				t.Fatalf("presence %+v", p)
			}
			st, err := c.PresenceStats(ctx, ch)
			if err != nil || st.NumClients != 1 || st.NumUsers != 1 {
				t.Fatalf("presence_stats %+v %v", st, err)
			}
			list, err := c.Channels(ctx, centrifuge.WithPattern(ch[:len(ch)-2]+"*"))
			if err != nil || list.Channels[ch].NumClients != 1 {
				t.Fatalf("channels %+v %v", list, err)
			}
			none, err := c.Channels(ctx, centrifuge.WithPattern("no-such-*"))
			if err != nil || len(none.Channels) != 0 {
				t.Fatalf("channels no-such-* %+v %v", none, err)
			}
			everything, err := c.Channels(ctx)
			if err != nil || everything.Channels[ch].NumClients != 1 {
				t.Fatalf("channels %+v %v", everything, err)
			}

			if err := c.Unsubscribe(ctx, user, ch); err != nil {
				t.Fatal(err)
			}
			var unsub struct {
				Code int `json:"code"`
			}
			_ = json.Unmarshal(ws.push("unsubscribe", ch), &unsub)
			if unsub.Code != 2000 {
				t.Fatalf("unsubscribe code %d", unsub.Code)
			}
			st, err = c.PresenceStats(ctx, ch)
			if err != nil || st.NumClients != 0 {
				t.Fatalf("presence_stats after unsubscribe %+v %v", st, err)
			}
		})

		t.Run("subscribe and unsubscribe one client", func(t *testing.T) {
			ch := uniq("one")
			user := uniq("u")
			a := mustConnect(t, s, "", token(t, user, nil))
			b := mustConnect(t, s, "", token(t, user, nil))
			if err := c.Subscribe(ctx, user, ch, centrifuge.ForClient(b.Client)); err != nil {
				t.Fatal(err)
			}
			b.push("subscribe", ch)
			p, err := c.Presence(ctx, ch)
			if err != nil || len(p.Presence) != 1 || p.Presence[b.Client].Client != b.Client {
				t.Fatalf("presence %+v %v (a %s)", p, err, a.Client)
			}
			if err := c.Unsubscribe(ctx, user, ch, centrifuge.ForClient(b.Client)); err != nil {
				t.Fatal(err)
			}
			b.push("unsubscribe", ch)
		})

		t.Run("binary data, subscribe options, keep clients", func(t *testing.T) {
			ch := uniq("bin")
			user := uniq("u")
			ws := mustConnect(t, s, "", token(t, user, nil))
			raw := []byte{0, 0xff, 0x80, '\n'}
			first, err := c.Publish(ctx, ch, centrifuge.Binary(raw), centrifuge.WithDelta())
			if err != nil {
				t.Fatal(err)
			}
			h, err := c.History(ctx, ch, centrifuge.WithLimit(-1))
			if err != nil || len(h.Publications) != 1 || h.Publications[0].B64Data != base64.StdEncoding.EncodeToString(raw) {
				t.Fatalf("history of binary data %+v %v", h, err)
			}
			if _, err := c.Broadcast(ctx, []string{ch}, centrifuge.Binary(`{"j":1}`)); err != nil {
				t.Fatal(err)
			}
			yes := true
			err = c.Subscribe(ctx, user, ch, centrifuge.WithSubscribeData(map[string]int{"w": 1}), centrifuge.WithChannelInfo("reader"),
				centrifuge.RecoverSince(centrifuge.StreamPosition{Offset: first.Offset, Epoch: first.Epoch}),
				centrifuge.WithOverride(centrifuge.Override{ForcePositioning: &yes}))
			if err != nil {
				t.Fatal(err)
			}
			var push struct {
				Data       json.RawMessage `json:"data"`
				Positioned bool            `json:"positioned"`
			}
			_ = json.Unmarshal(ws.push("subscribe", ch), &push)
			if string(push.Data) != `{"w":1}` || !push.Positioned {
				t.Fatalf("subscribe push %+v", push)
			}
			var pub struct {
				Data json.RawMessage `json:"data"`
			}
			_ = json.Unmarshal(ws.push("pub", ch), &pub)
			if string(pub.Data) != `{"j":1}` {
				t.Fatalf("recovered publication %s", pub.Data)
			}
			p, err := c.Presence(ctx, ch)
			if err != nil || string(p.Presence[ws.Client].ChanInfo) != `"reader"` {
				t.Fatalf("presence %+v %v", p, err)
			}
			other := mustConnect(t, s, "", token(t, user, nil))
			if err := c.Disconnect(ctx, user, centrifuge.KeepClients(ws.Client)); err != nil {
				t.Fatal(err)
			}
			if code := other.waitClose(); code != 3503 {
				t.Fatalf("close %d", code)
			}
			if _, err := c.Presence(ctx, ch); err != nil {
				t.Fatal(err)
			}
			info, err := c.Info(ctx)
			if err != nil || info.Nodes[0].Metrics == nil || info.Nodes[0].Metrics.Interval <= 0 {
				t.Fatalf("info %+v %v", info, err)
			}
		})

		t.Run("disconnect", func(t *testing.T) {
			user := uniq("u")
			a := mustConnect(t, s, "", token(t, user, nil))
			b := mustConnect(t, s, "", token(t, user, nil))
			other := mustConnect(t, s, "", token(t, uniq("u"), nil))
			if err := c.Disconnect(ctx, user, centrifuge.ForClient(a.Client), centrifuge.WithDisconnect(4500, "banned")); err != nil {
				t.Fatal(err)
			}
			if code := a.waitClose(); code != 4500 || a.close.Text != "banned" {
				t.Fatalf("close %d %+v", code, a.close)
			}
			if err := c.Disconnect(ctx, user); err != nil {
				t.Fatal(err)
			}
			if code := b.waitClose(); code != 3503 {
				t.Fatalf("default close %d", code)
			}
			if r, code := other.call("presence_stats", map[string]string{"channel": "x"}); code != 0 {
				t.Fatalf("another user was disconnected: %d %+v", code, r)
			}
		})

		t.Run("refresh", func(t *testing.T) {
			user := uniq("u")
			ch := uniq("r")
			ws := mustConnect(t, s, "", token(t, user, map[string]int{"v": 1}, ch))
			if ws.Subs[ch] == nil {
				t.Fatalf("token's channels claim: subs %v", ws.Subs)
			}
			err := c.Refresh(ctx, user, centrifuge.ExpireAt(time.Now().Add(2*time.Hour)), centrifuge.WithInfo(map[string]int{"v": 2}))
			if err != nil {
				t.Fatal(err)
			}
			var r struct {
				Expires bool `json:"expires"`
				TTL     int  `json:"ttl"`
			}
			_ = json.Unmarshal(ws.push("refresh", ""), &r)
			if !r.Expires || r.TTL < 7000 {
				t.Fatalf("refresh push %+v", r)
			}
			// The new info shows in presence of a channel subscribed after it.
			ch2 := uniq("r")
			if err := c.Subscribe(ctx, user, ch2); err != nil {
				t.Fatal(err)
			}
			ws.push("subscribe", ch2)
			p, err := c.Presence(ctx, ch2)
			if err != nil || string(p.Presence[ws.Client].ConnInfo) != `{"v":2}` {
				t.Fatalf("presence after refresh with info %+v %v", p, err)
			}

			if err := c.Refresh(ctx, user, centrifuge.ForClient(ws.Client), centrifuge.Expired()); err != nil {
				t.Fatal(err)
			}
			if code := ws.waitClose(); code != 3005 {
				t.Fatalf("expired: close %d", code)
			}
		})

		t.Run("info", func(t *testing.T) {
			ws := mustConnect(t, s, "", token(t, uniq("u"), nil))
			_ = ws
			res, err := c.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Nodes) != 1 || res.Nodes[0].UID == "" || res.Nodes[0].NumClients < 1 || res.Nodes[0].Version == "" {
				t.Fatalf("info %+v", res)
			}
		})

		t.Run("batch", func(t *testing.T) {
			ch := uniq("batch")
			user := uniq("u")
			ws := mustConnect(t, s, "", token(t, user, nil))
			for _, parallel := range []bool{false, true} {
				var b centrifuge.Batch
				b.Parallel = parallel
				b.Publish(ch, map[string]bool{"ok": true})
				b.Broadcast([]string{ch, ch + "x"}, 1)
				b.Subscribe(user, ch+"s")
				b.Presence("bare:x")
				b.PresenceStats(ch)
				b.History(ch, centrifuge.WithLimit(-1))
				b.Channels(centrifuge.WithPattern(ch + "*"))
				b.Info()
				b.Unsubscribe(user, ch+"s")
				b.Refresh(user, centrifuge.ExpireAt(time.Now().Add(time.Hour)))
				b.HistoryRemove(ch + "x")
				b.Disconnect(user, centrifuge.WithDisconnect(4000, "batch"))
				replies, err := c.Batch(ctx, &b)
				if err != nil {
					t.Fatal(err)
				}
				if len(replies) != b.Len() {
					t.Fatalf("%d replies for %d commands", len(replies), b.Len())
				}
				for i, r := range replies {
					if i == 3 {
						if !errors.Is(centrifuge.ReplyError("presence", r.Error), centrifuge.ErrNotAvailable) {
							t.Fatalf("presence on bare: %+v", r)
						}
						continue
					}
					if r.Error != nil {
						t.Fatalf("reply %d: %+v", i, r.Error)
					}
				}
				if replies[0].Publish == nil || replies[0].Publish.Epoch == "" ||
					replies[1].Broadcast == nil || len(replies[1].Broadcast.Responses) != 2 ||
					replies[2].Subscribe == nil || replies[4].PresenceStats == nil ||
					replies[5].History == nil || (!parallel && len(replies[5].History.Publications) < 2) ||
					replies[6].Channels == nil || replies[7].Info == nil || len(replies[7].Info.Nodes) != 1 ||
					replies[8].Unsubscribe == nil || replies[9].Refresh == nil ||
					replies[10].HistoryRemove == nil || replies[11].Disconnect == nil {
					t.Fatalf("replies %+v", replies)
				}
				if !parallel {
					if code := ws.waitClose(); code != 4000 {
						t.Fatalf("batch disconnect: close %d", code)
					}
					ws = mustConnect(t, s, "", token(t, user, nil))
				}
			}
		})

		t.Run("named project", func(t *testing.T) {
			oc := s.client(t, "other")
			ch := uniq("o")
			if _, err := oc.Publish(ctx, ch, 1); err != nil {
				t.Fatal(err)
			}
			h, err := oc.History(ctx, ch, centrifuge.WithLimit(-1))
			if err != nil || len(h.Publications) != 1 {
				t.Fatalf("other's history %+v %v", h, err)
			}
			// The default project does not see it.
			h, err = c.History(ctx, ch, centrifuge.WithLimit(-1))
			if err != nil || len(h.Publications) != 0 {
				t.Fatalf("default's history %+v %v", h, err)
			}
		})
	})
}

// TestMethodErrors: HTTP 200 answers with an error are *Error with the
// protocol code.
func TestMethodErrors(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *server) {
		c := s.client(t, "")
		ctx := bg(t)
		cases := []struct {
			name string
			call func() error
			want *centrifuge.Error
		}{
			{"unknown namespace", func() error { _, err := c.Publish(ctx, "nope:x", 1); return err }, centrifuge.ErrUnknownChannel},
			{"presence not enabled", func() error { _, err := c.Presence(ctx, "bare:x"); return err }, centrifuge.ErrNotAvailable},
			{"history not kept", func() error { _, err := c.History(ctx, "bare:x", centrifuge.WithLimit(1)); return err }, centrifuge.ErrNotAvailable},
			{"close code out of range", func() error { return c.Disconnect(ctx, "42", centrifuge.WithDisconnect(1000, "")) }, centrifuge.ErrBadRequest},
			{"empty channel", func() error { return c.HistoryRemove(ctx, "") }, centrifuge.ErrBadRequest},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				err := tc.call()
				var e *centrifuge.Error
				if !errors.As(err, &e) || !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want code %d", err, tc.want.Code)
				}
				if e.StatusCode != 200 || e.Code != tc.want.Code || e.Message == "" || e.Err != nil || e.Timeout() {
					t.Fatalf("error %+v", e)
				}
				if !strings.Contains(e.Error(), "error ") {
					t.Fatalf("message %q", e.Error())
				}
			})
		}
	})
}

// TestHTTPErrors: 4xx answers are *Error with the status as code.
func TestHTTPErrors(t *testing.T) {
	s := serverFor(t, "memory")
	ctx := bg(t)
	cases := []struct {
		name   string
		cfg    centrifuge.Config
		status int
	}{
		{"wrong key", centrifuge.Config{Addr: s.url(), APIKey: "wrong-key-0123456789"}, 401},
		{"another project's key", centrifuge.Config{Addr: s.url(), APIKey: apiKey, Project: "other"}, 401},
		{"unknown project", centrifuge.Config{Addr: s.url(), APIKey: apiKey, Project: "shop"}, 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := centrifuge.New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Publish(ctx, "news", 1)
			var e *centrifuge.Error
			if !errors.As(err, &e) || e.StatusCode != tc.status || e.Code != uint32(tc.status) || e.Message == "" || e.Err != nil {
				t.Fatalf("got %#v", err)
			}
			if !strings.Contains(e.Error(), "HTTP") {
				t.Fatalf("message %q", e.Error())
			}
		})
	}
}
