package proxy_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/protocol"
	"github.com/centrifugehq/centrifuge/server/internal/proxy"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

type result struct {
	Info json.RawMessage `json:"info"`
	N    int             `json:"n"`
}

var fast = structure.Backoff{MaxAttempts: 5, Interval: 5 * time.Millisecond, Max: 20 * time.Millisecond}

func app(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}

func call(t *testing.T, req proxy.Request) (result, error) {
	t.Helper()
	var r result
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := proxy.New(proxy.Options{}).Call(ctx, req, &r)
	return r, err
}

func TestCallAllows(t *testing.T) {
	var got map[string]any
	var hdr http.Header
	url := app(t, func(w http.ResponseWriter, r *http.Request) {
		hdr = r.Header.Clone()
		_ = json.NewDecoder(r.Body).Decode(&got)
		io.WriteString(w, `{"result":{"info":{"a":1},"n":7,"extra":true}}`)
	})
	h := (&structure.Proxy{Headers: []string{"cookie", "X-Missing"}, StaticHeaders: map[string]string{"X-Secret": "s"}}).
		ForwardedHeaders(http.Header{"Cookie": {"sid=1"}, "Origin": {"x"}})
	r, err := call(t, proxy.Request{URL: url, Header: h, Body: map[string]any{"user": "42"}, Backoff: fast})
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Info) != `{"a":1}` || r.N != 7 {
		t.Fatalf("result %+v", r)
	}
	if got["user"] != "42" || hdr.Get("Cookie") != "sid=1" || hdr.Get("X-Secret") != "s" || hdr.Get("Origin") != "" ||
		hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("body %v headers %v", got, hdr)
	}
}

func TestCallRefusals(t *testing.T) {
	for _, tc := range []struct {
		reply string
		want  error
	}{
		{`{"error":{"code":403,"message":"no"}}`, &protocol.Error{Code: 403, Message: "no"}},
		{`{"error":{"code":1000,"message":"busy","temporary":true}}`, &protocol.Error{Code: 1000, Message: "busy", Temporary: true}},
		{`{"disconnect":{"code":4500,"reason":"banned"}}`, protocol.Disconnect{Code: 4500, Reason: "banned"}},
		{`{"result":{},"disconnect":{"code":3503,"reason":"x"}}`, protocol.Disconnect{Code: 3503, Reason: "x"}},
	} {
		url := app(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, tc.reply) })
		_, err := call(t, proxy.Request{URL: url, Backoff: fast})
		var pe *protocol.Error
		var d protocol.Disconnect
		switch want := tc.want.(type) {
		case *protocol.Error:
			if !errors.As(err, &pe) || *pe != *want {
				t.Errorf("%s: err %v, want %v", tc.reply, err, want)
			}
		case protocol.Disconnect:
			if !errors.As(err, &d) || d != want {
				t.Errorf("%s: err %v, want %v", tc.reply, err, want)
			}
		}
		if proxy.Failed(err) {
			t.Errorf("%s: a refusal reported as a failure", tc.reply)
		}
	}
}

func TestCallMalformed(t *testing.T) {
	huge := `{"result":{"info":"` + strings.Repeat("x", proxy.MaxReplySize) + `"}}`
	for _, reply := range []string{
		``,
		`not json`,
		`{"result":`,
		`[]`,
		`{}`,
		`{"result":null}`,
		`{"result":{"n":"seven"}}`,
		`{"result":"yes"}`,
		`{"error":{"code":"403"}}`,
		`{"error":{"message":"no code"}}`,
		`{"disconnect":{"code":1000,"reason":"bad range"}}`,
		huge,
	} {
		url := app(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, reply) })
		_, err := call(t, proxy.Request{URL: url, Backoff: fast})
		if !errors.Is(err, proxy.ErrMalformed) {
			name := reply
			if len(name) > 40 {
				name = name[:40]
			}
			t.Errorf("%q: err %v, want malformed", name, err)
		}
	}
}

