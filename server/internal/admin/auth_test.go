package admin

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestSessionsRefuseTamperingExpiryAndLogout(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	s := newSessions("password-one", time.Hour)
	s.now = func() time.Time { return now }
	se, cookie, err := s.issue()
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := s.check(cookie); !ok || got.id != se.id {
		t.Fatal("fresh session refused")
	}
	parts := strings.Split(cookie, ".")
	for name, bad := range map[string]string{
		"later expiry":  parts[0] + ".9999999999." + parts[2],
		"other id":      "00" + parts[0][2:] + "." + parts[1] + "." + parts[2],
		"no mac":        parts[0] + "." + parts[1],
		"empty":         "",
		"long":          strings.Repeat("a", 300),
		"extra part":    cookie + ".x",
		"bad timestamp": parts[0] + ".x." + parts[2],
	} {
		if _, ok := s.check(bad); ok {
			t.Errorf("%s accepted", name)
		}
	}
	other := newSessions("password-two", time.Hour)
	if _, ok := other.check(cookie); ok {
		t.Error("a session survived a password change")
	}
	if s.checkCSRF(se, "") || !s.checkCSRF(se, s.csrf(se)) || s.checkCSRF(se, other.csrf(se)) {
		t.Error("CSRF check")
	}
	now = now.Add(time.Hour)
	if _, ok := s.check(cookie); ok {
		t.Error("expired session accepted")
	}
	now = now.Add(-30 * time.Minute)
	s.end(se)
	if _, ok := s.check(cookie); ok {
		t.Error("logged-out session accepted")
	}
	if _, ok := newSessions("", time.Hour).check(cookie); ok {
		t.Error("a session without a password accepted")
	}
}

func TestLimiterWindow(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	l := newLimiter(2, time.Minute)
	l.now = func() time.Time { return now }
	l.fail("a")
	if l.wait("a") != 0 {
		t.Fatal("limited after one failure")
	}
	l.fail("a")
	if w := l.wait("a"); w != time.Minute {
		t.Fatalf("wait %s", w)
	}
	if l.wait("b") != 0 {
		t.Fatal("another address limited")
	}
	now = now.Add(59 * time.Second)
	if w := l.wait("a"); w != time.Second || retryAfter(w) != "1" {
		t.Fatalf("wait %s", w)
	}
	now = now.Add(time.Second)
	if l.wait("a") != 0 {
		t.Fatal("still limited after the window")
	}
}

func TestPasswordChecker(t *testing.T) {
	plain := newPasswordChecker("plain-password")
	if !plain.check("plain-password") || plain.check("plain-passwor") || plain.check("") {
		t.Fatal("plain password")
	}
	h, err := HashPassword("hashed-password")
	if err != nil {
		t.Fatal(err)
	}
	hashed := newPasswordChecker(h)
	if !hashed.check("hashed-password") || hashed.check(h) || hashed.check("x") {
		t.Fatal("hashed password")
	}
	if newPasswordChecker("").configured() || newPasswordChecker("").check("") {
		t.Fatal("no password")
	}
}

func TestDecodeErrorNamesNestedFields(t *testing.T) {
	var v struct {
		Options struct {
			Size int `json:"size"`
		} `json:"options"`
		List []struct {
			Name string `json:"name"`
		} `json:"list"`
	}
	for body, want := range map[string]string{
		`{"options":{"size":"x"}}`:                   "options.size",
		`{"options":{"nope":1}}`:                     "options.nope",
		`{"list":[{"name":"a"},{"name":"b","x":1}]}`: "list.b.x",
		`{"top":1}`: "top",
	} {
		err := decodeStrict([]byte(body), &v)
		if err == nil {
			t.Fatalf("%s decoded", body)
		}
		if msg, field := decodeError(err, []byte(body)); field != want || msg == "" {
			t.Errorf("%s: field %q (%s), want %q", body, field, msg, want)
		}
	}
	for _, body := range []string{``, `[]`, `{} {}`, `{`} {
		if decodeStrict([]byte(body), &v) == nil {
			t.Errorf("%q decoded", body)
		}
	}
}

func TestMergeMaps(t *testing.T) {
	var doc, patch map[string]any
	_ = json.Unmarshal([]byte(`{"a":1,"o":{"x":1,"y":2},"k":"v"}`), &doc)
	_ = json.Unmarshal([]byte(`{"a":null,"o":{"y":null,"z":3},"k":{"n":1}}`), &patch)
	got, _ := json.Marshal(mergeMaps(doc, patch))
	if string(got) != `{"k":{"n":1},"o":{"x":1,"z":3}}` {
		t.Fatalf("merged %s", got)
	}
}
