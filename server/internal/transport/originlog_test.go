package transport_test

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/transport"
)

func TestRefusedOriginsLoggedRateLimited(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	check := transport.LogRefused(transport.OriginChecker([]string{"https://good.example"}), log, 200*time.Millisecond)
	req := func(origin string) bool {
		r := httptest.NewRequest("GET", "http://srv.example/connection/websocket", nil)
		r.Header.Set("Origin", origin)
		return check(r)
	}
	if !req("https://good.example") {
		t.Fatal("allowed origin refused")
	}
	if buf.Len() != 0 {
		t.Fatalf("allowed origin logged: %s", buf.String())
	}
	for i := 0; i < 100; i++ {
		if req("https://evil.example") {
			t.Fatal("refused origin allowed")
		}
	}
	if n := strings.Count(buf.String(), "origin refused"); n != 1 {
		t.Fatalf("%d lines for 100 refusals in a burst, want 1:\n%s", n, buf.String())
	}
	if !strings.Contains(buf.String(), "origin=https://evil.example") {
		t.Fatalf("line without the origin: %s", buf.String())
	}
	time.Sleep(250 * time.Millisecond)
	req("https://evil.example")
	if !strings.Contains(buf.String(), "suppressed_before=99") {
		t.Fatalf("second line does not count the suppressed: %s", buf.String())
	}
}
