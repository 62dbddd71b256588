package redisengine_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/engine/redisengine"
	"github.com/centrifugehq/centrifuge/server/internal/redistest"
)

// A broadcast to many channels reaches, on every node, each channel the node
// is subscribed to once and no other, in the order of the publications of
// that channel whichever way they were published (one by one or broadcast),
// on one Redis, on shards and on a cluster. (The publishing node hands its
// own publications over at once, so only the order of one node's
// publications is the same everywhere.)
func TestBroadcastAcrossNodes(t *testing.T) {
	t.Parallel()
	for name, urls := range map[string]func(t *testing.T) redisengine.Config{
		"single": func(t *testing.T) redisengine.Config {
			return redisengine.Config{URLs: []string{redistest.Start(t).URL}}
		},
		"sharded": func(t *testing.T) redisengine.Config {
			return redisengine.Config{URLs: []string{redistest.Start(t).URL, redistest.Start(t).URL}}
		},
		"cluster": func(t *testing.T) redisengine.Config {
			return redisengine.Config{URLs: []string{redistest.StartCluster(t, 3).URL}, Cluster: true}
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := urls(t)
			cfg.Prefix = uniquePrefix()
			testBroadcastAcrossNodes(t, cfg)
		})
	}
}

func testBroadcastAcrossNodes(t *testing.T, cfg redisengine.Config) {
	ctx := context.Background()
	a := newEngine(t, cfg)
	cfg.Workers = 3 // the broadcast's channels are split between workers
	b := newEngine(t, cfg)
	ha, hb := run(t, a), run(t, b)

	// More channels than one message takes; names that need escaping.
	const n = 5000
	channels := make([]string, n)
	for i := range channels {
		channels[i] = fmt.Sprintf("user#%d", i)
	}
	channels[1], channels[2], channels[3] = "a.b{c}%d", "x%2Ey", "}{"
	var onA, onB []string
	for i, ch := range channels {
		if i%3 == 0 {
			onA = append(onA, ch)
		}
		if i%4 != 0 {
			onB = append(onB, ch)
		}
	}
	for _, sub := range []struct {
		e   *redisengine.Engine
		chs []string
	}{{a, onA}, {b, onB}} {
		for _, ch := range sub.chs {
			if err := sub.e.Subscribe("p", ch); err != nil {
				t.Fatal(err)
			}
		}
	}
	// channels[3] is on both nodes: its publications interleave.
	one := channels[3]
	for k, step := range []func() []error{
		func() []error {
			return []error{publishErr(a.Publish(ctx, "p", one, []byte("0"), engine.PublishOptions{}))}
		},
		func() []error {
			return a.PublishMany(ctx, "p", channels, []byte("1"), engine.PublishOptions{Tags: map[string]string{"k": "v"}})
		},
		func() []error {
			return []error{publishErr(a.Publish(ctx, "p", one, []byte("2"), engine.PublishOptions{}))}
		},
		func() []error { return a.PublishMany(ctx, "p", channels, []byte("3"), engine.PublishOptions{}) },
		func() []error {
			return []error{publishErr(a.Publish(ctx, "p", one, []byte("4"), engine.PublishOptions{}))}
		},
	} {
		for _, err := range step() {
			if err != nil {
				t.Fatalf("step %d: %v", k, err)
			}
		}
	}
	for node, c := range map[string]struct {
		h   *handler
		chs []string
	}{"A": {ha, onA}, "B": {hb, onB}} {
		got := map[string][]string{}
		want := 2 * len(c.chs)
		if slices.Contains(c.chs, one) {
			want += 3
		}
		for range want {
			ev := receive(t, c.h.pubs, "publication on node "+node)
			if ev.project != "p" || ev.sp != (engine.StreamPosition{}) || ev.pub.Offset != 0 {
				t.Fatalf("node %s: %+v", node, ev)
			}
			if string(ev.pub.Data) == "1" && ev.pub.Tags["k"] != "v" {
				t.Fatalf("node %s: tags %v", node, ev.pub.Tags)
			}
			got[ev.channel] = append(got[ev.channel], string(ev.pub.Data))
		}
		for _, ch := range c.chs {
			want := []string{"1", "3"}
			if ch == one {
				want = []string{"0", "1", "2", "3", "4"}
			}
			if !slices.Equal(got[ch], want) {
				t.Fatalf("node %s channel %q got %v, want %v", node, ch, got[ch], want)
			}
		}
		if len(got) != len(c.chs) {
			t.Fatalf("node %s got publications of %d channels, subscribed to %d", node, len(got), len(c.chs))
		}
	}

	// Unsubscribed channels get nothing more; the others still do.
	if err := b.Unsubscribe("p", onB[0]); err != nil {
		t.Fatal(err)
	}
	for _, err := range a.PublishMany(ctx, "p", onB[:20], []byte("5"), engine.PublishOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	gotB := map[string]int{}
	for range onB[1:20] {
		ev := receive(t, hb.pubs, "publication on node B")
		if string(ev.pub.Data) != "5" || !slices.Contains(onB[1:20], ev.channel) {
			t.Fatalf("node B got %s in %q", ev.pub.Data, ev.channel)
		}
		gotB[ev.channel]++
	}
	if len(gotB) != 19 {
		t.Fatalf("node B: deliveries per channel %v, want one to each of 19", gotB)
	}
	// Node A's own subscribers got theirs before PublishMany returned.
	gotA := map[string]int{}
	for _, ch := range onB[:20] {
		if !slices.Contains(onA, ch) {
			continue
		}
		select {
		case ev := <-ha.pubs:
			if !slices.Contains(onA, ev.channel) || string(ev.pub.Data) != "5" {
				t.Fatalf("node A got %s in %q", ev.pub.Data, ev.channel)
			}
			gotA[ev.channel]++
		default:
			t.Fatalf("node A: publication to %q not handed over when PublishMany returned", ch)
		}
	}
	for ch, k := range gotA {
		if k != 1 {
			t.Fatalf("node A: %d deliveries in %q", k, ch)
		}
	}
	// A join published after the broadcast arrives after it: nothing of the
	// broadcast is left to come.
	if err := b.PublishJoin(ctx, "p", one, &engine.ClientInfo{Client: "sync"}); err != nil {
		t.Fatal(err)
	}
	for node, h := range map[string]*handler{"A": ha, "B": hb} {
		receive(t, h.joins, "join on node "+node)
		select {
		case ev := <-h.pubs:
			t.Fatalf("node %s: unexpected %s in %q", node, ev.pub.Data, ev.channel)
		case <-time.After(50 * time.Millisecond):
		}
	}
	if ha.lost.Load() != 0 || hb.lost.Load() != 0 {
		t.Fatal("HandleLost called without a connection loss")
	}
}

// After a Redis restart, a node resubscribes the broadcast channel with its
// channels: broadcasts from another node reach it again.
func TestBroadcastAfterRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := redistest.Start(t)
	cfg := redisengine.Config{URLs: []string{s.URL}, Prefix: uniquePrefix(), Timeout: time.Second}
	a, b := newEngine(t, cfg), newEngine(t, cfg)
	run(t, a)
	hb := run(t, b)
	channels := make([]string, 20)
	for i := range channels {
		channels[i] = "c" + strconv.Itoa(i)
	}
	if err := b.Subscribe("p", channels[7]); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	time.Sleep(500 * time.Millisecond)
	s.Restart()
	receive(t, hb.lostc, "HandleLost on node B")
	deadline := time.Now().Add(5 * time.Second)
	for {
		// Node A's command connections may fail for a moment after the restart.
		if errs := a.PublishMany(ctx, "p", channels, []byte("x"), engine.PublishOptions{}); errs[0] == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatal(errs[0])
		}
		time.Sleep(50 * time.Millisecond)
	}
	if ev := receive(t, hb.pubs, "broadcast on node B"); ev.channel != channels[7] || string(ev.pub.Data) != "x" {
		t.Fatalf("node B got %s in %q", ev.pub.Data, ev.channel)
	}
}

