package enginetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/engine"
)

func testName(f *fixture) {
	if f.e.Name() == "" {
		f.t.Fatal("Name() is empty")
	}
}

func testPublishDeliversInOrder(f *fixture) {
	p, ch := f.name("p"), f.name("c")
	f.subscribe(p, ch)

	const n = 10
	var epoch string
	for i := 1; i <= n; i++ {
		sp := f.publish(p, ch, strconv.Itoa(i), history)
		if i == 1 {
			epoch = sp.Epoch
			if epoch == "" {
				f.t.Fatal("publication saved to history returned an empty epoch")
			}
		}
		if want := (engine.StreamPosition{Offset: uint64(i), Epoch: epoch}); sp != want {
			f.t.Fatalf("publish %d: position %+v, want %+v", i, sp, want)
		}
	}
	for i := 1; i <= n; i++ {
		ev := f.nextPub(p, ch)
		if ev.pub.Offset != uint64(i) || string(ev.pub.Data) != strconv.Itoa(i) {
			f.t.Fatalf("delivery %d: offset %d data %q, want offset %d data %q", i, ev.pub.Offset, ev.pub.Data, i, strconv.Itoa(i))
		}
		if want := (engine.StreamPosition{Offset: uint64(i), Epoch: epoch}); ev.sp != want {
			f.t.Fatalf("delivery %d: position %+v, want %+v", i, ev.sp, want)
		}
	}
	quiet(f, f.rec.pubs, "extra publication")
}

func testNoDeliveryAfterUnsubscribe(f *fixture) {
	p, ch, other := f.name("p"), f.name("c"), f.name("other")
	f.subscribe(p, ch)
	f.subscribe(p, other)

	f.publish(p, ch, "before", history)
	if ev := f.nextPub(p, ch); string(ev.pub.Data) != "before" {
		f.t.Fatalf("got %q, want %q", ev.pub.Data, "before")
	}
	if err := f.e.Unsubscribe(p, ch); err != nil {
		f.t.Fatalf("Unsubscribe: %v", err)
	}
	if sp := f.publish(p, ch, "after", history); sp.Offset != 2 {
		f.t.Fatalf("publish after unsubscribe: offset %d, want 2 (history is still written)", sp.Offset)
	}
	// A publication in a still subscribed channel shows deliveries go on.
	f.publish(p, other, "sentinel", history)
	if ev := f.nextPub(p, other); string(ev.pub.Data) != "sentinel" {
		f.t.Fatalf("got %q, want %q", ev.pub.Data, "sentinel")
	}
	quiet(f, f.rec.pubs, "publication after Unsubscribe")
}

func testPublishWithoutSubscriberWritesHistory(f *fixture) {
	p, ch := f.name("p"), f.name("c")
	for i := 1; i <= 3; i++ {
		f.publish(p, ch, strconv.Itoa(i), history)
	}
	res := f.history(p, ch, engine.HistoryOptions{Limit: -1})
	if got, want := offsets(res.Publications), seq(1, 3, 1); !slices.Equal(got, want) {
		f.t.Fatalf("history offsets %v, want %v", got, want)
	}
	if res.Position.Offset != 3 {
		f.t.Fatalf("position offset %d, want 3", res.Position.Offset)
	}
	quiet(f, f.rec.pubs, "publication in a channel nobody subscribed to")
}

func testPublishWithoutHistory(f *fixture) {
	p, ch := f.name("p"), f.name("c")
	f.subscribe(p, ch)

	for _, opts := range []engine.PublishOptions{
		{},
		{HistorySize: 10},
		{HistoryTTL: time.Minute},
	} {
		sp := f.publish(p, ch, "x", opts)
		if sp != (engine.StreamPosition{}) {
			f.t.Fatalf("publish with %+v: position %+v, want zero", opts, sp)
		}
		ev := f.nextPub(p, ch)
		if ev.pub.Offset != 0 || ev.sp != (engine.StreamPosition{}) {
			f.t.Fatalf("publish with %+v: delivered offset %d position %+v, want zero", opts, ev.pub.Offset, ev.sp)
		}
	}
	res := f.history(p, ch, engine.HistoryOptions{Limit: -1})
	if len(res.Publications) != 0 || res.Position.Offset != 0 {
		f.t.Fatalf("history after publishing without history: %d publications, offset %d; want none, 0",
			len(res.Publications), res.Position.Offset)
	}
	// Publications without history do not use up offsets.
	if sp := f.publish(p, ch, "y", history); sp.Offset != 1 || sp.Epoch != res.Position.Epoch {
		f.t.Fatalf("first publication with history: %+v, want offset 1 epoch %q", sp, res.Position.Epoch)
	}
}

