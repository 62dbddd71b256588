package gocent_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/centrifugal/gocent/v3"
)

// binary is a payload that is not JSON (not even UTF-8).
var binary = []byte{0x00, 0xff, 0x80, 0x01, '\n', '"', 0xfe}

func TestPublishAndHistory(t *testing.T) {
	c := client(apiKey)
	ch := uniq("hist:pub")
	first, err := c.Publish(ctx(t), ch, []byte(`{"text":"hello"}`), gocent.WithTags(map[string]string{"kind": "chat"}),
		gocent.WithIdempotencyKey("k1"), gocent.WithDelta(true))
	if err != nil {
		t.Fatal(err)
	}
	if first.Offset != 1 || first.Epoch == "" {
		t.Fatalf("first publish = %+v, want offset 1 and an epoch", first)
	}
	again, err := c.Publish(ctx(t), ch, []byte(`{"text":"hello"}`), gocent.WithIdempotencyKey("k1"))
	if err != nil || again != first {
		t.Fatalf("publish with the same idempotency key = %+v, %v; want %+v again", again, err, first)
	}
	if _, err := c.Publish(ctx(t), ch, []byte(`{"text":"skipped"}`), gocent.WithSkipHistory(true)); err != nil {
		t.Fatal(err)
	}
	second, err := c.Publish(ctx(t), ch, []byte(`{"text":"there"}`))
	if err != nil || second.Offset != 2 {
		t.Fatalf("second publish = %+v, %v; want offset 2", second, err)
	}

	h, err := c.History(ctx(t), ch, gocent.WithLimit(gocent.NoLimit))
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Publications) != 2 || string(h.Publications[0].Data) != `{"text":"hello"}` || string(h.Publications[1].Data) != `{"text":"there"}` ||
		h.Offset != 2 || h.Epoch != first.Epoch {
		t.Fatalf("history = %+v", h)
	}
	rev, err := c.History(ctx(t), ch, gocent.WithLimit(1), gocent.WithReverse(true))
	if err != nil || len(rev.Publications) != 1 || rev.Publications[0].Offset != 2 {
		t.Fatalf("reverse history = %+v, %v", rev, err)
	}
	since, err := c.History(ctx(t), ch, gocent.WithLimit(10), gocent.WithSince(&gocent.StreamPosition{Offset: 1, Epoch: first.Epoch}))
	if err != nil || len(since.Publications) != 1 || since.Publications[0].Offset != 2 {
		t.Fatalf("history since 1 = %+v, %v", since, err)
	}
	_, err = c.History(ctx(t), ch, gocent.WithLimit(10), gocent.WithSince(&gocent.StreamPosition{Offset: 1, Epoch: "another-epoch"}))
	expectCode(t, err, 112, "another-epoch")

	if err := c.HistoryRemove(ctx(t), ch); err != nil {
		t.Fatal(err)
	}
	h, err = c.History(ctx(t), ch, gocent.WithLimit(gocent.NoLimit))
	if err != nil || len(h.Publications) != 0 || h.Offset != 2 {
		t.Fatalf("history after history_remove = %+v, %v; want no publications at offset 2", h, err)
	}
}

func TestBinaryPayload(t *testing.T) {
	c := client(apiKey)
	ch := uniq("hist:bin")
	sub := connect(t, "u-bin")
	sub.call("subscribe", map[string]any{"channel": ch})

	res, err := c.Publish(ctx(t), ch, nil, gocent.WithB64data(base64.StdEncoding.EncodeToString(binary)))
	if err != nil {
		t.Fatal(err)
	}
	var pub struct {
		Data    json.RawMessage `json:"data"`
		B64data string          `json:"b64data"`
		Offset  uint64          `json:"offset"`
	}
	if err := json.Unmarshal(sub.push("pub", ch), &pub); err != nil {
		t.Fatal(err)
	}
	got, err := base64.StdEncoding.DecodeString(pub.B64data)
	if err != nil || !bytes.Equal(got, binary) || pub.Offset != res.Offset {
		t.Fatalf("subscriber got %+v (%x), want %x at offset %d", pub, got, binary, res.Offset)
	}

	// gocent's Publication has no b64data: read history through a pipe.
	p := c.Pipe()
	if err := p.AddHistory(ch, gocent.WithLimit(gocent.NoLimit)); err != nil {
		t.Fatal(err)
	}
	replies, err := c.SendPipe(ctx(t), p)
	if err != nil || replies[0].Error != nil {
		t.Fatalf("history: %v %v", err, replies)
	}
	var h struct {
		Publications []struct {
			Data    json.RawMessage `json:"data"`
			B64data string          `json:"b64data"`
		} `json:"publications"`
	}
	if err := json.Unmarshal(replies[0].Result, &h); err != nil || len(h.Publications) != 1 {
		t.Fatalf("history %s: %v", replies[0].Result, err)
	}
	got, err = base64.StdEncoding.DecodeString(h.Publications[0].B64data)
	if err != nil || !bytes.Equal(got, binary) || string(h.Publications[0].Data) != "null" {
		t.Fatalf("history publication %s, want b64data of %x", replies[0].Result, binary)
	}

	// Broadcast with b64data too.
	other := uniq("hist:bin")
	b, err := c.Broadcast(ctx(t), []string{ch, other}, nil, gocent.WithB64data(base64.StdEncoding.EncodeToString(binary)))
	if err != nil || len(b.Responses) != 2 || b.Responses[0].Error != nil || b.Responses[1].Error != nil {
		t.Fatalf("broadcast = %+v, %v", b, err)
	}
	if err := json.Unmarshal(sub.push("pub", ch), &pub); err != nil || pub.B64data != base64.StdEncoding.EncodeToString(binary) {
		t.Fatalf("broadcast reached the subscriber as %+v (%v)", pub, err)
	}
}

