package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/centrifugehq/centrifuge/server/internal/api"
	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/node"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

// API keys of the test projects.
const (
	defaultKey = "default-api-key-0123456789"
	shopKey    = "shop-api-key-0123456789"
	infoKey    = "info-api-key-0123456789"
)

// fakeCall is one recorded Service call.
type fakeCall struct {
	Method  string
	Project string
	Args    []any
}

// fakeService is a Service that records its calls and returns canned values.
type fakeService struct {
	mu    sync.Mutex
	calls []fakeCall

	// err, when set, is returned by every method.
	err error
	// channelErr is returned by Publish for the channels it lists.
	channelErr map[string]error
	position   engine.StreamPosition
	presence   map[string]*engine.ClientInfo
	stats      engine.PresenceStats
	history    engine.HistoryResult
	channels   map[string]int
	nodes      []node.NodeInfo
}

func (f *fakeService) record(method, project string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fakeCall{Method: method, Project: project, Args: args})
	return f.err
}

// Calls returns the recorded calls.
func (f *fakeService) Calls() []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeCall(nil), f.calls...)
}

func (f *fakeService) Publish(_ context.Context, project, channel string, data []byte, opts node.PublishOptions) (engine.StreamPosition, error) {
	if err := f.record("publish", project, channel, string(data), opts); err != nil {
		return engine.StreamPosition{}, err
	}
	if err := f.channelErr[channel]; err != nil {
		return engine.StreamPosition{}, err
	}
	return f.position, nil
}

func (f *fakeService) Broadcast(ctx context.Context, project string, channels []string, data []byte, opts node.PublishOptions) []node.PublishResult {
	out := make([]node.PublishResult, len(channels))
	for i, ch := range channels {
		out[i].Position, out[i].Err = f.Publish(ctx, project, ch, data, opts)
	}
	return out
}

func (f *fakeService) Subscribe(_ context.Context, project, user, channel string, opts node.SubscribeOptions) error {
	return f.record("subscribe", project, user, channel, opts)
}

func (f *fakeService) Unsubscribe(_ context.Context, project, user, channel, client string) error {
	return f.record("unsubscribe", project, user, channel, client)
}

func (f *fakeService) Disconnect(_ context.Context, project, user, client string, d protocol.Disconnect, whitelist []string) error {
	return f.record("disconnect", project, user, client, d, whitelist)
}

func (f *fakeService) Refresh(_ context.Context, project, user, client string, opts node.RefreshOptions) error {
	return f.record("refresh", project, user, client, opts)
}

func (f *fakeService) Presence(_ context.Context, project, channel string) (map[string]*engine.ClientInfo, error) {
	if err := f.record("presence", project, channel); err != nil {
		return nil, err
	}
	return f.presence, nil
}

func (f *fakeService) PresenceStats(_ context.Context, project, channel string) (engine.PresenceStats, error) {
	if err := f.record("presence_stats", project, channel); err != nil {
		return engine.PresenceStats{}, err
	}
	return f.stats, nil
}

func (f *fakeService) History(_ context.Context, project, channel string, opts engine.HistoryOptions) (engine.HistoryResult, error) {
	if err := f.record("history", project, channel, opts); err != nil {
		return engine.HistoryResult{}, err
	}
	return f.history, nil
}

func (f *fakeService) HistoryRemove(_ context.Context, project, channel string) error {
	return f.record("history_remove", project, channel)
}

func (f *fakeService) Channels(_ context.Context, project, pattern string) (map[string]int, error) {
	if err := f.record("channels", project, pattern); err != nil {
		return nil, err
	}
	return f.channels, nil
}

func (f *fakeService) Info(context.Context) ([]node.NodeInfo, error) {
	if err := f.record("info", ""); err != nil {
		return nil, err
	}
	return f.nodes, nil
}

// syncBuffer is a bytes.Buffer safe for concurrent writes (log output).
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testServer is the API on a real HTTP server, backed by a fakeService.
type testServer struct {
	*httptest.Server
	svc  *fakeService
	logs *syncBuffer
	echo *echo.Echo
}

// maxBodySize is the body limit of the test server.
const maxBodySize = 4096

func newTestServer(t testing.TB) *testServer {
	t.Helper()
	return newTestServerWithBodySize(t, maxBodySize)
}

func newTestServerWithBodySize(t testing.TB, bodySize int64) *testServer {
	t.Helper()
	projects, err := structure.NewRegistry([]structure.Project{
		{Name: structure.DefaultProject, Secret: "default-secret-0123456789", APIKey: defaultKey},
		{Name: "shop", Secret: "shop-secret-0123456789", APIKey: shopKey},
		{Name: "info", Secret: "info-secret-0123456789", APIKey: infoKey},
		{Name: "nokey", Secret: "nokey-secret-0123456789"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{svc: &fakeService{}, logs: &syncBuffer{}}
	log := slog.New(slog.NewTextHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ts.echo = echo.New()
	ts.echo.HTTPErrorHandler = api.HTTPErrorHandler(log)
	api.New(ts.svc, projects, api.Options{MaxBodySize: bodySize, Logger: log}).Register(ts.echo)
	ts.Server = httptest.NewServer(ts.echo)
	t.Cleanup(ts.Close)
	return ts
}

// reply is an HTTP answer.
type reply struct {
	status int
	header http.Header
	body   string
}

// post sends body to path with headers given as name, value pairs.
func (ts *testServer) post(t *testing.T, path, body string, headers ...string) reply {
	t.Helper()
	return ts.do(t, http.MethodPost, path, body, headers...)
}

// call posts body to path with the default project's key.
func (ts *testServer) call(t *testing.T, path, body string) reply {
	t.Helper()
	return ts.post(t, path, body, api.HeaderAPIKey, defaultKey)
}

func (ts *testServer) do(t *testing.T, method, path, body string, headers ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// expect checks the status and that the body is the JSON want (ignoring
// formatting and key order).
func (r reply) expect(t *testing.T, status int, want string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status = %d, want %d (body %s)", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); want != "" && !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var got, exp any
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatalf("body %q is not JSON: %v", r.body, err)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatalf("want %q is not JSON: %v", want, err)
	}
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("body\n got %s\nwant %s", strings.TrimSpace(r.body), want)
	}
}

// errorMessage returns error.message of an error body.
func (r reply) errorMessage(t *testing.T) string {
	t.Helper()
	var body struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.body), &body); err != nil {
		t.Fatalf("body %q is not JSON: %v", r.body, err)
	}
	if body.Error.Code != r.status && r.status != http.StatusOK {
		t.Errorf("error.code = %d, want the HTTP status %d", body.Error.Code, r.status)
	}
	return body.Error.Message
}

// expectCalls checks the Service calls recorded so far.
func (ts *testServer) expectCalls(t *testing.T, want ...fakeCall) {
	t.Helper()
	got := ts.svc.Calls()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("calls\n got %#v\nwant %#v", got, want)
	}
}