// testPublishMany: an engine.ManyPublisher delivers one publication to each
// subscribed channel, none to the others, and keeps nothing in history.
func testPublishMany(f *fixture) {
	mp, ok := f.e.(engine.ManyPublisher)
	if !ok {
		return // optional: the hub publishes one by one
	}
	p := f.name("p")
	subscribed := []string{f.name("a"), f.name("b"), f.name("c")}
	for _, ch := range subscribed {
		f.subscribe(p, ch)
	}
	channels := append(slices.Clone(subscribed), f.name("nobody"))
	tags := map[string]string{"k": "v"}
	errs := mp.PublishMany(f.ctx(), p, channels, []byte(`{"many":1}`), engine.PublishOptions{Tags: tags})
	if len(errs) != len(channels) {
		f.t.Fatalf("%d results for %d channels", len(errs), len(channels))
	}
	for i, err := range errs {
		if err != nil {
			f.t.Fatalf("channel %s: %v", channels[i], err)
		}
	}
	got := map[string]int{}
	for range subscribed {
		ev := next(f, f.rec.pubs, "publication")
		if ev.project != p || string(ev.pub.Data) != `{"many":1}` || ev.pub.Tags["k"] != "v" || ev.pub.Offset != 0 {
			f.t.Fatalf("delivered %s/%s %s tags %v offset %d", ev.project, ev.channel, ev.pub.Data, ev.pub.Tags, ev.pub.Offset)
		}
		got[ev.channel]++
	}
	for _, ch := range subscribed {
		if got[ch] != 1 {
			f.t.Fatalf("deliveries per channel %v, want one to each of %v", got, subscribed)
		}
	}
	quiet(f, f.rec.pubs, "publication")
	if res := f.history(p, subscribed[0], engine.HistoryOptions{Limit: -1}); len(res.Publications) != 0 {
		f.t.Fatalf("history kept %d publications", len(res.Publications))
	}
}

func testPublicationFields(f *fixture) {
	p, ch := f.name("p"), f.name("c")
	f.subscribe(p, ch)
	info := &engine.ClientInfo{User: "42", Client: "c1", ConnInfo: []byte(`{"a":1}`), ChanInfo: []byte(`{"b":2}`)}
	tags := map[string]string{"k": "v", "x": "y"}
	opts := history
	opts.ClientInfo = info
	opts.Tags = tags
	f.publish(p, ch, `{"text":"hi"}`, opts)

	check := func(where string, pub *engine.Publication) {
		f.t.Helper()
		if string(pub.Data) != `{"text":"hi"}` || pub.Offset != 1 {
			f.t.Fatalf("%s: data %q offset %d", where, pub.Data, pub.Offset)
		}
		if !equalInfo(pub.Info, info) {
			f.t.Fatalf("%s: info %s, want %s", where, infoString(pub.Info), infoString(info))
		}
		if !maps.Equal(pub.Tags, tags) {
			f.t.Fatalf("%s: tags %v, want %v", where, pub.Tags, tags)
		}
	}
	check("delivered", f.nextPub(p, ch).pub)
	res := f.history(p, ch, engine.HistoryOptions{Limit: -1})
	if len(res.Publications) != 1 {
		f.t.Fatalf("history has %d publications, want 1", len(res.Publications))
	}
	check("history", res.Publications[0])
}

func testProjectIsolation(f *fixture) {
	pa, pb, ch := f.name("pa"), f.name("pb"), f.name("c")
	f.subscribe(pa, ch)

	f.publish(pb, ch, "b1", history)
	f.publish(pb, ch, "b2", history)
	if sp := f.publish(pa, ch, "a1", history); sp.Offset != 1 {
		f.t.Fatalf("first publication in project A: offset %d, want 1", sp.Offset)
	}
	ev := f.nextPub(pa, ch)
	if string(ev.pub.Data) != "a1" {
		f.t.Fatalf("delivered %q, want %q", ev.pub.Data, "a1")
	}
	quiet(f, f.rec.pubs, "publication of a project this node did not subscribe to")

	ha := f.history(pa, ch, engine.HistoryOptions{Limit: -1})
	hb := f.history(pb, ch, engine.HistoryOptions{Limit: -1})
	if len(ha.Publications) != 1 || string(ha.Publications[0].Data) != "a1" || ha.Position.Offset != 1 {
		f.t.Fatalf("project A history: %d publications, offset %d", len(ha.Publications), ha.Position.Offset)
	}
	if len(hb.Publications) != 2 || hb.Position.Offset != 2 {
		f.t.Fatalf("project B history: %d publications, offset %d", len(hb.Publications), hb.Position.Offset)
	}

	f.addPresence(pa, ch, &engine.ClientInfo{User: "u", Client: "c1"}, time.Minute)
	if got := f.presence(pb, ch); len(got) != 0 {
		f.t.Fatalf("project B presence: %v, want empty", got)
	}
	if got := f.presenceStats(pb, ch); got != (engine.PresenceStats{}) {
		f.t.Fatalf("project B presence stats: %+v, want zero", got)
	}
	if got := f.presence(pa, ch); len(got) != 1 {
		f.t.Fatalf("project A presence has %d entries, want 1", len(got))
	}

	// Join and leave are scoped too.
	info := &engine.ClientInfo{User: "u", Client: "c2"}
	if err := f.e.PublishJoin(f.ctx(), pb, ch, info); err != nil {
		f.t.Fatalf("PublishJoin: %v", err)
	}
	quiet(f, f.rec.joins, "join of a project this node did not subscribe to")
}

