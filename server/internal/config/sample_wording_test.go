package config

import (
	"strings"
	"testing"
)

// TestSampleMentionsNoAdminUI: the generated config describes only what
// exists; there is no admin UI yet.
func TestSampleMentionsNoAdminUI(t *testing.T) {
	c, err := Sample()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Marshal(c, "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToLower(string(b)), "admin") {
		t.Fatalf("generated config mentions an admin UI:\n%s", b)
	}
}
