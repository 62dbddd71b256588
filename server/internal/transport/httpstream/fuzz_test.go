package httpstream

import (
	"strings"
	"testing"

	"github.com/centrifugehq/centrifuge/server/internal/transport"
)

// FuzzParseEmulation: any POST /emulation body is accepted with a valid
// session id and non-empty data, or refused with a message (HTTP 400).
func FuzzParseEmulation(f *testing.F) {
	for _, s := range []string{
		`{"session":"ABC234","node":"n1","data":"{\"id\":1,\"ping\":{}}"}`,
		`{"session":"","data":"x"}`, `{"session":"a","data":1}`, `{"session":"a\u0000","data":"x"}`,
		`null`, `[]`, ``, `{"session":"` + strings.Repeat("a", 70) + `","data":"x"}`, "{\"session\":\"a\",\"data\":\"\xff\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, data, msg := parseEmulation(body)
		if msg != "" {
			if data != nil {
				t.Fatal("data with an error")
			}
			return
		}
		if !transport.ValidSessionID(req.Session) || len(data) == 0 || len(req.Node) > 128 {
			t.Fatalf("accepted %q: session %q data %q", body, req.Session, data)
		}
	})
}