func testHistorySizeTrim(f *fixture) {
	p, ch := f.name("p"), f.name("c")
	opts := engine.PublishOptions{HistorySize: 3, HistoryTTL: time.Minute}
	for i := 1; i <= 5; i++ {
		f.publish(p, ch, strconv.Itoa(i), opts)
	}
	res := f.history(p, ch, engine.HistoryOptions{Limit: -1})
	if got, want := offsets(res.Publications), seq(3, 3, 1); !slices.Equal(got, want) {
		f.t.Fatalf("history offsets %v, want %v", got, want)
	}
	if res.Position.Offset != 5 {
		f.t.Fatalf("position offset %d, want 5", res.Position.Offset)
	}
}

func testHistoryTTL(f *fixture) {
	p, ch := f.name("p"), f.name("c")
	opts := engine.PublishOptions{HistorySize: 10, HistoryTTL: 300 * time.Millisecond}
	var sp engine.StreamPosition
	for i := 1; i <= 3; i++ {
		sp = f.publish(p, ch, strconv.Itoa(i), opts)
	}
	if res := f.history(p, ch, engine.HistoryOptions{Limit: -1}); len(res.Publications) != 3 {
		f.t.Fatalf("history right after publishing has %d publications, want 3", len(res.Publications))
	}
	f.eventually("publications to expire", func() (bool, string) {
		res := f.history(p, ch, engine.HistoryOptions{Limit: -1})
		return len(res.Publications) == 0, fmt.Sprintf("offsets %v", offsets(res.Publications))
	})
	// The stream itself lives on (the meta TTL is the engine's long default).
	if res := f.history(p, ch, engine.HistoryOptions{Limit: -1}); res.Position != sp {
		f.t.Fatalf("position after publications expired: %+v, want %+v", res.Position, sp)
	}
}

// testPublicationsExpireIndividually: each publication expires HistoryTTL
// after it was published, not when the stream was last written.
func testPublicationsExpireIndividually(f *fixture) {
	p, ch := f.name("p"), f.name("c")
	f.publish(p, ch, `"short"`, engine.PublishOptions{HistorySize: 10, HistoryTTL: 100 * time.Millisecond})
	f.publish(p, ch, `"long"`, engine.PublishOptions{HistorySize: 10, HistoryTTL: time.Minute})
	f.eventually("the first publication to expire alone", func() (bool, string) {
		res := f.history(p, ch, engine.HistoryOptions{Limit: -1})
		ok := len(res.Publications) == 1 && res.Publications[0].Offset == 2 && res.Position.Offset == 2
		return ok, fmt.Sprintf("offsets %v, position %+v", offsets(res.Publications), res.Position)
	})
}

