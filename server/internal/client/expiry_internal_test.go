package client

import (
	"testing"
	"time"
)

// The ttl sent with an expiring connection or subscription is the whole
// seconds left, never more: a client refreshes that long after the reply.
func TestExpiryTTLRoundsDown(t *testing.T) {
	const exp = 1_800_000_003
	for _, tc := range []struct {
		now  time.Time
		want uint32
	}{
		{time.Unix(1_800_000_000, 0), 3},
		{time.Unix(1_800_000_000, 999_000_000), 2},
		{time.Unix(1_800_000_002, 500_000_000), 1},
		{time.Unix(1_800_000_010, 0), 1},
	} {
		expires, ttl := expiryAt(exp, tc.now)
		if !expires || ttl != tc.want {
			t.Errorf("at %v: expires %v ttl %d, want true %d", tc.now, expires, ttl, tc.want)
		}
	}
	if expires, ttl := expiryAt(0, time.Now()); expires || ttl != 0 {
		t.Errorf("no expiry: %v %d", expires, ttl)
	}
}