func TestBroadcast(t *testing.T) {
	c := client(apiKey)
	a, b := uniq("hist:a"), uniq("hist:b")
	res, err := c.Broadcast(ctx(t), []string{a, b, "nosuchns:x"}, []byte(`{"n":1}`), gocent.WithTags(map[string]string{"t": "v"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Responses) != 3 || res.Responses[0].Result == nil || res.Responses[0].Result.Offset != 1 ||
		res.Responses[1].Result == nil || res.Responses[2].Error == nil || res.Responses[2].Error.Code != 102 {
		t.Fatalf("broadcast = %+v", res)
	}
}

func TestServerSideSubscribe(t *testing.T) {
	c := client(apiKey)
	user := uniq("u")
	ch := uniq("hist:srv")
	w := connect(t, user)
	if _, err := c.Publish(ctx(t), ch, []byte(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	h, err := c.History(ctx(t), ch)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Publish(ctx(t), ch, []byte(`{"n":2}`)); err != nil {
		t.Fatal(err)
	}
	err = c.Subscribe(ctx(t), ch, user,
		gocent.WithSubscribeData(json.RawMessage(`{"welcome":true}`)),
		gocent.WithSubscribeInfo(json.RawMessage(`{"role":"reader"}`)),
		gocent.WithPresence(true), gocent.WithJoinLeave(true), gocent.WithPosition(true), gocent.WithRecover(true),
		gocent.WithRecoverSince(&gocent.StreamPosition{Offset: h.Offset, Epoch: h.Epoch}),
		gocent.WithSubscribeClient(w.client))
	if err != nil {
		t.Fatal(err)
	}
	var push struct {
		Data        json.RawMessage `json:"data"`
		Recoverable bool            `json:"recoverable"`
		Positioned  bool            `json:"positioned"`
		Offset      uint64          `json:"offset"`
	}
	if err := json.Unmarshal(w.push("subscribe", ch), &push); err != nil {
		t.Fatal(err)
	}
	if string(push.Data) != `{"welcome":true}` || !push.Recoverable || !push.Positioned || push.Offset != 2 {
		t.Fatalf("subscribe push %+v", push)
	}
	var pub struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(w.push("pub", ch), &pub); err != nil || string(pub.Data) != `{"n":2}` {
		t.Fatalf("recovered publication %s (%v), want {\"n\":2}", pub.Data, err)
	}
	pr, err := c.Presence(ctx(t), ch)
	if err != nil {
		t.Fatal(err)
	}
	if info, ok := pr.Presence[w.client]; !ok || info.User != user || string(info.ChanInfo) != `{"role":"reader"}` {
		t.Fatalf("presence = %+v, want %s with chan_info", pr, w.client)
	}
	st, err := c.PresenceStats(ctx(t), ch)
	if err != nil || st.NumClients != 1 || st.NumUsers != 1 {
		t.Fatalf("presence_stats = %+v, %v", st, err)
	}
	chans, err := c.Channels(ctx(t), gocent.WithPattern("hist:srv_*"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := chans.Channels[ch]; !ok {
		t.Fatalf("channels = %+v, want %s", chans, ch)
	}

	if err := c.Unsubscribe(ctx(t), ch, user, gocent.WithUnsubscribeClient(w.client)); err != nil {
		t.Fatal(err)
	}
	var unsub struct {
		Code uint32 `json:"code"`
	}
	if err := json.Unmarshal(w.push("unsubscribe", ch), &unsub); err != nil || unsub.Code != 2000 {
		t.Fatalf("unsubscribe push %+v (%v)", unsub, err)
	}
}

func TestDisconnect(t *testing.T) {
	c := client(apiKey)
	user := uniq("u")
	keep, drop := connect(t, user), connect(t, user)
	err := c.Disconnect(ctx(t), user,
		gocent.WithDisconnect(&gocent.Disconnect{Code: 4100, Reason: "moved"}),
		gocent.WithDisconnectClientWhitelist([]string{keep.client}))
	if err != nil {
		t.Fatal(err)
	}
	if code := drop.waitClose(); code != 4100 {
		t.Fatalf("close code %d, want 4100", code)
	}
	keep.expectOpen(300 * time.Millisecond)

	if err := c.Disconnect(ctx(t), user, gocent.WithDisconnectClient(keep.client)); err != nil {
		t.Fatal(err)
	}
	if code := keep.waitClose(); code != 3503 {
		t.Fatalf("close code %d, want 3503 (force disconnect)", code)
	}
	// reconnect: true with a terminal code contradicts itself.
	err = c.Disconnect(ctx(t), user, gocent.WithDisconnect(&gocent.Disconnect{Code: 4500, Reason: "x", Reconnect: true}))
	expectCode(t, err, 107, "reconnect")
}

func TestInfo(t *testing.T) {
	c := client(apiKey)
	info, err := c.Info(ctx(t))
	if err != nil || len(info.Nodes) != 1 || info.Nodes[0].UID == "" {
		t.Fatalf("info = %+v, %v", info, err)
	}
}

func TestPipe(t *testing.T) {
	c := client(apiKey)
	ch := uniq("hist:pipe")
	p := c.Pipe()
	for _, err := range []error{
		p.AddPublish(ch, []byte(`{"n":1}`)),
		p.AddBroadcast([]string{ch}, []byte(`{"n":2}`)),
		p.AddPublish("nosuchns:x", []byte(`{}`)),
		p.AddHistory(ch, gocent.WithLimit(gocent.NoLimit)),
		p.AddPresence(ch),
		p.AddPresenceStats(ch),
		p.AddChannels(),
		p.AddInfo(),
		p.AddSubscribe(ch, "nobody"),
		p.AddUnsubscribe(ch, "nobody"),
		p.AddDisconnect("nobody"),
		p.AddHistoryRemove(ch),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	replies, err := c.SendPipe(ctx(t), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(replies) != 12 {
		t.Fatalf("%d replies, want 12", len(replies))
	}
	for i, r := range replies {
		if i == 2 {
			if r.Error == nil || r.Error.Code != 102 {
				t.Errorf("reply 2 = %+v, want error 102", r)
			}
			continue
		}
		if r.Error != nil {
			t.Errorf("reply %d: %v", i, r.Error)
		}
	}
	var h gocent.HistoryResult
	if err := json.Unmarshal(replies[3].Result, &h); err != nil || len(h.Publications) != 2 {
		t.Fatalf("history in the pipe: %s", replies[3].Result)
	}
	var info struct {
		Nodes []struct {
			Metrics struct {
				Interval float64            `json:"interval"`
				Items    map[string]float64 `json:"items"`
			} `json:"metrics"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal(replies[7].Result, &info); err != nil || len(info.Nodes) != 1 ||
		info.Nodes[0].Metrics.Interval <= 0 || len(info.Nodes[0].Metrics.Items) == 0 {
		t.Fatalf("info metrics in Centrifugo's shape {interval, items}: %s", replies[7].Result)
	}
	if _, err := c.SendPipe(ctx(t), c.Pipe()); !errors.Is(err, gocent.ErrPipeEmpty) {
		t.Fatalf("empty pipe: %v", err)
	}
}

func TestErrors(t *testing.T) {
	// Wrong key: HTTP 401.
	_, err := client("wrong-key").Publish(ctx(t), "a", []byte(`{}`))
	var status gocent.ErrStatusCode
	if !errors.As(err, &status) || status.Code != 401 {
		t.Fatalf("wrong key: %v, want gocent.ErrStatusCode 401", err)
	}
	c := client(apiKey)
	// Unknown namespace.
	_, err = c.Publish(ctx(t), "nosuchns:a", []byte(`{}`))
	expectCode(t, err, 102, "")
	// A field this server does not support.
	_, err = c.Publish(ctx(t), uniq("hist:v"), []byte(`{}`), gocent.WithVersion(3), gocent.WithVersionEpoch("e"))
	expectCode(t, err, 107, "version")
	// Contradictory fields: data and b64data.
	_, err = c.Publish(ctx(t), uniq("hist:v"), []byte(`{}`), gocent.WithB64data("AAE="))
	expectCode(t, err, 107, "b64data")
	// Neither.
	_, err = c.Publish(ctx(t), uniq("hist:v"), nil)
	expectCode(t, err, 107, "data")
	// Not JSON data.
	_, err = c.Publish(ctx(t), uniq("hist:v"), []byte(`{not json`))
	if err == nil {
		t.Fatal("publishing bytes that are not JSON as data succeeded")
	}
	// History where the channel keeps none.
	_, err = c.History(ctx(t), "nohistory")
	expectCode(t, err, 108, "")
	// Subscribe with recover_since where the channel keeps no history.
	err = c.Subscribe(ctx(t), "nohistory", "u", gocent.WithRecoverSince(&gocent.StreamPosition{Offset: 1, Epoch: "e"}))
	expectCode(t, err, 107, "history")
}

// expectCode checks that err is gocent's typed method error with code, and
// that its message contains want.
func expectCode(t *testing.T, err error, code int, want string) {
	t.Helper()
	var e *gocent.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want gocent.Error %d", err, err, code)
	}
	if e.Code != code || !strings.Contains(e.Message, want) {
		t.Fatalf("error %d %q, want %d with %q", e.Code, e.Message, code, want)
	}
}