func testHistoryQuery(f *fixture) {
	p, ch := f.name("p"), f.name("c")
	const n = 10
	var top engine.StreamPosition
	for i := 1; i <= n; i++ {
		top = f.publish(p, ch, strconv.Itoa(i), history)
	}
	epoch := top.Epoch
	since := func(offset uint64, epoch string) *engine.StreamPosition {
		return &engine.StreamPosition{Offset: offset, Epoch: epoch}
	}

	cases := []struct {
		name string
		opts engine.HistoryOptions
		want []uint64
	}{
		{"limit 0 gives only the position", engine.HistoryOptions{Limit: 0}, nil},
		{"limit -1 gives all", engine.HistoryOptions{Limit: -1}, seq(1, 10, 1)},
		{"limit 3 gives the first 3", engine.HistoryOptions{Limit: 3}, seq(1, 3, 1)},
		{"limit above size gives all", engine.HistoryOptions{Limit: 100}, seq(1, 10, 1)},
		{"reverse limit -1", engine.HistoryOptions{Limit: -1, Reverse: true}, seq(10, 10, -1)},
		{"reverse limit 3 gives the newest 3", engine.HistoryOptions{Limit: 3, Reverse: true}, seq(10, 3, -1)},
		{"since 5", engine.HistoryOptions{Since: since(5, epoch), Limit: -1}, seq(6, 5, 1)},
		{"since 5 limit 2", engine.HistoryOptions{Since: since(5, epoch), Limit: 2}, seq(6, 2, 1)},
		{"since 5 limit 2 reverse pages backwards", engine.HistoryOptions{Since: since(5, epoch), Limit: 2, Reverse: true}, seq(4, 2, -1)},
		{"since 5 reverse", engine.HistoryOptions{Since: since(5, epoch), Limit: -1, Reverse: true}, seq(4, 4, -1)},
		{"since 1 reverse", engine.HistoryOptions{Since: since(1, epoch), Limit: -1, Reverse: true}, nil},
		{"since beyond top reverse", engine.HistoryOptions{Since: since(50, epoch), Limit: 3, Reverse: true}, seq(10, 3, -1)},
		{"since 5 limit 0", engine.HistoryOptions{Since: since(5, epoch), Limit: 0}, nil},
		{"since 5 without epoch", engine.HistoryOptions{Since: since(5, ""), Limit: -1}, seq(6, 5, 1)},
		{"since 0", engine.HistoryOptions{Since: since(0, epoch), Limit: -1}, seq(1, 10, 1)},
		{"since top", engine.HistoryOptions{Since: since(10, epoch), Limit: -1}, nil},
		{"since beyond top", engine.HistoryOptions{Since: since(50, epoch), Limit: -1}, nil},
		{"since with another epoch", engine.HistoryOptions{Since: since(5, "not-"+epoch), Limit: -1}, nil},
		{"since 0 with another epoch", engine.HistoryOptions{Since: since(0, "not-"+epoch), Limit: -1, Reverse: true}, nil},
	}
	for _, tc := range cases {
		res := f.history(p, ch, tc.opts)
		if got := offsets(res.Publications); !slices.Equal(got, tc.want) {
			f.t.Errorf("%s: offsets %v, want %v", tc.name, got, tc.want)
		}
		for _, pub := range res.Publications {
			if string(pub.Data) != strconv.FormatUint(pub.Offset, 10) {
				f.t.Errorf("%s: publication %d has data %q", tc.name, pub.Offset, pub.Data)
			}
		}
		if res.Position != top {
			f.t.Errorf("%s: position %+v, want %+v", tc.name, res.Position, top)
		}
	}
}

func testHistoryCreatesStream(f *fixture) {
	p, ch := f.name("p"), f.name("c")
	res := f.history(p, ch, engine.HistoryOptions{Limit: -1})
	if len(res.Publications) != 0 || res.Position.Offset != 0 || res.Position.Epoch == "" {
		f.t.Fatalf("history of a new channel: %d publications, position %+v; want none, offset 0 and an epoch",
			len(res.Publications), res.Position)
	}
	epoch := res.Position.Epoch
	if again := f.history(p, ch, engine.HistoryOptions{}); again.Position != res.Position {
		f.t.Fatalf("second history: position %+v, want %+v", again.Position, res.Position)
	}
	if sp := f.publish(p, ch, "1", history); sp != (engine.StreamPosition{Offset: 1, Epoch: epoch}) {
		f.t.Fatalf("first publication: %+v, want offset 1 and the epoch history returned (%q)", sp, epoch)
	}
}

func testEpochChangesAfterMetaTTL(f *fixture) {
	p, ch := f.name("p"), f.name("c")
	const metaTTL = 300 * time.Millisecond
	opts := engine.PublishOptions{HistorySize: 10, HistoryTTL: 200 * time.Millisecond, HistoryMetaTTL: metaTTL}
	first := f.publish(p, ch, "1", opts)
	second := f.publish(p, ch, "2", opts)
	if first.Epoch == "" || second.Epoch != first.Epoch || second.Offset != 2 {
		f.t.Fatalf("positions %+v then %+v: want offsets 1, 2 in one epoch", first, second)
	}
	old := first.Epoch

	var lost engine.HistoryResult
	f.eventually("the stream to be lost", func() (bool, string) {
		lost = f.history(p, ch, engine.HistoryOptions{Limit: -1, MetaTTL: metaTTL})
		return lost.Position.Epoch != old, fmt.Sprintf("position %+v", lost.Position)
	})
	if lost.Position.Offset != 0 || len(lost.Publications) != 0 || lost.Position.Epoch == "" {
		f.t.Fatalf("history of the lost stream: %d publications, position %+v; want none, offset 0, an epoch",
			len(lost.Publications), lost.Position)
	}
	// Recovery from the old position must be refused.
	res := f.history(p, ch, engine.HistoryOptions{Since: &second, Limit: -1, MetaTTL: metaTTL})
	if len(res.Publications) != 0 || res.Position.Epoch == old {
		f.t.Fatalf("history since the old position: %d publications, position %+v", len(res.Publications), res.Position)
	}
	if sp := f.publish(p, ch, "3", opts); sp.Offset != 1 || sp.Epoch == old {
		f.t.Fatalf("publication to the new stream: %+v, want offset 1 and a new epoch", sp)
	}
}

