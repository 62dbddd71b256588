package app_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/config"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
)

// TestSessionsBoundToProject: an emulation session and a SockJS session
// are reached only through their own project's endpoints.
func TestSessionsBoundToProject(t *testing.T) {
	s := startServer(t)
	// HTTP-streaming session of the default project.
	st, conn := s.httpStream(t, "42")
	defer st.close()
	body, _ := json.Marshal(map[string]any{"session": conn.Session, "node": conn.Node, "data": cmd(2, "subscribe", map[string]any{"channel": "news"})})
	if code, out := s.post(t, "/emulation/other", "application/json", body); code != http.StatusNotFound {
		t.Fatalf("default project's session through project other: %d %s", code, out)
	}
	if code, out := s.post(t, "/emulation/default", "application/json", body); code != http.StatusNoContent {
		t.Fatalf("through /emulation/default: %d %s", code, out)
	}
	if r := st.reply(); r.ID != 2 || r.Error != nil {
		t.Fatalf("subscribe reply %+v", r)
	}

	// SockJS session of the default project: the same id under project
	// other is another (new) session, never this one.
	c := s.sockjs(t, "42")
	b, _ := json.Marshal([]string{cmd(3, "subscribe", map[string]any{"channel": "hijack"})})
	other := strings.Replace(c.base, "/connection/sockjs/", "/connection/other/sockjs/", 1)
	if code, out := s.post(t, other+"/xhr_send", "text/plain", b); code != http.StatusNotFound {
		t.Fatalf("xhr_send to the default project's session through project other: %d %s", code, out)
	}
	c.send(cmd(4, "presence_stats", map[string]any{"channel": "news"}))
	if r := c.st.reply(); r.ID != 4 {
		t.Fatalf("the session got another command first: %+v", r)
	}
}

// TestSessionIDsValidated: SockJS server and session ids and emulation
// session ids are 1-64 characters of [A-Za-z0-9_-]; others are refused
// before a session is made.
func TestSessionIDsValidated(t *testing.T) {
	s := startServer(t)
	for _, id := range []string{strings.Repeat("a", 60<<10), "%00", "a%2Fb", "a.b", strings.Repeat("b", 65), "%C3%A9"} {
		for _, path := range []string{"/connection/sockjs/000/" + id + "/xhr", "/connection/sockjs/" + id + "/abc/xhr"} {
			resp, err := http.Post("http://"+s.addr+path, "text/plain", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge && resp.StatusCode != http.StatusBadRequest {
				t.Errorf("POST %.60s: %d, want 404", path, resp.StatusCode)
			}
		}
	}
	for _, id := range []string{strings.Repeat("a", 1000), "a\x00b", "ä"} {
		body, _ := json.Marshal(map[string]any{"session": id, "node": "n", "data": "{}"})
		if code, out := s.post(t, "/emulation", "application/json", body); code != http.StatusBadRequest {
			t.Errorf("emulation session %.20q: %d %s, want 400", id, code, out)
		}
	}
	// sockjs-client's own ids still work.
	c := s.sockjs(t, "1")
	c.send(cmd(2, "presence_stats", map[string]any{"channel": "news"}))
	c.st.until("reply", func(r *protocol.Reply) bool { return r.ID == 2 })
}

// TestSockJSClientErrorsAre4xx: a jsonp receive without its callback and a
// send to a closing session are the client's errors (4xx), not 500.
func TestSockJSClientErrorsAre4xx(t *testing.T) {
	s := startServer(t, func(c *config.Config) { c.SockJS.DisconnectDelay = dur(5 * time.Second) })
	resp, err := http.Get("http://" + s.addr + "/connection/sockjs/000/nocallback/jsonp")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("jsonp without callback: %d, want 400", resp.StatusCode)
	}

	// A session the server closes (a bad token: 3500) keeps its id while
	// closing; sends to it are refused with 404.
	c := s.sockjsSession(t)
	b, _ := json.Marshal([]string{`{"id":1,"connect":{"token":"bad"}}`})
	if code, out := s.post(t, c.base+"/xhr_send", "text/plain", b); code != http.StatusNoContent {
		t.Fatalf("xhr_send connect: %d %s", code, out)
	}
	deadline := time.Now().Add(4 * time.Second)
	saw404 := false
	for time.Now().Before(deadline) {
		code, out := s.post(t, c.base+"/xhr_send", "text/plain", []byte(`["{}"]`))
		if code >= 500 {
			t.Fatalf("xhr_send to a closing session: %d %s", code, out)
		}
		if code == http.StatusNotFound {
			saw404 = true
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !saw404 {
		t.Fatal("sends to the closed session were never refused")
	}
}
