package api_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/centrifugehq/centrifuge/server/internal/api"
)

const statsBody = `{"channel":"news"}`

func TestAPIKey(t *testing.T) {
	for _, tc := range []struct {
		name    string
		headers []string
		status  int
		message string
	}{
		{name: "X-API-Key", headers: []string{"X-API-Key", defaultKey}, status: http.StatusOK},
		{name: "Authorization apikey", headers: []string{"Authorization", "apikey " + defaultKey}, status: http.StatusOK},
		{name: "Authorization scheme case", headers: []string{"Authorization", "APIKey  " + defaultKey}, status: http.StatusOK},
		{name: "missing", status: http.StatusUnauthorized, message: "missing API key"},
		{name: "empty X-API-Key", headers: []string{"X-API-Key", ""}, status: http.StatusUnauthorized, message: "missing API key"},
		{name: "other Authorization scheme", headers: []string{"Authorization", "Bearer " + defaultKey}, status: http.StatusUnauthorized, message: "missing API key"},
		{name: "wrong X-API-Key", headers: []string{"X-API-Key", defaultKey + "x"}, status: http.StatusUnauthorized, message: "invalid API key"},
		{name: "wrong Authorization", headers: []string{"Authorization", "apikey " + shopKey}, status: http.StatusUnauthorized, message: "invalid API key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t)
			r := ts.post(t, "/api/presence_stats", statsBody, tc.headers...)
			if tc.status == http.StatusOK {
				r.expect(t, http.StatusOK, `{"result":{"num_clients":0,"num_users":0}}`)
				ts.expectCalls(t, fakeCall{Method: "presence_stats", Project: "default", Args: []any{"news"}})
				return
			}
			if r.status != tc.status {
				t.Fatalf("status = %d, want %d (body %s)", r.status, tc.status, r.body)
			}
			if msg := r.errorMessage(t); !strings.Contains(msg, tc.message) {
				t.Errorf("message = %q, want it to contain %q", msg, tc.message)
			}
			if got := r.header.Get("WWW-Authenticate"); got != "apikey" {
				t.Errorf("WWW-Authenticate = %q, want apikey", got)
			}
			ts.expectCalls(t)
		})
	}
}

func TestProjectWithoutAPIKeyRejectsEverything(t *testing.T) {
	ts := newTestServer(t)
	for _, headers := range [][]string{nil, {"X-API-Key", ""}, {"X-API-Key", defaultKey}, {"Authorization", "apikey "}} {
		r := ts.post(t, "/api/nokey/presence_stats", statsBody, headers...)
		if r.status != http.StatusUnauthorized {
			t.Fatalf("headers %q: status = %d, want 401 (body %s)", headers, r.status, r.body)
		}
		if msg := r.errorMessage(t); !strings.Contains(msg, `project "nokey" has no api_key configured`) {
			t.Errorf("message = %q, want it to say that no api_key is configured", msg)
		}
	}
	ts.expectCalls(t)
}

func TestUnknownProject(t *testing.T) {
	ts := newTestServer(t)
	r := ts.post(t, "/api/nope/publish", `{"channel":"a","data":1}`, api.HeaderAPIKey, defaultKey)
	r.expect(t, http.StatusNotFound, `{"error":{"code":404,"message":"unknown project \"nope\""}}`)
	ts.expectCalls(t)
}

func TestProjectRouting(t *testing.T) {
	ts := newTestServer(t)
	ts.post(t, "/api/shop/presence_stats", statsBody, api.HeaderAPIKey, shopKey).
		expect(t, http.StatusOK, `{"result":{"num_clients":0,"num_users":0}}`)
	ts.post(t, "/api/default/presence_stats", statsBody, api.HeaderAPIKey, defaultKey).
		expect(t, http.StatusOK, `{"result":{"num_clients":0,"num_users":0}}`)
	ts.post(t, "/api/presence_stats", statsBody, api.HeaderAPIKey, defaultKey).
		expect(t, http.StatusOK, `{"result":{"num_clients":0,"num_users":0}}`)
	// A project named like a method: /api/info is the method, /api/info/<method> the project.
	ts.post(t, "/api/info/presence_stats", statsBody, api.HeaderAPIKey, infoKey).
		expect(t, http.StatusOK, `{"result":{"num_clients":0,"num_users":0}}`)
	ts.expectCalls(t,
		fakeCall{Method: "presence_stats", Project: "shop", Args: []any{"news"}},
		fakeCall{Method: "presence_stats", Project: "default", Args: []any{"news"}},
		fakeCall{Method: "presence_stats", Project: "default", Args: []any{"news"}},
		fakeCall{Method: "presence_stats", Project: "info", Args: []any{"news"}},
	)

	// Each project accepts only its own key.
	if r := ts.post(t, "/api/shop/presence_stats", statsBody, api.HeaderAPIKey, defaultKey); r.status != http.StatusUnauthorized {
		t.Errorf("default key on shop: status = %d, want 401", r.status)
	}
	if r := ts.post(t, "/api/presence_stats", statsBody, api.HeaderAPIKey, shopKey); r.status != http.StatusUnauthorized {
		t.Errorf("shop key on default: status = %d, want 401", r.status)
	}
}