func testRemoveHistoryKeepsPosition(f *fixture) {
	p, ch := f.name("p"), f.name("c")
	var top engine.StreamPosition
	for i := 1; i <= 3; i++ {
		top = f.publish(p, ch, strconv.Itoa(i), history)
	}
	if err := f.e.RemoveHistory(f.ctx(), p, ch); err != nil {
		f.t.Fatalf("RemoveHistory: %v", err)
	}
	res := f.history(p, ch, engine.HistoryOptions{Limit: -1})
	if len(res.Publications) != 0 || res.Position != top {
		f.t.Fatalf("after RemoveHistory: %d publications, position %+v; want none, %+v", len(res.Publications), res.Position, top)
	}
	if sp := f.publish(p, ch, "4", history); sp != (engine.StreamPosition{Offset: 4, Epoch: top.Epoch}) {
		f.t.Fatalf("publication after RemoveHistory: %+v, want offset 4 epoch %q", sp, top.Epoch)
	}
	if err := f.e.RemoveHistory(f.ctx(), p, f.name("never-used")); err != nil {
		f.t.Fatalf("RemoveHistory of an unknown channel: %v", err)
	}
}

func testIdempotencyKey(f *fixture) {
	p, ch := f.name("p"), f.name("c")
	f.subscribe(p, ch)

	opts := history
	opts.IdempotencyKey = "k1"
	sp1, suppressed, err := f.e.Publish(f.ctx(), p, ch, []byte("first"), opts)
	if err != nil || suppressed || sp1.Offset != 1 {
		f.t.Fatalf("first publish: %+v suppressed=%v err=%v", sp1, suppressed, err)
	}
	f.nextPub(p, ch)

	sp, suppressed, err := f.e.Publish(f.ctx(), p, ch, []byte("second"), opts)
	if err != nil || !suppressed || sp != sp1 {
		f.t.Fatalf("repeated publish: %+v suppressed=%v err=%v; want %+v suppressed", sp, suppressed, err, sp1)
	}
	quiet(f, f.rec.pubs, "delivery of a suppressed publication")
	res := f.history(p, ch, engine.HistoryOptions{Limit: -1})
	if len(res.Publications) != 1 || string(res.Publications[0].Data) != "first" || res.Position != sp1 {
		f.t.Fatalf("history after a suppressed publish: %d publications, position %+v", len(res.Publications), res.Position)
	}

	opts.IdempotencyKey = "k2"
	if sp := f.publish(p, ch, "third", opts); sp.Offset != 2 {
		f.t.Fatalf("publish with another key: offset %d, want 2", sp.Offset)
	}
	f.nextPub(p, ch)

	noHistory := engine.PublishOptions{IdempotencyKey: "k3"}
	if sp := f.publish(p, ch, "x", noHistory); sp != (engine.StreamPosition{}) {
		f.t.Fatalf("publish without history: %+v", sp)
	}
	f.nextPub(p, ch)
	sp, suppressed, err = f.e.Publish(f.ctx(), p, ch, []byte("x"), noHistory)
	if err != nil || !suppressed || sp != (engine.StreamPosition{}) {
		f.t.Fatalf("repeated publish without history: %+v suppressed=%v err=%v", sp, suppressed, err)
	}
	quiet(f, f.rec.pubs, "delivery of a suppressed publication")
}

func testIdempotencyKeyExpires(f *fixture) {
	p, ch := f.name("p"), f.name("c")
	opts := history
	opts.IdempotencyKey = "k"
	opts.IdempotentResultTTL = 200 * time.Millisecond
	first := f.publish(p, ch, "1", opts)
	// A suppressed publish changes nothing, so polling with it is safe.
	f.eventually("the idempotent result to expire", func() (bool, string) {
		sp, suppressed, err := f.e.Publish(f.ctx(), p, ch, []byte("2"), opts)
		if err != nil {
			f.t.Fatalf("Publish: %v", err)
		}
		if suppressed {
			if sp != first {
				f.t.Fatalf("suppressed publish returned %+v, want %+v", sp, first)
			}
			return false, "still suppressed"
		}
		if sp.Offset != 2 {
			f.t.Fatalf("publish after the key expired: offset %d, want 2", sp.Offset)
		}
		return true, ""
	})
}

