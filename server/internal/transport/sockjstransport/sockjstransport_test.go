package sockjstransport

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/node"
	"github.com/centrifugehq/centrifuge/server/internal/nodetest"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

// server serves the handler as the app mounts it: /connection/sockjs for
// the default project, /connection/<project>/sockjs for the others.
func server(t *testing.T, opts Options) (*node.Node, *Handler, *httptest.Server) {
	t.Helper()
	n := nodetest.New(t, nodetest.Options{
		Channels: structure.ChannelOptions{AllowSubscribeForClient: true},
		Projects: []string{"other"},
	})
	h := New(n, opts)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, "/connection/")
		if !ok {
			http.NotFound(w, r)
			return
		}
		project := ""
		if p, after, found := strings.Cut(rest, "/sockjs"); found && p != "sockjs" && !strings.HasPrefix(rest, "sockjs") {
			project, rest = p, "sockjs"+after
		}
		h.Serve(w, r, project, strings.TrimPrefix(rest, "sockjs"))
	}))
	t.Cleanup(srv.Close)
	return n, h, srv
}

// base is the URL of project's SockJS endpoint ("" the default's).
func base(srv *httptest.Server, project string) string {
	if project == "" {
		return srv.URL + "/connection/sockjs"
	}
	return srv.URL + "/connection/" + project + "/sockjs"
}

// stream is an xhr_streaming receiver of one SockJS session.
type stream struct {
	t    *testing.T
	body io.ReadCloser
	br   *bufio.Reader
}

// open starts xhr_streaming for session id of project and reads the
// prelude and the open frame.
func open(t *testing.T, srv *httptest.Server, project, id string) *stream {
	t.Helper()
	resp, err := http.Post(base(srv, project)+"/000/"+id+"/xhr_streaming", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("xhr_streaming: status %d: %s", resp.StatusCode, b)
	}
	s := &stream{t: t, body: resp.Body, br: bufio.NewReader(resp.Body)}
	if prelude := s.frame(); prelude != strings.Repeat("h", 2048) {
		t.Fatalf("prelude %q", prelude)
	}
	if o := s.frame(); o != "o" {
		t.Fatalf("open frame %q", o)
	}
	return s
}

// frame reads the next SockJS frame (heartbeats included).
func (s *stream) frame() string {
	s.t.Helper()
	type res struct {
		line string
		err  error
	}
	ch := make(chan res, 1)
	go func() {
		line, err := s.br.ReadString('\n')
		ch <- res{line, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			s.t.Fatalf("read frame: %v", r.err)
		}
		return strings.TrimSuffix(r.line, "\n")
	case <-time.After(10 * time.Second):
		s.t.Fatal("no frame in 10s")
		return ""
	}
}

// reply reads the next protocol frame: SockJS "a" frames carry messages,
// each one or more protocol frames joined by '\n'; heartbeats are skipped.
// One frame per message is what these tests expect.
func (s *stream) reply() *protocol.Reply {
	s.t.Helper()
	for {
		f := s.frame()
		if f == "h" {
			continue
		}
		data, ok := strings.CutPrefix(f, "a")
		if !ok {
			s.t.Fatalf("frame %q, want a message", f)
		}
		var msgs []string
		if err := json.Unmarshal([]byte(data), &msgs); err != nil || len(msgs) != 1 {
			s.t.Fatalf("message frame %q: %v", f, err)
		}
		var rep protocol.Reply
		if err := json.Unmarshal([]byte(msgs[0]), &rep); err != nil {
			s.t.Fatalf("protocol frame %q: %v", msgs[0], err)
		}
		return &rep
	}
}

