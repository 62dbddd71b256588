// Package enginetest is the conformance suite every engine.Engine must pass.
//
// An engine's tests call Run with a factory. Each subtest creates a fresh engine
// through the factory, calls its Run with a recording EventHandler and closes it
// when the subtest ends (the factory must not call Run or Close). Every subtest
// uses project and channel names with a random prefix, so engines sharing one
// backend (one Redis server) across subtests and test processes do not see each
// other's data.
//
// Engines may deliver events asynchronously: the suite waits for them, up to
// waitTimeout, and never assumes a handler call happened before Publish
// returned.
//
// Contract points the suite pins down beyond the interface comments:
//   - History of a channel without a stream creates the stream meta (offset 0
//     and a real epoch) that later publications keep; History does not extend
//     the life of an existing stream, only publications do.
//   - With Since, only publications with offset > Since.Offset are returned;
//     with Since and Reverse, those with offset < Since.Offset, newest first
//     (paging backwards, as Centrifugo does).
//   - Presence returns copies; PresenceStats counts distinct users.
//   - After Close every method returns an error wrapping engine.ErrClosed.
package enginetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/engine"
)

const (
	// waitTimeout bounds every wait for a delivery or an expiry.
	waitTimeout = 5 * time.Second
	// quietPeriod is how long the suite watches for an event that must not come.
	quietPeriod = 150 * time.Millisecond
	// pollInterval is the pause between checks while waiting for an expiry.
	pollInterval = 20 * time.Millisecond
	// eventBuffer is the capacity of each of the recorder's channels; no
	// subtest produces more events than this.
	eventBuffer = 1 << 14
)

// Run runs the conformance suite against the engines newEngine creates.
func Run(t *testing.T, newEngine func(t *testing.T) engine.Engine) {
	tests := []struct {
		name string
		fn   func(f *fixture)
	}{
		{"Name", testName},
		{"PublishDeliversInOrder", testPublishDeliversInOrder},
		{"NoDeliveryAfterUnsubscribe", testNoDeliveryAfterUnsubscribe},
		{"PublishWithoutSubscriberWritesHistory", testPublishWithoutSubscriberWritesHistory},
		{"PublishWithoutHistory", testPublishWithoutHistory},
		{"PublishMany", testPublishMany},
		{"PublicationFields", testPublicationFields},
		{"ProjectIsolation", testProjectIsolation},
		{"HistorySizeTrim", testHistorySizeTrim},
		{"HistoryTTL", testHistoryTTL},
		{"PublicationsExpireIndividually", testPublicationsExpireIndividually},
		{"HistoryQuery", testHistoryQuery},
		{"HistoryCreatesStream", testHistoryCreatesStream},
		{"EpochChangesAfterMetaTTL", testEpochChangesAfterMetaTTL},
		{"RemoveHistoryKeepsPosition", testRemoveHistoryKeepsPosition},
		{"IdempotencyKey", testIdempotencyKey},
		{"IdempotencyKeyExpires", testIdempotencyKeyExpires},
		{"JoinLeave", testJoinLeave},
		{"Control", testControl},
		{"Presence", testPresence},
		{"PresenceExpiry", testPresenceExpiry},
		{"DataIsCopied", testDataIsCopied},
		{"ConcurrentPublishers", testConcurrentPublishers},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(setup(t, newEngine))
		})
	}
}

// fixture is one subtest's engine, recorder and name prefix.
type fixture struct {
	t      *testing.T
	e      engine.Engine
	rec    *recorder
	prefix string
}