func testJoinLeave(f *fixture) {
	p, ch := f.name("p"), f.name("c")
	f.subscribe(p, ch)
	info := &engine.ClientInfo{User: "42", Client: "c1", ConnInfo: []byte(`{"name":"Alice"}`), ChanInfo: []byte(`{"role":"admin"}`)}

	if err := f.e.PublishJoin(f.ctx(), p, ch, info); err != nil {
		f.t.Fatalf("PublishJoin: %v", err)
	}
	join := next(f, f.rec.joins, "join")
	if join.project != p || join.channel != ch || !equalInfo(join.info, info) {
		f.t.Fatalf("join %s/%s %s, want %s/%s %s", join.project, join.channel, infoString(join.info), p, ch, infoString(info))
	}
	if err := f.e.PublishLeave(f.ctx(), p, ch, info); err != nil {
		f.t.Fatalf("PublishLeave: %v", err)
	}
	leave := next(f, f.rec.leaves, "leave")
	if leave.project != p || leave.channel != ch || !equalInfo(leave.info, info) {
		f.t.Fatalf("leave %s/%s %s, want %s/%s %s", leave.project, leave.channel, infoString(leave.info), p, ch, infoString(info))
	}

	other := f.name("not-subscribed")
	if err := f.e.PublishJoin(f.ctx(), p, other, info); err != nil {
		f.t.Fatalf("PublishJoin to a channel nobody subscribed to: %v", err)
	}
	if err := f.e.PublishLeave(f.ctx(), p, other, info); err != nil {
		f.t.Fatalf("PublishLeave to a channel nobody subscribed to: %v", err)
	}
	quiet(f, f.rec.joins, "join in a channel nobody subscribed to")
	quiet(f, f.rec.leaves, "leave in a channel nobody subscribed to")
}

func testControl(f *fixture) {
	// Engines sharing a backend deliver each other's control messages, so the
	// suite looks for its own.
	data := []byte(`{"enginetest":"` + f.prefix + `"}`)
	if err := f.e.PublishControl(f.ctx(), data); err != nil {
		f.t.Fatalf("PublishControl: %v", err)
	}
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		select {
		case got := <-f.rec.controls:
			if string(got) == string(data) {
				return
			}
		case <-deadline.C:
			f.t.Fatalf("timed out after %v waiting for control message %s", waitTimeout, data)
		}
	}
}

func testPresence(f *fixture) {
	p, ch := f.name("p"), f.name("c")
	if got := f.presence(p, ch); len(got) != 0 {
		f.t.Fatalf("presence of an empty channel: %v", got)
	}
	if got := f.presenceStats(p, ch); got != (engine.PresenceStats{}) {
		f.t.Fatalf("presence stats of an empty channel: %+v", got)
	}

	c1 := &engine.ClientInfo{User: "u1", Client: "c1", ConnInfo: []byte(`{"n":1}`)}
	c2 := &engine.ClientInfo{User: "u1", Client: "c2", ChanInfo: []byte(`{"n":2}`)}
	c3 := &engine.ClientInfo{User: "u2", Client: "c3"}
	f.addPresence(p, ch, c1, time.Minute)
	f.addPresence(p, ch, c2, time.Minute)
	if got, want := f.presenceStats(p, ch), (engine.PresenceStats{NumClients: 2, NumUsers: 1}); got != want {
		f.t.Fatalf("stats with two clients of one user: %+v, want %+v", got, want)
	}
	checkPresence := func(want ...*engine.ClientInfo) {
		f.t.Helper()
		got := f.presence(p, ch)
		if len(got) != len(want) {
			f.t.Fatalf("presence has %d entries, want %d", len(got), len(want))
		}
		for _, w := range want {
			if !equalInfo(got[w.Client], w) {
				f.t.Fatalf("presence[%q] = %s, want %s", w.Client, infoString(got[w.Client]), infoString(w))
			}
		}
	}
	checkPresence(c1, c2)

	f.addPresence(p, ch, c3, time.Minute)
	if got, want := f.presenceStats(p, ch), (engine.PresenceStats{NumClients: 3, NumUsers: 2}); got != want {
		f.t.Fatalf("stats: %+v, want %+v", got, want)
	}

	// Adding again replaces the entry.
	c1b := &engine.ClientInfo{User: "u1", Client: "c1", ConnInfo: []byte(`{"n":10}`)}
	f.addPresence(p, ch, c1b, time.Minute)
	checkPresence(c1b, c2, c3)

	// The result is the caller's to modify.
	got := f.presence(p, ch)
	got["c1"].User = "mallory"
	got["c1"].ConnInfo[0] = 'X'
	delete(got, "c2")
	checkPresence(c1b, c2, c3)

	if err := f.e.RemovePresence(f.ctx(), p, ch, "c2", "u1"); err != nil {
		f.t.Fatalf("RemovePresence: %v", err)
	}
	checkPresence(c1b, c3)
	if got, want := f.presenceStats(p, ch), (engine.PresenceStats{NumClients: 2, NumUsers: 2}); got != want {
		f.t.Fatalf("stats after removing c2: %+v, want %+v", got, want)
	}
	for _, c := range []*engine.ClientInfo{c1b, c3, c3} { // removing twice is fine
		if err := f.e.RemovePresence(f.ctx(), p, ch, c.Client, c.User); err != nil {
			f.t.Fatalf("RemovePresence(%q): %v", c.Client, err)
		}
	}
	checkPresence()
	if got := f.presenceStats(p, ch); got != (engine.PresenceStats{}) {
		f.t.Fatalf("stats after removing everyone: %+v", got)
	}
}

