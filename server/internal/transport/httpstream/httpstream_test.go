package httpstream

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/node"
	"github.com/centrifugehq/centrifuge/server/internal/nodetest"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

func newNode(t *testing.T) *node.Node {
	return nodetest.New(t, nodetest.Options{Channels: structure.ChannelOptions{AllowSubscribeForClient: true}})
}

// server serves the handler's three endpoints for project "".
func server(t *testing.T, n *node.Node, opts Options) (*Handler, *httptest.Server) {
	t.Helper()
	h := New(n, opts)
	mux := http.NewServeMux()
	mux.HandleFunc("/connection/http_stream", func(w http.ResponseWriter, r *http.Request) { h.ServeStream(w, r, "") })
	mux.HandleFunc("/connection/sse", func(w http.ResponseWriter, r *http.Request) { h.ServeSSE(w, r, "") })
	mux.HandleFunc("/emulation", func(w http.ResponseWriter, r *http.Request) { h.ServeEmulation(w, r, "") })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return h, srv
}

func connectCommand(t *testing.T) string {
	t.Helper()
	tok := nodetest.Token(t, "42")
	return `{"id":1,"connect":{"token":"` + tok + `"}}`
}

// reader reads frames from a stream response, each decoded as a Reply.
type reader struct {
	t    *testing.T
	next func() ([]byte, error)
}

func (r reader) reply() *protocol.Reply {
	r.t.Helper()
	frame, err := r.next()
	if err != nil {
		r.t.Fatalf("read frame: %v", err)
	}
	var rep protocol.Reply
	if err := json.Unmarshal(frame, &rep); err != nil {
		r.t.Fatalf("frame %q: %v", frame, err)
	}
	return &rep
}

// ndjson reads HTTP-streaming frames: one JSON object per line.
func ndjson(t *testing.T, body io.Reader) reader {
	br := bufio.NewReader(body)
	return reader{t: t, next: func() ([]byte, error) {
		line, err := br.ReadBytes('\n')
		if err != nil {
			return nil, err
		}
		return line[:len(line)-1], nil
	}}
}

// sse reads Server-Sent Events frames: "data: <json>" then an empty line.
func sse(t *testing.T, body io.Reader) reader {
	br := bufio.NewReader(body)
	return reader{t: t, next: func() ([]byte, error) {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, err
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("event line %q does not start with data: ", line)
		}
		if blank, err := br.ReadString('\n'); err != nil || blank != "\n" {
			t.Fatalf("event not ended by an empty line: %q %v", blank, err)
		}
		return []byte(strings.TrimSuffix(data, "\n")), nil
	}}
}

// Each transport carries replies and pushes in its own framing, takes later
// commands through /emulation with the session from the connect reply, and
// ends with a disconnect push when the server disconnects the client.
func TestStreams(t *testing.T) {
	n := newNode(t)
	h, srv := server(t, n, Options{})
	for _, tc := range []struct {
		name, contentType string
		open              func() (*http.Response, error)
		frames            func(*testing.T, io.Reader) reader
	}{
		{"http_stream", "application/x-ndjson", func() (*http.Response, error) {
			return http.Post(srv.URL+"/connection/http_stream", "application/json", strings.NewReader(connectCommand(t)))
		}, ndjson},
		{"sse", "text/event-stream; charset=utf-8", func() (*http.Response, error) {
			return http.Get(srv.URL + "/connection/sse?" + ConnectParam + "=" + url.QueryEscape(connectCommand(t)))
		}, sse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := tc.open()
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != tc.contentType {
				t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
				t.Fatalf("Cache-Control %q", cc)
			}
			frames := tc.frames(t, resp.Body)
			r := frames.reply()
			if r.ID != 1 || r.Connect == nil || r.Connect.Session == "" || r.Connect.Node == "" {
				t.Fatalf("connect reply %+v", r)
			}
			// A later command through the emulation endpoint.
			body, _ := json.Marshal(map[string]string{
				"session": r.Connect.Session, "node": r.Connect.Node, "data": `{"id":2,"subscribe":{"channel":"news"}}`,
			})
			er, err := http.Post(srv.URL+"/emulation", "application/json", strings.NewReader(string(body)))
			if err != nil {
				t.Fatal(err)
			}
			er.Body.Close()
			if er.StatusCode/100 != 2 {
				t.Fatalf("emulation: status %d", er.StatusCode)
			}
			if r := frames.reply(); r.ID != 2 || r.Subscribe == nil {
				t.Fatalf("subscribe reply %+v", r)
			}
			// A publication, with a newline in its data, is one frame.
			n.HandlePublication("default", "news", &engine.Publication{Data: []byte("{\"text\":\"two\\nlines\"}")}, engine.StreamPosition{})
			if r := frames.reply(); r.Push == nil || r.Push.Pub == nil || string(r.Push.Pub.Data) != `{"text":"two\nlines"}` {
				t.Fatalf("publication %+v", r.Push)
			}
			h.Shutdown(protocol.DisconnectShutdown)
			r = frames.reply()
			if r.Push == nil || r.Push.Disconnect == nil || r.Push.Disconnect.Code != protocol.DisconnectShutdown.Code {
				t.Fatalf("last frame %+v, want the disconnect push", r)
			}
			if _, err := frames.next(); err != io.EOF {
				t.Fatalf("after the disconnect push: %v, want the end of the response", err)
			}
		})
	}
}

func TestBadRequests(t *testing.T) {
	n := newNode(t)
	_, srv := server(t, n, Options{MaxConnectSize: 100, MaxEmulationBodySize: 100})
	long := strings.Repeat("x", 200)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
	}{
		{"stream without connect", http.MethodPost, "/connection/http_stream", "", http.StatusBadRequest},
		{"stream with GET", http.MethodGet, "/connection/http_stream", "", http.StatusMethodNotAllowed},
		{"stream connect too large", http.MethodPost, "/connection/http_stream", long, http.StatusRequestEntityTooLarge},
		{"sse without connect", http.MethodGet, "/connection/sse", "", http.StatusBadRequest},
		{"sse connect too large", http.MethodGet, "/connection/sse?" + ConnectParam + "=" + long, "", http.StatusRequestEntityTooLarge},
		{"sse with PUT", http.MethodPut, "/connection/sse", "", http.StatusMethodNotAllowed},
		{"emulation body too large", http.MethodPost, "/emulation", long, http.StatusRequestEntityTooLarge},
		{"emulation not JSON", http.MethodPost, "/emulation", "{", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, msg, tc.status)
			}
			if len(strings.TrimSpace(string(msg))) == 0 {
				t.Fatal("an error without a message")
			}
		})
	}
}