func setup(t *testing.T, newEngine func(t *testing.T) engine.Engine) *fixture {
	t.Helper()
	e := newEngine(t)
	rec := newRecorder()
	if err := e.Run(rec); err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := e.Close(ctx); err != nil && !errors.Is(err, engine.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &fixture{t: t, e: e, rec: rec, prefix: "enginetest-" + hex.EncodeToString(b[:])}
}

// name returns a project or channel name unique to this subtest.
func (f *fixture) name(s string) string { return f.prefix + "-" + s }

func (f *fixture) ctx() context.Context { return f.t.Context() }

// history keeps up to 1000 publications for a minute.
var history = engine.PublishOptions{HistorySize: 1000, HistoryTTL: time.Minute}

func (f *fixture) subscribe(project, channel string) {
	f.t.Helper()
	if err := f.e.Subscribe(project, channel); err != nil {
		f.t.Fatalf("Subscribe(%q, %q): %v", project, channel, err)
	}
}

func (f *fixture) publish(project, channel, data string, opts engine.PublishOptions) engine.StreamPosition {
	f.t.Helper()
	sp, suppressed, err := f.e.Publish(f.ctx(), project, channel, []byte(data), opts)
	if err != nil {
		f.t.Fatalf("Publish(%q, %q): %v", project, channel, err)
	}
	if suppressed {
		f.t.Fatalf("Publish(%q, %q) suppressed without an idempotency key", project, channel)
	}
	return sp
}

func (f *fixture) history(project, channel string, opts engine.HistoryOptions) engine.HistoryResult {
	f.t.Helper()
	res, err := f.e.History(f.ctx(), project, channel, opts)
	if err != nil {
		f.t.Fatalf("History(%q, %q, %+v): %v", project, channel, opts, err)
	}
	return res
}

func (f *fixture) presence(project, channel string) map[string]*engine.ClientInfo {
	f.t.Helper()
	p, err := f.e.Presence(f.ctx(), project, channel)
	if err != nil {
		f.t.Fatalf("Presence(%q, %q): %v", project, channel, err)
	}
	return p
}

func (f *fixture) presenceStats(project, channel string) engine.PresenceStats {
	f.t.Helper()
	s, err := f.e.PresenceStats(f.ctx(), project, channel)
	if err != nil {
		f.t.Fatalf("PresenceStats(%q, %q): %v", project, channel, err)
	}
	return s
}

func (f *fixture) addPresence(project, channel string, info *engine.ClientInfo, expire time.Duration) {
	f.t.Helper()
	if err := f.e.AddPresence(f.ctx(), project, channel, info.Client, info, expire); err != nil {
		f.t.Fatalf("AddPresence(%q, %q, %q): %v", project, channel, info.Client, err)
	}
}

// eventually calls cond every pollInterval until it returns true, failing the
// test with what cond last described if waitTimeout passes first.
func (f *fixture) eventually(what string, cond func() (bool, string)) {
	f.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out after %v waiting for %s; last state: %s", waitTimeout, what, state)
		}
		time.Sleep(pollInterval)
	}
}

// offsets lists the publications' offsets.
func offsets(pubs []*engine.Publication) []uint64 {
	out := make([]uint64, len(pubs))
	for i, p := range pubs {
		out[i] = p.Offset
	}
	return out
}

// seq returns from, from+step, ... n values.
func seq(from uint64, n int, step int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = uint64(int(from) + i*step)
	}
	return out
}

func equalInfo(a, b *engine.ClientInfo) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.User == b.User && a.Client == b.Client &&
		bytes.Equal(a.ConnInfo, b.ConnInfo) && bytes.Equal(a.ChanInfo, b.ChanInfo)
}

func infoString(i *engine.ClientInfo) string {
	if i == nil {
		return "<nil>"
	}
	return fmt.Sprintf("{user:%q client:%q conn_info:%s chan_info:%s}", i.User, i.Client, i.ConnInfo, i.ChanInfo)
}

// recorder is the EventHandler of the suite: it records events in buffered
// channels that subtests read with bounded waits.
type recorder struct {
	pubs     chan pubEvent
	joins    chan infoEvent
	leaves   chan infoEvent
	controls chan []byte
}

type pubEvent struct {
	project, channel string
	pub              *engine.Publication
	sp               engine.StreamPosition
}

type infoEvent struct {
	project, channel string
	info             *engine.ClientInfo
}

func newRecorder() *recorder {
	return &recorder{
		pubs:     make(chan pubEvent, eventBuffer),
		joins:    make(chan infoEvent, eventBuffer),
		leaves:   make(chan infoEvent, eventBuffer),
		controls: make(chan []byte, eventBuffer),
	}
}

func (r *recorder) HandlePublication(project, channel string, pub *engine.Publication, sp engine.StreamPosition) {
	r.pubs <- pubEvent{project, channel, pub, sp}
}

func (r *recorder) HandleJoin(project, channel string, info *engine.ClientInfo) {
	r.joins <- infoEvent{project, channel, info}
}

func (r *recorder) HandleLeave(project, channel string, info *engine.ClientInfo) {
	r.leaves <- infoEvent{project, channel, info}
}

// HandleLost is not expected from a healthy engine; the fault tests of an
// engine that can lose its connection check it themselves.
func (r *recorder) HandleLost() {}

func (r *recorder) HandleControl(data []byte) {
	r.controls <- data
}

// next waits for the next value of ch.
func next[T any](f *fixture, ch <-chan T, what string) T {
	f.t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		f.t.Fatalf("timed out after %v waiting for %s", waitTimeout, what)
		panic("unreachable")
	}
}

// quiet fails the test if ch yields a value within quietPeriod.
func quiet[T any](f *fixture, ch <-chan T, what string) {
	f.t.Helper()
	timer := time.NewTimer(quietPeriod)
	defer timer.Stop()
	select {
	case v := <-ch:
		f.t.Fatalf("unexpected %s: %+v", what, v)
	case <-timer.C:
	}
}

// nextPub waits for the next publication and checks where it was published.
func (f *fixture) nextPub(project, channel string) pubEvent {
	f.t.Helper()
	ev := next(f, f.rec.pubs, fmt.Sprintf("publication in %s/%s", project, channel))
	if ev.project != project || ev.channel != channel {
		f.t.Fatalf("publication delivered for %s/%s, want %s/%s", ev.project, ev.channel, project, channel)
	}
	return ev
}