func testPresenceExpiry(f *fixture) {
	p, ch := f.name("p"), f.name("c")
	const expire = 300 * time.Millisecond
	short := &engine.ClientInfo{User: "u1", Client: "short"}
	long := &engine.ClientInfo{User: "u2", Client: "long"}
	f.addPresence(p, ch, long, time.Minute)

	// Refreshed every 100ms for twice its expiry, the entry stays.
	start := time.Now()
	for time.Since(start) < 2*expire {
		f.addPresence(p, ch, short, expire)
		if got := f.presence(p, ch); got["short"] == nil {
			f.t.Fatal("refreshed entry missing")
		}
		time.Sleep(100 * time.Millisecond)
	}
	f.addPresence(p, ch, short, expire)
	if got, want := f.presenceStats(p, ch), (engine.PresenceStats{NumClients: 2, NumUsers: 2}); got != want {
		f.t.Fatalf("stats while refreshed: %+v, want %+v", got, want)
	}

	f.eventually("the unrefreshed entry to expire", func() (bool, string) {
		got := f.presence(p, ch)
		return got["short"] == nil, fmt.Sprintf("%d entries", len(got))
	})
	got := f.presence(p, ch)
	if len(got) != 1 || !equalInfo(got["long"], long) {
		f.t.Fatalf("presence after expiry has %d entries, want only %q", len(got), "long")
	}
	if got, want := f.presenceStats(p, ch), (engine.PresenceStats{NumClients: 1, NumUsers: 1}); got != want {
		f.t.Fatalf("stats after expiry: %+v, want %+v", got, want)
	}
}

func testDataIsCopied(f *fixture) {
	p, ch := f.name("p"), f.name("c")
	f.subscribe(p, ch)

	data := []byte("original")
	info := &engine.ClientInfo{User: "u", Client: "c", ConnInfo: []byte(`{"a":1}`)}
	tags := map[string]string{"k": "v"}
	opts := history
	opts.ClientInfo = info
	opts.Tags = tags
	if _, _, err := f.e.Publish(f.ctx(), p, ch, data, opts); err != nil {
		f.t.Fatalf("Publish: %v", err)
	}
	delivered := f.nextPub(p, ch).pub
	// The publisher reuses its buffers; the receiver modifies what it got.
	copy(data, "XXXXXXXX")
	info.ConnInfo[0] = 'X'
	tags["k"] = "changed"
	if string(delivered.Data) != "original" {
		f.t.Fatalf("delivered data changed with the publisher's buffer: %q", delivered.Data)
	}
	delivered.Data[0] = 'Y'
	delivered.Tags["k"] = "changed by receiver"

	check := func(when string) {
		f.t.Helper()
		res := f.history(p, ch, engine.HistoryOptions{Limit: -1})
		if len(res.Publications) != 1 {
			f.t.Fatalf("%s: history has %d publications", when, len(res.Publications))
		}
		pub := res.Publications[0]
		if string(pub.Data) != "original" || string(pub.Info.ConnInfo) != `{"a":1}` || pub.Tags["k"] != "v" {
			f.t.Fatalf("%s: history holds data %q conn_info %s tags %v", when, pub.Data, pub.Info.ConnInfo, pub.Tags)
		}
		pub.Data[0] = 'Z'
		pub.Info.ConnInfo[0] = 'Z'
		pub.Tags["k"] = "changed by reader"
	}
	check("after the buffers changed")
	check("after a reader changed its result")

	pinfo := &engine.ClientInfo{User: "u", Client: "c", ChanInfo: []byte(`{"b":2}`)}
	f.addPresence(p, ch, pinfo, time.Minute)
	pinfo.ChanInfo[0] = 'X'
	if got := f.presence(p, ch)["c"]; got == nil || string(got.ChanInfo) != `{"b":2}` {
		f.t.Fatalf("presence changed with the caller's buffer: %s", infoString(got))
	}
}

