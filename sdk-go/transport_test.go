package centrifuge_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	centrifuge "github.com/centrifugehq/centrifuge/sdk-go"
)

// TestServerDown: nothing listens; the error is an *Error without status and
// with the dial error as cause.
func TestServerDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c, err := centrifuge.New(centrifuge.Config{Addr: addr, APIKey: apiKey})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Publish(context.Background(), "news", 1)
	var e *centrifuge.Error
	if !errors.As(err, &e) || e.StatusCode != 0 || e.Code != 0 || e.Err == nil || e.Timeout() {
		t.Fatalf("got %#v", err)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("cause %v", e.Err)
	}
}

// TestTimeout: a server that does not answer in time, by Config.Timeout and by
// a context deadline.
func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)

	c, err := centrifuge.New(centrifuge.Config{Addr: hang.URL, APIKey: apiKey, Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.Info(context.Background())
	var e *centrifuge.Error
	if !errors.As(err, &e) || !e.Timeout() || e.StatusCode != 0 || time.Since(start) > 3*time.Second {
		t.Fatalf("Config.Timeout: %#v after %s", err, time.Since(start))
	}

	c, err = centrifuge.New(centrifuge.Config{Addr: hang.URL, APIKey: apiKey})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = c.Info(ctx)
	if !errors.As(err, &e) || !e.Timeout() || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("context deadline: %#v", err)
	}
}

// TestUnexpectedAnswers: a proxy's HTML error page, a JSON error of an
// undocumented status, and a 200 that is not JSON.
func TestUnexpectedAnswers(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		ctype   string
		body    string
		code    uint32
		message string
		cause   bool
	}{
		{"HTML 502", 502, "text/html", "<html>Bad Gateway</html>", 502, "<html>Bad Gateway</html>", false},
		{"JSON 405", 405, "application/json", `{"error":{"code":405,"message":"method not allowed"}}`, 405, "method not allowed", false},
		{"empty 503", 503, "text/plain", "", 503, "Service Unavailable", false},
		{"malformed 200", 200, "application/json", `{"result":`, 0, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.ctype)
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c, err := centrifuge.New(centrifuge.Config{Addr: srv.URL, APIKey: apiKey})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Publish(context.Background(), "news", 1)
			var e *centrifuge.Error
			if !errors.As(err, &e) || e.Code != tc.code || (e.Err != nil) != tc.cause {
				t.Fatalf("got %#v", err)
			}
			if !tc.cause && (e.StatusCode != tc.status || e.Message != tc.message) {
				t.Fatalf("got %#v", e)
			}
		})
	}
}

// TestRequests: the wire shape of requests: path per project, API key header,
// data passed through untouched, and data that is not JSON refused before
// anything is sent.
func TestRequests(t *testing.T) {
	var got struct {
		path, key string
		body      map[string]json.RawMessage
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.path, got.key = r.URL.Path, r.Header.Get("X-API-Key")
		got.body = nil
		_ = json.NewDecoder(r.Body).Decode(&got.body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"result":{"offset":1,"epoch":"e"}}`))
	}))
	defer srv.Close()
	ctx := context.Background()

	for _, tc := range []struct{ addr, project, path string }{
		{srv.URL, "", "/api/publish"},
		{srv.URL + "/", "shop", "/api/shop/publish"},
		{srv.URL + "/rt", "", "/rt/api/publish"},
		{strings.TrimPrefix(srv.URL, "http://"), "", "/api/publish"},
	} {
		c, err := centrifuge.New(centrifuge.Config{Addr: tc.addr, APIKey: "k", Project: tc.project})
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Publish(ctx, "news", json.RawMessage(`{"a":[1,2.50]}`))
		if err != nil || res.Offset != 1 || res.Epoch != "e" {
			t.Fatalf("%+v %v", res, err)
		}
		if got.path != tc.path || got.key != "k" || string(got.body["data"]) != `{"a":[1,2.50]}` {
			t.Fatalf("%s %q: %+v", tc.addr, tc.project, got)
		}
	}

	c, err := centrifuge.New(centrifuge.Config{Addr: srv.URL, APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	got.path = ""
	for name, data := range map[string]any{"raw": json.RawMessage(`{`), "bytes": []byte("nope"), "chan": make(chan int)} {
		_, err := c.Publish(ctx, "news", data)
		var e *centrifuge.Error
		if !errors.As(err, &e) || e.Err == nil || got.path != "" {
			t.Fatalf("%s: %#v, sent %q", name, err, got.path)
		}
	}
	var b centrifuge.Batch
	b.Publish("news", make(chan int))
	if _, err := c.Batch(ctx, &b); err == nil || got.path != "" {
		t.Fatalf("batch with bad data: %v, sent %q", err, got.path)
	}

	for _, cfg := range []centrifuge.Config{{APIKey: "k"}, {Addr: srv.URL}, {Addr: "ftp://x", APIKey: "k"}} {
		if _, err := centrifuge.New(cfg); err == nil {
			t.Fatalf("New(%+v) accepted", cfg)
		}
	}
}
