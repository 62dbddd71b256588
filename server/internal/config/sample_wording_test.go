package config

import (
	"strings"
	"testing"
)

// TestSampleDescribesTheAdminUI: the generated config describes what exists:
// the admin UI at / with its API, enabled, behind a fresh password.
func TestSampleDescribesTheAdminUI(t *testing.T) {
	c, err := Sample()
	if err != nil {
		t.Fatal(err)
	}
	if !c.Admin.Enabled || len(c.Admin.Password) < 16 {
		t.Fatalf("sample admin section: enabled %v, password of %d characters", c.Admin.Enabled, len(c.Admin.Password))
	}
	b, err := Marshal(c, "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"The admin UI at / and its API at /admin/api/", "password: " + c.Admin.Password} {
		if !strings.Contains(string(b), want) {
			t.Errorf("generated config lacks %q:\n%s", want, b)
		}
	}
}