func TestLongReasonCut(t *testing.T) {
	url := app(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"disconnect":{"code":4000,"reason":"`+strings.Repeat("é", 80)+`"}}`)
	})
	_, err := call(t, proxy.Request{URL: url, Backoff: fast})
	var d protocol.Disconnect
	if !errors.As(err, &d) || len(d.Reason) > 100 || !strings.HasPrefix(d.Reason, "éé") || strings.ContainsRune(d.Reason, '\uFFFD') {
		t.Fatalf("err %v", err)
	}
}

func TestTimeoutNotRetried(t *testing.T) {
	var n atomic.Int32
	url := app(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		_, _ = io.ReadAll(r.Body) // then the server notices the client leaving
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	})
	start := time.Now()
	_, err := call(t, proxy.Request{URL: url, Timeout: 100 * time.Millisecond, Backoff: fast, Idempotent: true})
	if !errors.Is(err, proxy.ErrTimeout) || n.Load() != 1 || time.Since(start) > time.Second {
		t.Fatalf("err %v after %d requests in %s", err, n.Load(), time.Since(start))
	}
}

// flaky drops the first n connections without answering.
func flaky(t *testing.T, n int32, reply string) (string, *atomic.Int32) {
	var count atomic.Int32
	url := app(t, func(w http.ResponseWriter, r *http.Request) {
		if count.Add(1) <= n {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		io.WriteString(w, reply)
	})
	return url, &count
}

func TestNetworkErrorsRetried(t *testing.T) {
	url, count := flaky(t, 3, `{"result":{"n":1}}`)
	r, err := call(t, proxy.Request{URL: url, Backoff: fast, Idempotent: true})
	if err != nil || r.N != 1 || count.Load() != 4 {
		t.Fatalf("err %v result %+v after %d requests", err, r, count.Load())
	}
	// The attempt limit bounds the retries.
	url, count = flaky(t, 10, `{"result":{"n":1}}`)
	_, err = call(t, proxy.Request{URL: url, Backoff: fast, Idempotent: true})
	if !errors.Is(err, proxy.ErrUnavailable) || count.Load() != int32(fast.MaxAttempts) {
		t.Fatalf("err %v after %d requests", err, count.Load())
	}
	// A request that is not idempotent is not sent twice once it reached the app.
	url, count = flaky(t, 1, `{"result":{"n":1}}`)
	_, err = call(t, proxy.Request{URL: url, Backoff: fast})
	if !errors.Is(err, proxy.ErrUnavailable) || count.Load() != 1 {
		t.Fatalf("err %v after %d requests", err, count.Load())
	}
}

func TestConnectionRefusedRetried(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: every attempt is refused
	start := time.Now()
	b := structure.Backoff{MaxAttempts: 4, Interval: 40 * time.Millisecond, Max: 80 * time.Millisecond}
	p := proxy.New(proxy.Options{})
	var r result
	err = p.Call(context.Background(), proxy.Request{URL: "http://" + addr, Backoff: b}, &r)
	// Three waits of at least 20, 40 and 40 ms (half of 40, 80, 80).
	if !errors.Is(err, proxy.ErrUnavailable) || p.Stats().Requests.Load() != 4 || time.Since(start) < 100*time.Millisecond {
		t.Fatalf("err %v, %d requests in %s", err, p.Stats().Requests.Load(), time.Since(start))
	}
}

func TestStatus(t *testing.T) {
	var count atomic.Int32
	url := app(t, func(w http.ResponseWriter, r *http.Request) {
		if count.Add(1) <= 2 {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, `{"result":{"n":2}}`)
	})
	if r, err := call(t, proxy.Request{URL: url, Backoff: fast, Idempotent: true}); err != nil || r.N != 2 {
		t.Fatalf("503 then 200: %v %+v", err, r)
	}
	for _, status := range []int{http.StatusInternalServerError, http.StatusForbidden, http.StatusFound} {
		url := app(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "/elsewhere")
			w.WriteHeader(status)
		})
		if _, err := call(t, proxy.Request{URL: url, Backoff: fast, Idempotent: true}); !errors.Is(err, proxy.ErrUnavailable) ||
			!strings.Contains(err.Error(), "status") {
			t.Errorf("status %d: err %v", status, err)
		}
	}
}

func TestContextCancelStops(t *testing.T) {
	url := app(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	var r result
	err := proxy.New(proxy.Options{}).Call(ctx, proxy.Request{URL: url, Timeout: 5 * time.Second, Backoff: fast}, &r)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
}

func TestBackoff(t *testing.T) {
	b := structure.Backoff{MaxAttempts: 5, Interval: 100 * time.Millisecond, Max: 5 * time.Second}
	for n, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 10: 5 * time.Second} {
		for range 20 {
			if d := proxy.Backoff(b, n); d < want/2 || d > want {
				t.Fatalf("backoff %d = %s, want within [%s, %s]", n, d, want/2, want)
			}
		}
	}
}
