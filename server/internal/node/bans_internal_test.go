package node

import (
	"testing"
	"time"
)

func TestBans(t *testing.T) {
	var b bans
	const now = 1_000_000
	if b.revoked("p", "u", "fp", now-10, now) {
		t.Fatal("no ban yet")
	}
	b.merge("p", "u", banWire{At: now, Tokens: map[string]int64{"a": now + 3600}})
	for _, tc := range []struct {
		name string
		fp   string
		iat  int64
		at   int64
		want bool
	}{
		{"seen token", "a", 0, now + 1, true},
		{"seen token, other project", "a", 0, now + 1, true},
		{"token issued before", "x", now - 1, now + 1, true},
		{"token without iat, not seen", "x", 0, now + 1, false},
		{"token issued after", "x", now + 1, now + 2, false},
		{"token issued the same second", "x", now, now + 2, false},
	} {
		if got := b.revoked("p", "u", tc.fp, tc.iat, tc.at); got != tc.want {
			t.Errorf("%s: revoked = %v", tc.name, got)
		}
	}
	if b.revoked("q", "u", "a", 0, now+1) || b.revoked("p", "v", "a", 0, now+1) {
		t.Fatal("a ban is per project and user")
	}
	// Another node's tokens merge in; the ban lasts until the last one expires.
	w, until := b.merge("p", "u", banWire{At: now - 5, Tokens: map[string]int64{"b": now + 7200}})
	if w.At != now || len(w.Tokens) != 2 || until != now+7200 {
		t.Fatalf("merged %+v until %d", w, until)
	}
	if !b.revoked("p", "u", "b", 0, now+7000) {
		t.Fatal("merged token not revoked")
	}
	if b.revoked("p", "u", "a", 0, now+3601) {
		t.Fatal("a token after its expiry is no longer banned")
	}
	b.sweep(now + 7201)
	if b.has("p", "u") {
		t.Fatal("ended ban not swept")
	}
	// A token that never expires keeps the ban; no tokens: minBan.
	_, until = b.merge("p", "w", banWire{At: now, Tokens: map[string]int64{"c": 0}})
	_, until2 := b.merge("p", "x", banWire{At: now})
	if until != 0 || until2 != now+int64(minBan.Seconds()) {
		t.Fatalf("until %d %d", until, until2)
	}
	b.sweep(now + 1e9)
	if !b.has("p", "w") || b.has("p", "x") {
		t.Fatal("sweep")
	}
}

func TestCheckBackoff(t *testing.T) {
	const s = time.Second
	for n, want := range map[int]time.Duration{1: 10 * s, 2: 20 * s, 3: 40 * s, 4: time.Minute, 9: time.Minute} {
		for range 20 {
			if d := checkBackoff(10*s, n); d < want || d > want*3/2 {
				t.Fatalf("failure %d: %s, want within [%s, %s]", n, d, want, want*3/2)
			}
		}
	}
	// An interval longer than the cap is kept.
	if d := checkBackoff(2*time.Minute, 5); d < 2*time.Minute || d > 3*time.Minute {
		t.Fatalf("%s", d)
	}
}