// send posts commands to session id of project with xhr_send; it returns
// the status and body.
func send(t *testing.T, srv *httptest.Server, project, id string, commands ...string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(commands)
	resp, err := http.Post(base(srv, project)+"/000/"+id+"/xhr_send", "text/plain", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func mustSend(t *testing.T, srv *httptest.Server, project, id string, commands ...string) {
	t.Helper()
	if status, body := send(t, srv, project, id, commands...); status != http.StatusNoContent {
		t.Fatalf("xhr_send: status %d: %s", status, body)
	}
}

func connect(t *testing.T, s *stream, srv *httptest.Server, project, id string) {
	t.Helper()
	mustSend(t, srv, project, id, `{"id":1,"connect":{"token":"`+nodetest.Token(t, "42")+`"}}`)
	if r := s.reply(); r.ID != 1 || r.Error != nil || r.Connect == nil || r.Connect.Client == "" {
		t.Fatalf("connect reply %+v", r)
	}
}

// A session over xhr_streaming and xhr_send: connect, subscribe, a
// publication, and the server's shutdown: the disconnect push, then the
// SockJS close frame with its code and reason; a send to the closing session
// is then a 404, not sockjs-go's 500.
func TestXHRSession(t *testing.T) {
	n, h, srv := server(t, Options{})
	s := open(t, srv, "", "sess1")
	connect(t, s, srv, "", "sess1")
	mustSend(t, srv, "", "sess1", `{"id":2,"subscribe":{"channel":"news"}}`)
	if r := s.reply(); r.ID != 2 || r.Error != nil || r.Subscribe == nil {
		t.Fatalf("subscribe reply %+v", r)
	}
	n.HandlePublication("default", "news", &engine.Publication{Data: []byte(`{"text":"hi"}`)}, engine.StreamPosition{})
	if r := s.reply(); r.Push == nil || r.Push.Pub == nil || r.Push.Channel != "news" || string(r.Push.Pub.Data) != `{"text":"hi"}` {
		t.Fatalf("publication %+v", r)
	}
	h.Shutdown(protocol.DisconnectShutdown)
	if r := s.reply(); r.Push == nil || r.Push.Disconnect == nil || r.Push.Disconnect.Code != protocol.DisconnectShutdown.Code {
		t.Fatalf("after Shutdown %+v, want the disconnect push", r)
	}
	want := `c[3001,"shutdown"]`
	if f := s.frame(); f != want {
		t.Fatalf("frame %q, want %q", f, want)
	}
	status, body := send(t, srv, "", "sess1", `{"id":3,"ping":{}}`)
	if status != http.StatusNotFound || !strings.Contains(body, "session closed") {
		t.Fatalf("send to a closed session: status %d: %s", status, body)
	}
}

// The same server and session ids under two projects are two sessions: each
// opens, connects and subscribes on its own, and a publication of one project
// reaches only its own.
func TestProjectsKeptApart(t *testing.T) {
	n, _, srv := server(t, Options{})
	def := open(t, srv, "", "same")
	oth := open(t, srv, "other", "same")
	connect(t, def, srv, "", "same")
	connect(t, oth, srv, "other", "same")
	for _, tc := range []struct {
		project string
		s       *stream
	}{{"", def}, {"other", oth}} {
		mustSend(t, srv, tc.project, "same", `{"id":2,"subscribe":{"channel":"news"}}`)
		if r := tc.s.reply(); r.ID != 2 || r.Error != nil || r.Subscribe == nil {
			t.Fatalf("project %q: subscribe reply %+v", tc.project, r)
		}
	}
	n.HandlePublication("other", "news", &engine.Publication{Data: []byte(`"to other"`)}, engine.StreamPosition{})
	n.HandlePublication("default", "news", &engine.Publication{Data: []byte(`"to default"`)}, engine.StreamPosition{})
	if r := oth.reply(); r.Push == nil || r.Push.Pub == nil || string(r.Push.Pub.Data) != `"to other"` {
		t.Fatalf("other got %+v", r)
	}
	// The default project's session gets its own publication first: the
	// other project's never reached it.
	if r := def.reply(); r.Push == nil || r.Push.Pub == nil || string(r.Push.Pub.Data) != `"to default"` {
		t.Fatalf("default got %+v", r)
	}
	// A send names its project's session only.
	if status, body := send(t, srv, "other", "onlydefault", `{"id":1,"ping":{}}`); status != http.StatusNotFound {
		t.Fatalf("send to a session of no project: status %d: %s", status, body)
	}
}

func TestBadRequests(t *testing.T) {
	_, _, srv := server(t, Options{MaxMessageSize: 1000})
	s := open(t, srv, "", "live")
	for _, tc := range []struct {
		name, method, url, body string
		status                  int
		msg                     string
	}{
		{"jsonp without callback", "GET", base(srv, "") + "/000/abc/jsonp", "", http.StatusBadRequest, `callback\" parameter required`},
		{"send to an unknown session", "POST", base(srv, "") + "/000/nosuch/xhr_send", `["x"]`, http.StatusNotFound, ""},
		{"send to a session of another project", "POST", base(srv, "other") + "/000/live/xhr_send", `["x"]`, http.StatusNotFound, ""},
		{"session id with a dot", "POST", base(srv, "") + "/000/a.b/xhr_streaming", "", http.StatusNotFound, "malformed SockJS server or session id"},
		{"session id with the project separator", "POST", base(srv, "") + "/000/default~live/xhr_send", `["x"]`, http.StatusNotFound, "malformed SockJS server or session id"},
		{"session id too long", "POST", base(srv, "") + "/000/" + strings.Repeat("x", 65) + "/xhr_streaming", "", http.StatusNotFound, "malformed SockJS server or session id"},
		{"empty server id", "POST", base(srv, "") + "//abc/xhr_streaming", "", http.StatusNotFound, "malformed SockJS server or session id"},
		{"server id with a bad character", "POST", base(srv, "") + "/0%2A0/abc/xhr_streaming", "", http.StatusNotFound, "malformed SockJS server or session id"},
		{"unknown project", "GET", base(srv, "nosuch") + "/info", "", http.StatusNotFound, "unknown project"},
		{"send body too large", "POST", base(srv, "") + "/000/live/xhr_send", `["` + strings.Repeat("x", 2000) + `"]`, http.StatusRequestEntityTooLarge, "larger than 1000 bytes"},
		{"long path", "GET", base(srv, "") + "/" + strings.Repeat("x", 300), "", http.StatusNotFound, "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, tc.url, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.msg) {
				t.Fatalf("status %d: %q, want %d with %q", resp.StatusCode, b, tc.status, tc.msg)
			}
		})
	}
	// The refused requests left the live session alone: it still connects.
	connect(t, s, srv, "", "live")
}