func TestMalformedRequest(t *testing.T) {
	for _, tc := range []struct {
		name, path, body, message string
	}{
		{"truncated", "/api/publish", `{"channel":"a",`, "malformed JSON"},
		{"not JSON", "/api/publish", `channel=a`, "malformed JSON"},
		{"trailing data", "/api/publish", `{"channel":"a","data":1} {}`, "malformed JSON"},
		{"array body", "/api/publish", `[{"channel":"a"}]`, "request body must be a JSON object, got array"},
		{"string channel", "/api/publish", `{"channel":1,"data":{}}`, `field "channel": got number, want string`},
		{"bool flag", "/api/publish", `{"channel":"a","data":{},"skip_history":"yes"}`, `field "skip_history": got string, want boolean`},
		{"tags", "/api/publish", `{"channel":"a","data":{},"tags":{"k":1}}`, `got number, want string`},
		{"channels", "/api/broadcast", `{"channels":"a","data":{}}`, `field "channels": got string, want array`},
		{"negative offset", "/api/history", `{"channel":"a","since":{"offset":-1,"epoch":"e"}}`, `field "since.offset": got number -1, want non-negative integer`},
		{"batch parallel", "/api/batch", `{"commands":[],"parallel":1}`, `field "parallel": got number, want boolean`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t)
			r := ts.call(t, tc.path, tc.body)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400 (body %s)", r.status, r.body)
			}
			if msg := r.errorMessage(t); !strings.Contains(msg, tc.message) {
				t.Errorf("message = %q, want it to contain %q", msg, tc.message)
			}
			ts.expectCalls(t)
		})
	}
}

func TestBodyTooLarge(t *testing.T) {
	ts := newTestServer(t)
	body := `{"channel":"a","data":"` + strings.Repeat("x", maxBodySize) + `"}`
	r := ts.call(t, "/api/publish", body)
	r.expect(t, http.StatusRequestEntityTooLarge, `{"error":{"code":413,"message":"request body larger than 4096 bytes"}}`)

	// Without Content-Length the limit holds while reading.
	req, err := http.NewRequest(http.MethodPost, ts.URL+"/api/publish", struct{ *strings.Reader }{strings.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(api.HeaderAPIKey, defaultKey)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked body: status = %d, want 413", resp.StatusCode)
	}
	ts.expectCalls(t)

	// A body of exactly the limit is fine.
	pad := maxBodySize - len(`{"channel":"a","data":""}`)
	ts.call(t, "/api/publish", `{"channel":"a","data":"`+strings.Repeat("x", pad)+`"}`).
		expect(t, http.StatusOK, `{"result":{}}`)
}

func TestHTTPErrors(t *testing.T) {
	ts := newTestServer(t)
	ts.do(t, http.MethodGet, "/api/publish", "", api.HeaderAPIKey, defaultKey).
		expect(t, http.StatusMethodNotAllowed, `{"error":{"code":405,"message":"Method Not Allowed"}}`)
	ts.call(t, "/api/default/nosuchmethod", `{}`).
		expect(t, http.StatusNotFound, `{"error":{"code":404,"message":"Not Found"}}`)
	ts.call(t, "/nowhere", `{}`).
		expect(t, http.StatusNotFound, `{"error":{"code":404,"message":"Not Found"}}`)
}

func TestHTTPErrorHandlerHidesInternalErrors(t *testing.T) {
	ts := newTestServer(t)
	ts.echo.POST("/boom", func(echo.Context) error { return errors.New("db password is hunter2") })
	ts.echo.POST("/unavailable", func(echo.Context) error {
		return echo.NewHTTPError(http.StatusServiceUnavailable, "redis at 10.0.0.7 is down")
	})

	for _, tc := range []struct {
		path, secret string
		status       int
	}{
		{"/boom", "hunter2", http.StatusInternalServerError},
		{"/unavailable", "10.0.0.7", http.StatusServiceUnavailable},
	} {
		r := ts.post(t, tc.path, `{}`)
		if r.status != tc.status {
			t.Fatalf("%s: status = %d, want %d", tc.path, r.status, tc.status)
		}
		id := r.header.Get(echo.HeaderXRequestID)
		if id == "" {
			t.Fatalf("%s: no X-Request-Id header", tc.path)
		}
		msg := r.errorMessage(t)
		if msg != "internal server error (id "+id+")" {
			t.Errorf("%s: message = %q, want the opaque message with id %s", tc.path, msg, id)
		}
		if strings.Contains(r.body, tc.secret) {
			t.Errorf("%s: body %s leaks the internal error", tc.path, r.body)
		}
		logs := ts.logs.String()
		if !strings.Contains(logs, tc.secret) || !strings.Contains(logs, "request_id="+id) {
			t.Errorf("%s: logs %q lack the error or the request id %s", tc.path, logs, id)
		}
	}
}
