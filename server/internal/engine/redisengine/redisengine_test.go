package redisengine_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/engine/enginetest"
	"github.com/centrifugehq/centrifuge/server/internal/engine/redisengine"
	"github.com/centrifugehq/centrifuge/server/internal/redistest"
)

// newEngine creates an engine with a prefix of its own, so engines sharing a
// Redis do not see each other, and closes it when the test ends.
func newEngine(t testing.TB, cfg redisengine.Config) *redisengine.Engine {
	t.Helper()
	if cfg.Prefix == "" {
		cfg.Prefix = uniquePrefix()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	e, err := redisengine.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = e.Close(context.Background()) })
	return e
}

func uniquePrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "test-" + hex.EncodeToString(b[:])
}

func TestConformance(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	enginetest.Run(t, func(t *testing.T) engine.Engine {
		return newEngine(t, redisengine.Config{URLs: []string{s.URL}})
	})
}

func TestConformanceSharded(t *testing.T) {
	t.Parallel()
	a, b := redistest.Start(t), redistest.Start(t)
	enginetest.Run(t, func(t *testing.T) engine.Engine {
		return newEngine(t, redisengine.Config{URLs: []string{a.URL, b.URL}})
	})
}

func TestConformanceCluster(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t, 3)
	enginetest.Run(t, func(t *testing.T) engine.Engine {
		return newEngine(t, redisengine.Config{URLs: []string{c.URL}, Cluster: true})
	})
}

func TestConformanceSentinel(t *testing.T) {
	t.Parallel()
	m := redistest.Start(t)
	s := redistest.StartSentinel(t, m, "mymaster")
	enginetest.Run(t, func(t *testing.T) engine.Engine {
		return newEngine(t, redisengine.Config{URLs: []string{s.URL}, SentinelMasterName: s.MasterName})
	})
}

func TestNewRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]redisengine.Config{
		"bad scheme":          {URLs: []string{"http://localhost:6379"}},
		"unparsable":          {URLs: []string{"redis://[::1"}},
		"bad cluster URL":     {URLs: []string{"redis://[::1"}, Cluster: true},
		"two cluster URLs":    {URLs: []string{"redis://a:1", "redis://b:1"}, Cluster: true},
		"cluster + sentinel":  {URLs: []string{"redis://a:1"}, Cluster: true, SentinelMasterName: "m"},
		"bad sentinel URL":    {URLs: []string{"redis://[::1"}, SentinelMasterName: "m"},
		"negative timeout":    {Timeout: -1},
		"negative meta TTL":   {HistoryMetaTTL: -time.Second},
		"negative result TTL": {IdempotentResultTTL: -time.Second},
	} {
		if e, err := redisengine.New(cfg); err == nil {
			_ = e.Close(context.Background())
			t.Errorf("%s: New(%+v) succeeded", name, cfg)
		}
	}
}

func TestRun(t *testing.T) {
	s := redistest.Start(t)
	e := newEngine(t, redisengine.Config{URLs: []string{s.URL}})
	if err := e.Subscribe("p", "c"); err == nil {
		t.Error("Subscribe before Run succeeded")
	}
	if err := e.Run(nil); err == nil {
		t.Error("Run(nil) succeeded")
	}
	if err := e.Run(newHandler()); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := e.Run(newHandler()); err == nil {
		t.Error("second Run succeeded")
	}
	if err := e.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := e.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := e.Run(newHandler()); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Run after Close: %v", err)
	}
}