// A request from a refused origin gets 403 before reaching sockjs-go.
func TestOriginRefused(t *testing.T) {
	_, _, srv := server(t, Options{CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == "https://app.example" }})
	for origin, want := range map[string]int{"https://app.example": http.StatusOK, "https://evil.example": http.StatusForbidden, "": http.StatusOK} {
		req, _ := http.NewRequest("GET", base(srv, "")+"/info", nil)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("Origin %q: status %d, want %d", origin, resp.StatusCode, want)
		}
	}
}

// An xhr-polling client sends its next poll as soon as a poll returns. The
// poll after one that returned at once attaches to the session: sockjs-go
// detaches the finished receiver in a goroutine of its own, and a poll that
// comes first would get its close frame 2010 "Another connection still
// open", which ends the session (the client reconnects, and what was
// published meanwhile is lost). The handler retries the attach instead.
func TestPollAfterPollAttaches(t *testing.T) {
	_, h, _ := server(t, Options{})
	serve := func(method, path, body string) string {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(method, "/connection/sockjs"+path, strings.NewReader(body))
		h.Serve(rec, req, "", path)
		return rec.Body.String()
	}
	const id = "polling"
	poll := func() string { return serve("POST", "/000/"+id+"/xhr", "") }
	if f := poll(); f != "o\n" {
		t.Fatalf("first poll %q, want the open frame", f)
	}
	sendAsync := func(cmd string) {
		body, _ := json.Marshal([]string{cmd})
		go serve("POST", "/000/"+id+"/xhr_send", string(body))
	}
	sendAsync(`{"id":1,"connect":{"token":"` + nodetest.Token(t, "42") + `"}}`)
	got := 0
	for i := 2; got < 300; i++ {
		f := poll()
		if strings.HasPrefix(f, "c[") {
			t.Fatalf("poll %d after %d replies: %q", i, got, f)
		}
		if !strings.HasPrefix(f, "a[") {
			continue // a heartbeat
		}
		got++
		sendAsync(fmt.Sprintf(`{"id":%d,"ping":{}}`, i))
	}
}

// A second receiving request while the session's receiver is still open
// (two at once for real) is refused after the handler's wait, with the
// streaming prelude before the close frame, and the open one goes on.
func TestSecondReceiverRefused(t *testing.T) {
	_, _, srv := server(t, Options{})
	s := open(t, srv, "", "twice")
	start := time.Now()
	resp, err := http.Post(base(srv, "")+"/000/twice/xhr_streaming", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := strings.Repeat("h", 2048) + "\n" + `c[2010,"Another connection still open"]` + "\n"
	if resp.StatusCode != http.StatusOK || string(b) != want {
		t.Fatalf("second receiver: status %d: %q, want %q", resp.StatusCode, b, want)
	}
	if waited := time.Since(start); waited < attachRetryFor {
		t.Fatalf("refused after %v, before the %v wait for the first receiver to go", waited, attachRetryFor)
	}
	connect(t, s, srv, "", "twice")
}