func testConcurrentPublishers(f *fixture) {
	p, ch := f.name("p"), f.name("c")
	f.subscribe(p, ch)
	const publishers, each = 8, 200
	const total = publishers * each
	opts := engine.PublishOptions{HistorySize: total, HistoryTTL: time.Minute}

	var wg sync.WaitGroup
	// Publishers finish before the subtest does, even when it fails early.
	defer wg.Wait()
	for g := range publishers {
		wg.Go(func() {
			var last uint64
			for i := range each {
				sp, _, err := f.e.Publish(f.ctx(), p, ch, fmt.Appendf(nil, `{"g":%d,"i":%d}`, g, i), opts)
				if err != nil {
					f.t.Errorf("publisher %d: %v", g, err)
					return
				}
				if sp.Offset <= last {
					f.t.Errorf("publisher %d: offset %d after %d", g, sp.Offset, last)
					return
				}
				last = sp.Offset
			}
		})
	}

	// Deliveries come in offset order, each publication exactly once, and
	// each publisher's publications in the order it made them.
	nextI := make([]int, publishers)
	for want := uint64(1); want <= total; want++ {
		ev := f.nextPub(p, ch)
		if ev.pub.Offset != want || ev.sp.Offset != want {
			f.t.Fatalf("delivery %d: offset %d position %+v", want, ev.pub.Offset, ev.sp)
		}
		var g, i int
		if _, err := fmt.Sscanf(string(ev.pub.Data), `{"g":%d,"i":%d}`, &g, &i); err != nil || g < 0 || g >= publishers {
			f.t.Fatalf("delivery %d: unexpected data %q", want, ev.pub.Data)
		}
		if i != nextI[g] {
			f.t.Fatalf("delivery %d: publisher %d publication %d, want %d", want, g, i, nextI[g])
		}
		nextI[g]++
	}
	wg.Wait()
	quiet(f, f.rec.pubs, "extra publication")

	res := f.history(p, ch, engine.HistoryOptions{Limit: -1})
	if got, want := offsets(res.Publications), seq(1, total, 1); !slices.Equal(got, want) {
		f.t.Fatalf("history has %d publications (offsets %d..), want 1..%d", len(got), firstOf(got), total)
	}
}

func firstOf(s []uint64) uint64 {
	if len(s) == 0 {
		return 0
	}
	return s[0]
}

func testClose(f *fixture) {
	p, ch := f.name("p"), f.name("c")
	f.subscribe(p, ch)
	f.publish(p, ch, "1", history)
	f.nextPub(p, ch)

	ctx := context.Background()
	if err := f.e.Close(ctx); err != nil {
		f.t.Fatalf("Close: %v", err)
	}
	info := &engine.ClientInfo{User: "u", Client: "c"}
	calls := map[string]func() error{
		"Subscribe":   func() error { return f.e.Subscribe(p, ch) },
		"Unsubscribe": func() error { return f.e.Unsubscribe(p, ch) },
		"Publish": func() error {
			_, _, err := f.e.Publish(ctx, p, ch, []byte("2"), history)
			return err
		},
		"PublishJoin":    func() error { return f.e.PublishJoin(ctx, p, ch, info) },
		"PublishLeave":   func() error { return f.e.PublishLeave(ctx, p, ch, info) },
		"PublishControl": func() error { return f.e.PublishControl(ctx, []byte("{}")) },
		"History": func() error {
			_, err := f.e.History(ctx, p, ch, engine.HistoryOptions{Limit: -1})
			return err
		},
		"RemoveHistory": func() error { return f.e.RemoveHistory(ctx, p, ch) },
		"Presence": func() error {
			_, err := f.e.Presence(ctx, p, ch)
			return err
		},
		"PresenceStats": func() error {
			_, err := f.e.PresenceStats(ctx, p, ch)
			return err
		},
		"AddPresence":    func() error { return f.e.AddPresence(ctx, p, ch, "c", info, time.Minute) },
		"RemovePresence": func() error { return f.e.RemovePresence(ctx, p, ch, "c", "u") },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, engine.ErrClosed) {
			f.t.Errorf("%s after Close: %v, want an error wrapping engine.ErrClosed", name, err)
		}
	}
	quiet(f, f.rec.pubs, "publication after Close")
}