// Close stops every goroutine the engine started. The test is not parallel,
// so no other test's goroutines come and go meanwhile.
func TestCloseStopsGoroutines(t *testing.T) {
	s := redistest.Start(t)
	c := redistest.StartCluster(t, 3)
	before := runtime.NumGoroutine()
	for _, cfg := range []redisengine.Config{
		{URLs: []string{s.URL}},
		{URLs: []string{s.URL, s.URL + "/1"}},
		{URLs: []string{c.URL}, Cluster: true},
	} {
		e := newEngine(t, cfg)
		run(t, e)
		for i := range 20 {
			if err := e.Subscribe("p", strconv.Itoa(i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before, %d after Close:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// handler records what an engine delivers.
type handler struct {
	pubs     chan pubEvent
	joins    chan string
	controls chan string
	lost     atomic.Int64
	lostc    chan struct{}
}

type pubEvent struct {
	project, channel string
	pub              *engine.Publication
	sp               engine.StreamPosition
}

func newHandler() *handler {
	return &handler{
		pubs:     make(chan pubEvent, 1<<14),
		joins:    make(chan string, 1024),
		controls: make(chan string, 1024),
		lostc:    make(chan struct{}, 1024),
	}
}

func (h *handler) HandlePublication(project, channel string, pub *engine.Publication, sp engine.StreamPosition) {
	h.pubs <- pubEvent{project, channel, pub, sp}
}
func (h *handler) HandleJoin(_, _ string, info *engine.ClientInfo) { h.joins <- info.Client }
func (h *handler) HandleLeave(string, string, *engine.ClientInfo)  {}
func (h *handler) HandleControl(data []byte)                       { h.controls <- string(data) }
func (h *handler) HandleLost() {
	h.lost.Add(1)
	h.lostc <- struct{}{}
}

func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func run(t *testing.T, e *redisengine.Engine) *handler {
	t.Helper()
	h := newHandler()
	if err := e.Run(h); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return h
}

// Two engines on one Redis are two nodes of one deployment.
func TestTwoNodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := redistest.Start(t)
	prefix := uniquePrefix()
	a := newEngine(t, redisengine.Config{URLs: []string{s.URL}, Prefix: prefix})
	b := newEngine(t, redisengine.Config{URLs: []string{s.URL}, Prefix: prefix})
	ha, hb := run(t, a), run(t, b)

	if err := b.Subscribe("p", "c"); err != nil {
		t.Fatal(err)
	}
	sp, _, err := a.Publish(ctx, "p", "c", []byte(`{"n":1}`), engine.PublishOptions{HistorySize: 10, HistoryTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ev := receive(t, hb.pubs, "publication on node B")
	if ev.project != "p" || ev.channel != "c" || string(ev.pub.Data) != `{"n":1}` || ev.sp != sp || ev.pub.Offset != 1 {
		t.Fatalf("node B got %+v %q at %+v, want p/c {\"n\":1} at %+v", ev, ev.pub.Data, ev.sp, sp)
	}
	select {
	case ev := <-ha.pubs:
		t.Fatalf("node A, not subscribed, got %+v", ev)
	case <-time.After(100 * time.Millisecond):
	}

	if err := a.PublishJoin(ctx, "p", "c", &engine.ClientInfo{User: "u", Client: "c1"}); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, hb.joins, "join on node B"); got != "c1" {
		t.Fatalf("join of %q, want c1", got)
	}

	if err := b.PublishControl(ctx, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	for name, h := range map[string]*handler{"A": ha, "B": hb} {
		if got := receive(t, h.controls, "control on node "+name); got != "hello" {
			t.Fatalf("node %s got control %q", name, got)
		}
	}

	info := &engine.ClientInfo{User: "u", Client: "c1", ConnInfo: []byte(`{"x":1}`)}
	if err := a.AddPresence(ctx, "p", "c", "c1", info, time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := b.Presence(ctx, "p", "c")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got["c1"] == nil || got["c1"].User != "u" || string(got["c1"].ConnInfo) != `{"x":1}` {
		t.Fatalf("presence on node B: %v", got)
	}
	res, err := b.History(ctx, "p", "c", engine.HistoryOptions{Limit: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Publications) != 1 || res.Position != sp {
		t.Fatalf("history on node B: %d publications at %+v, want 1 at %+v", len(res.Publications), res.Position, sp)
	}
	if ha.lost.Load() != 0 || hb.lost.Load() != 0 {
		t.Fatal("HandleLost called without a connection loss")
	}
}

// A publication without history reaches the publishing node's handler once,
// at once (not through Redis), and the other node's once, through Redis, in
// order on both.
func TestOwnPublicationsHandledOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := redistest.Start(t)
	prefix := uniquePrefix()
	a := newEngine(t, redisengine.Config{URLs: []string{s.URL}, Prefix: prefix})
	b := newEngine(t, redisengine.Config{URLs: []string{s.URL}, Prefix: prefix})
	ha, hb := run(t, a), run(t, b)
	for _, e := range []*redisengine.Engine{a, b} {
		if err := e.Subscribe("p", "c"); err != nil {
			t.Fatal(err)
		}
	}
	const n = 50
	for i := range n {
		if _, _, err := a.Publish(ctx, "p", "c", []byte(strconv.Itoa(i)), engine.PublishOptions{}); err != nil {
			t.Fatal(err)
		}
		// Delivered to node A before Publish returned.
		select {
		case ev := <-ha.pubs:
			if string(ev.pub.Data) != strconv.Itoa(i) {
				t.Fatalf("node A got %s, want %d", ev.pub.Data, i)
			}
		default:
			t.Fatalf("publication %d not handed to node A when Publish returned", i)
		}
	}
	for i := range n {
		if ev := receive(t, hb.pubs, "publication on node B"); string(ev.pub.Data) != strconv.Itoa(i) {
			t.Fatalf("node B got %s, want %d", ev.pub.Data, i)
		}
	}
	// Redis's copies of node A's own publications are not handled again, and
	// a channel node A is not subscribed to is not handled at all.
	if _, _, err := a.Publish(ctx, "p", "elsewhere", []byte(`1`), engine.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := b.PublishJoin(ctx, "p", "c", &engine.ClientInfo{User: "u", Client: "sync"}); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, ha.joins, "join on node A"); got != "sync" {
		t.Fatalf("join %q", got) // everything Redis sent before the join has been handled
	}
	select {
	case ev := <-ha.pubs:
		t.Fatalf("node A handled a publication twice: %s in %s", ev.pub.Data, ev.channel)
	default:
	}
}

// Different prefixes are different deployments.
func TestPrefixIsolation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := redistest.Start(t)
	a := newEngine(t, redisengine.Config{URLs: []string{s.URL}})
	b := newEngine(t, redisengine.Config{URLs: []string{s.URL}})
	_, hb := run(t, a), run(t, b)
	if err := b.Subscribe("p", "c"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Publish(ctx, "p", "c", []byte("x"), engine.PublishOptions{HistorySize: 10, HistoryTTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if err := a.PublishControl(ctx, []byte("x")); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-hb.pubs:
		t.Fatalf("engine with another prefix got %+v", ev)
	case c := <-hb.controls:
		t.Fatalf("engine with another prefix got control %q", c)
	case <-time.After(150 * time.Millisecond):
	}
	res, err := b.History(ctx, "p", "c", engine.HistoryOptions{Limit: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Publications) != 0 {
		t.Fatalf("engine with another prefix sees %d publications", len(res.Publications))
	}
}

// Names with dots and braces cannot make two channels share keys.
func TestNamesDoNotCollide(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := redistest.Start(t)
	e := newEngine(t, redisengine.Config{URLs: []string{s.URL}})
	run(t, e)
	opts := engine.PublishOptions{HistorySize: 10, HistoryTTL: time.Minute}
	pairs := [][2]string{{"a.b", "c"}, {"a", "b.c"}, {"a", "b}.c"}, {"a", "{b"}, {"a%2Eb", "c"}}
	for _, pc := range pairs {
		if _, _, err := e.Publish(ctx, pc[0], pc[1], []byte(pc[0]+"/"+pc[1]), opts); err != nil {
			t.Fatal(err)
		}
	}
	for _, pc := range pairs {
		res, err := e.History(ctx, pc[0], pc[1], engine.HistoryOptions{Limit: -1})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Publications) != 1 || string(res.Publications[0].Data) != pc[0]+"/"+pc[1] {
			t.Fatalf("history of %q/%q: %d publications", pc[0], pc[1], len(res.Publications))
		}
	}
}

// Channels spread over every shard, and each shard has a channel's keys.
func TestShardsShareChannels(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := redistest.Start(t), redistest.Start(t)
	e := newEngine(t, redisengine.Config{URLs: []string{a.URL, b.URL}})
	h := run(t, e)
	const n = 32
	opts := engine.PublishOptions{HistorySize: 10, HistoryTTL: time.Minute}
	for i := range n {
		if err := e.Subscribe("p", strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.Publish(ctx, "p", strconv.Itoa(i), []byte("x"), opts); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		receive(t, h.pubs, "publication")
	}
	for _, s := range []*redistest.Server{a, b} {
		c := redis.NewClient(&redis.Options{Addr: s.Addr})
		keys, err := c.Keys(ctx, "*.stream").Result()
		_ = c.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) == 0 || len(keys) == n {
			t.Fatalf("shard %s holds %d of %d streams", s.Addr, len(keys), n)
		}
	}
}

// In a cluster, subscriptions reach channels on every master.
func TestClusterChannelsOnEveryMaster(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := redistest.StartCluster(t, 3)
	e := newEngine(t, redisengine.Config{URLs: []string{c.URL}, Cluster: true})
	h := run(t, e)
	const n = 30
	for i := range n {
		if err := e.Subscribe("p", strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	opts := engine.PublishOptions{HistorySize: 10, HistoryTTL: time.Minute}
	for i := range n {
		if _, _, err := e.Publish(ctx, "p", strconv.Itoa(i), []byte(strconv.Itoa(i)), opts); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	for range n {
		ev := receive(t, h.pubs, "publication")
		seen[ev.channel] = true
	}
	if len(seen) != n {
		t.Fatalf("publications of %d channels delivered, want %d", len(seen), n)
	}
	// Every master holds some streams.
	for _, addr := range c.Addrs {
		nc := redis.NewClient(&redis.Options{Addr: addr})
		keys, err := nc.Keys(ctx, "*.stream").Result()
		_ = nc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) == 0 {
			t.Fatalf("master %s holds no stream of %d channels", addr, n)
		}
	}
}

// When Redis goes away, commands fail with ErrUnavailable in bounded time;
// when it is back, the engine resubscribes by itself and calls HandleLost.
func TestRedisRestart(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	e := newEngine(t, redisengine.Config{URLs: []string{s.URL}, Timeout: time.Second})
	h := run(t, e)
	opts := engine.PublishOptions{HistorySize: 10, HistoryTTL: time.Minute}
	if err := e.Subscribe("p", "c"); err != nil {
		t.Fatal(err)
	}
	first := publish(t, e, "c", "1", opts)
	receive(t, h.pubs, "publication before the outage")

	s.Stop()
	start := time.Now()
	_, _, err := e.Publish(context.Background(), "p", "c", []byte("lost"), opts)
	if !errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("Publish with Redis down: %v, want an error wrapping engine.ErrUnavailable", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Publish with Redis down took %v", d)
	}
	if _, err := e.History(context.Background(), "p", "c", engine.HistoryOptions{}); !errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("History with Redis down: %v", err)
	}
	if _, err := e.Presence(context.Background(), "p", "c"); !errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("Presence with Redis down: %v", err)
	}
	if err := e.PublishControl(context.Background(), []byte("x")); !errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("PublishControl with Redis down: %v", err)
	}
	// A subscription made while Redis is down is made when it is back.
	if err := e.Subscribe("p", "while-down"); err != nil {
		t.Fatalf("Subscribe with Redis down: %v", err)
	}
	// Reconnection attempts fail for a while.
	time.Sleep(time.Second)
	if h.lost.Load() != 0 {
		t.Fatal("HandleLost called before the connection was re-established")
	}

	s.Restart()
	receive(t, h.lostc, "HandleLost after Redis came back")
	second := publish(t, e, "c", "2", opts)
	ev := receive(t, h.pubs, "publication after the restart")
	if string(ev.pub.Data) != "2" || ev.sp != second {
		t.Fatalf("delivered %q at %+v, want %q at %+v", ev.pub.Data, ev.sp, "2", second)
	}
	// Redis lost everything: the stream starts again in a new epoch.
	if second.Offset != 1 || second.Epoch == first.Epoch {
		t.Fatalf("position after the restart %+v, want offset 1 in an epoch other than %q", second, first.Epoch)
	}
	publish(t, e, "while-down", "3", opts)
	if ev := receive(t, h.pubs, "publication in the channel subscribed while down"); ev.channel != "while-down" {
		t.Fatalf("delivered in %q", ev.channel)
	}
	if err := e.PublishControl(context.Background(), []byte("back")); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, h.controls, "control after the restart"); got != "back" {
		t.Fatalf("control %q", got)
	}
	if n := h.lost.Load(); n != 1 {
		t.Fatalf("HandleLost called %d times, want 1", n)
	}
}

// A Redis that hangs (accepts connections, answers nothing) is detected by
// timeouts and pings; when it answers again, HandleLost is called.
func TestRedisHangs(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	const timeout = 300 * time.Millisecond
	e := newEngine(t, redisengine.Config{URLs: []string{s.URL}, Timeout: timeout})
	h := run(t, e)
	opts := engine.PublishOptions{HistorySize: 10, HistoryTTL: time.Minute}
	if err := e.Subscribe("p", "c"); err != nil {
		t.Fatal(err)
	}

	s.Pause()
	start := time.Now()
	_, _, err := e.Publish(context.Background(), "p", "c", []byte("lost"), opts)
	if !errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("Publish to a hung Redis: %v, want an error wrapping engine.ErrUnavailable", err)
	}
	if d := time.Since(start); d > 3*timeout {
		t.Fatalf("Publish to a hung Redis took %v with Timeout %v", d, timeout)
	}
	// The PUB/SUB connection is found dead after three Timeouts of silence.
	time.Sleep(5 * timeout)
	s.Resume()
	receive(t, h.lostc, "HandleLost after Redis answered again")
	// The publication that timed out may or may not have been applied by
	// Redis when it resumed: skip what it delivers.
	sp := publish(t, e, "c", "after", opts)
	for {
		ev := receive(t, h.pubs, "publication after the hang")
		if string(ev.pub.Data) == "after" {
			if ev.sp != sp {
				t.Fatalf("delivered at %+v, want %+v", ev.sp, sp)
			}
			break
		}
	}
}

func publish(t *testing.T, e *redisengine.Engine, channel, data string, opts engine.PublishOptions) engine.StreamPosition {
	t.Helper()
	sp, _, err := e.Publish(context.Background(), "p", channel, []byte(data), opts)
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	return sp
}

// An error reply that is not about availability is not ErrUnavailable.
func TestErrorReply(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := redistest.Start(t)
	prefix := uniquePrefix()
	e := newEngine(t, redisengine.Config{URLs: []string{s.URL}, Prefix: prefix})
	run(t, e)
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	defer c.Close()
	if err := c.Set(ctx, prefix+".p.c.meta", "not a hash", 0).Err(); err != nil {
		t.Fatal(err)
	}
	_, _, err := e.Publish(ctx, "p", "c", []byte("x"), engine.PublishOptions{HistorySize: 1, HistoryTTL: time.Minute})
	if err == nil || errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("Publish over a meta key of the wrong type: %v, want an error other than ErrUnavailable", err)
	}
}

// A context that ends makes commands return.
func TestContext(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	e := newEngine(t, redisengine.Config{URLs: []string{s.URL}})
	run(t, e)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := e.Publish(ctx, "p", "c", nil, engine.PublishOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Publish with a canceled context: %v", err)
	}
}

// Each publication expires HistoryTTL after it was published, not when the
// stream was last written.
func TestPublicationsExpireIndividually(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := redistest.Start(t)
	e := newEngine(t, redisengine.Config{URLs: []string{s.URL}})
	run(t, e)
	if _, _, err := e.Publish(ctx, "p", "c", []byte("short"), engine.PublishOptions{HistorySize: 10, HistoryTTL: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Publish(ctx, "p", "c", []byte("long"), engine.PublishOptions{HistorySize: 10, HistoryTTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, err := e.History(ctx, "p", "c", engine.HistoryOptions{Limit: -1})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Publications) == 1 {
			if res.Publications[0].Offset != 2 || res.Position.Offset != 2 {
				t.Fatalf("kept offset %d, position %+v; want 2", res.Publications[0].Offset, res.Position)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("first publication did not expire: %d publications", len(res.Publications))
		}
		time.Sleep(20 * time.Millisecond)
	}
	// With expired publications in front, a limit still counts live ones.
	for i := range 3 {
		if _, _, err := e.Publish(ctx, "p", "c", []byte(strconv.Itoa(i)), engine.PublishOptions{HistorySize: 10, HistoryTTL: time.Minute}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := e.History(ctx, "p", "c", engine.HistoryOptions{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Publications) != 2 || res.Publications[0].Offset != 2 || res.Publications[1].Offset != 3 {
		t.Fatalf("history with limit 2: %d publications", len(res.Publications))
	}
}

// An entry added with expire 0 lives PresenceTTL.
func TestPresenceTTL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := redistest.Start(t)
	e := newEngine(t, redisengine.Config{URLs: []string{s.URL}, PresenceTTL: 200 * time.Millisecond})
	run(t, e)
	if err := e.AddPresence(ctx, "p", "c", "c1", nil, 0); err != nil {
		t.Fatal(err)
	}
	got, err := e.Presence(ctx, "p", "c")
	if err != nil {
		t.Fatal(err)
	}
	if info := got["c1"]; info == nil || info.Client != "c1" {
		t.Fatalf("presence %v, want c1 with a default info", got)
	}
	time.Sleep(300 * time.Millisecond)
	if got, err := e.Presence(ctx, "p", "c"); err != nil || len(got) != 0 {
		t.Fatalf("presence after PresenceTTL: %v %v", got, err)
	}
}

// A handler may call the engine, even publish to the channel it handles.
func TestHandlerMayCallEngine(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := redistest.Start(t)
	e := newEngine(t, redisengine.Config{URLs: []string{s.URL}})
	var mu sync.Mutex
	var order []string
	done := make(chan struct{})
	h := &callbackHandler{onPub: func(pub *engine.Publication) {
		mu.Lock()
		order = append(order, string(pub.Data))
		mu.Unlock()
		switch string(pub.Data) {
		case "outer":
			if _, _, err := e.Publish(ctx, "p", "c", []byte("inner"), engine.PublishOptions{}); err != nil {
				t.Errorf("nested Publish: %v", err)
			}
			if err := e.Subscribe("p", "other"); err != nil {
				t.Errorf("nested Subscribe: %v", err)
			}
		case "inner":
			close(done)
		}
	}}
	if err := e.Run(h); err != nil {
		t.Fatal(err)
	}
	if err := e.Subscribe("p", "c"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Publish(ctx, "p", "c", []byte("outer"), engine.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("nested publication not delivered")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(order) != 2 || order[0] != "outer" || order[1] != "inner" {
		t.Fatalf("order %q", order)
	}
}

type callbackHandler struct {
	onPub func(*engine.Publication)
}

func (h *callbackHandler) HandlePublication(_, _ string, pub *engine.Publication, _ engine.StreamPosition) {
	h.onPub(pub)
}
func (h *callbackHandler) HandleJoin(string, string, *engine.ClientInfo)  {}
func (h *callbackHandler) HandleLeave(string, string, *engine.ClientInfo) {}
func (h *callbackHandler) HandleControl([]byte)                           {}
func (h *callbackHandler) HandleLost()                                    {}

// countingHandler counts publications and signals every n-th.
type countingHandler struct {
	n     atomic.Int64
	every int64
	tick  chan struct{}
}

func (h *countingHandler) HandlePublication(string, string, *engine.Publication, engine.StreamPosition) {
	if h.n.Add(1)%h.every == 0 {
		h.tick <- struct{}{}
	}
}
func (h *countingHandler) HandleJoin(string, string, *engine.ClientInfo)  {}
func (h *countingHandler) HandleLeave(string, string, *engine.ClientInfo) {}
func (h *countingHandler) HandleControl([]byte)                           {}
func (h *countingHandler) HandleLost()                                    {}

// benchEngine runs an engine on a Redis of its own with a counting handler.
func benchEngine(b *testing.B) (*redisengine.Engine, *countingHandler) {
	s := redistest.Start(b)
	e := newEngine(b, redisengine.Config{URLs: []string{s.URL}})
	h := &countingHandler{every: 1, tick: make(chan struct{}, 1<<20)}
	if err := e.Run(h); err != nil {
		b.Fatal(err)
	}
	return e, h
}

// BenchmarkPublish publishes with history to a channel with a subscribed
// handler, and waits for the last delivery (compare with memengine's).
func BenchmarkPublish(b *testing.B) {
	ctx := context.Background()
	e, h := benchEngine(b)
	if err := e.Subscribe("p", "c"); err != nil {
		b.Fatal(err)
	}
	data := []byte(`{"text":"hello, world"}`)
	opts := engine.PublishOptions{HistorySize: 100, HistoryTTL: time.Minute}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if _, _, err := e.Publish(ctx, "p", "c", data, opts); err != nil {
			b.Fatal(err)
		}
		n++
	}
	for range n {
		<-h.tick
	}
}

// BenchmarkPublishParallel publishes with history to many subscribed
// channels from parallel goroutines.
func BenchmarkPublishParallel(b *testing.B) {
	ctx := context.Background()
	e, h := benchEngine(b)
	const channels = 1024
	names := make([]string, channels)
	for i := range names {
		names[i] = "c" + strconv.Itoa(i)
		if err := e.Subscribe("p", names[i]); err != nil {
			b.Fatal(err)
		}
	}
	data := []byte(`{"text":"hello, world"}`)
	opts := engine.PublishOptions{HistorySize: 100, HistoryTTL: time.Minute}
	var seq, published atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := int(seq.Add(1))
		for pb.Next() {
			i++
			if _, _, err := e.Publish(ctx, "p", names[i%channels], data, opts); err != nil {
				b.Error(err)
				return
			}
			published.Add(1)
		}
	})
	for range published.Load() {
		<-h.tick
	}
}

// BenchmarkHistory reads a channel's 100 publications.
func BenchmarkHistory(b *testing.B) {
	ctx := context.Background()
	e, _ := benchEngine(b)
	opts := engine.PublishOptions{HistorySize: 100, HistoryTTL: time.Minute}
	for i := range 100 {
		if _, _, err := e.Publish(ctx, "p", "c", []byte(`{"n":`+strconv.Itoa(i)+`}`), opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		res, err := e.History(ctx, "p", "c", engine.HistoryOptions{Limit: -1})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Publications) != 100 {
			b.Fatalf("%d publications", len(res.Publications))
		}
	}
}
