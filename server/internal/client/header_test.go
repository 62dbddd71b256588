package client

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestPackedHeaderValues(t *testing.T) {
	long := strings.Repeat("v", 300) // a length of two varint bytes
	h := http.Header{
		"Cookie":        {"a=1", "b=2", ""},
		"Authorization": {"Bearer x"},
		"X-Long":        {long},
		"X-Empty":       {},
		"lowercase":     {"set without canonicalizing"},
	}
	p := packHeader(h)
	for _, name := range []string{"Cookie", "cookie", "COOKIE", "Authorization", "X-Long", "x-long", "X-Empty", "lowercase", "Lowercase", "Missing", ""} {
		if got, want := p.Values(name), h.Values(name); !slices.Equal(got, want) {
			t.Errorf("Values(%q) = %q, want %q", name, got, want)
		}
	}
	if got := p.Values("Cookie"); len(got) != 3 || got[1] != "b=2" {
		t.Errorf("Cookie values out of order: %q", got)
	}
	if len(p) >= 2*len(long) {
		t.Errorf("packed %d bytes for a %d-byte value", len(p), len(long))
	}
}

func TestPackedHeaderEmpty(t *testing.T) {
	for _, h := range []http.Header{nil, {}, {"X": nil}} {
		p := packHeader(h)
		if p != "" || p.Values("X") != nil {
			t.Errorf("packHeader(%v) = %q, Values = %q", h, p, p.Values("X"))
		}
	}
}