func publishErr(_ engine.StreamPosition, _ bool, err error) error { return err }

// BenchmarkBroadcastToOtherNode broadcasts to 10,000 channels from one node
// and waits until another node, subscribed to some of them, has handled its
// share: what a broadcast costs end to end when the publishing node is not
// the receiving one (a broadcast message reaches every node, whatever share
// of its channels each has).
func BenchmarkBroadcastToOtherNode(b *testing.B) {
	const n = 10000
	channels := make([]string, n)
	for i := range channels {
		channels[i] = "user#" + strconv.Itoa(i)
	}
	data := []byte(`{"text":"hello, world"}`)
	for _, subscribed := range []int{n, n / 10, n / 100} {
		b.Run(fmt.Sprintf("subscribed=%d", subscribed), func(b *testing.B) {
			ctx := context.Background()
			s := redistest.Start(b)
			cfg := redisengine.Config{URLs: []string{s.URL}, Prefix: uniquePrefix()}
			a, r := newEngine(b, cfg), newEngine(b, cfg)
			if err := a.Run(&countingHandler{every: 1 << 62}); err != nil {
				b.Fatal(err)
			}
			h := &countingHandler{every: int64(subscribed), tick: make(chan struct{}, 1)}
			if err := r.Run(h); err != nil {
				b.Fatal(err)
			}
			for i := 0; i < n; i += n / subscribed {
				if err := r.Subscribe("p", channels[i]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				for _, err := range a.PublishMany(ctx, "p", channels, data, engine.PublishOptions{}) {
					if err != nil {
						b.Fatal(err)
					}
				}
				<-h.tick
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/channel")
		})
	}
}
