// Package proxy is the one HTTP client the server uses to ask the web
// application: the connect, refresh, subscribe, publish and RPC proxies and
// the batched connection check all POST JSON through Client.Post, which
// bounds each attempt with a timeout, retries network failures with jittered
// exponential backoff, caps the reply's size and decodes it. Call adds the
// proxies' reply envelope: {"result": ...} allows, {"error": {code, message}}
// or {"disconnect": {code, reason}} refuses.
package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/centrifugehq/centrifuge/server/internal/protocol"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

// Failures of a request, as opposed to the app's refusals (which are a
// *protocol.Error or a protocol.Disconnect). Every error Post and Call
// return for a failed request wraps exactly one of them, or the caller's
// context error.
var (
	// ErrTimeout: the app did not answer within the request's timeout. It is
	// not retried (the app may be busy with it): the caller gives the client
	// a temporary error, so the client retries.
	ErrTimeout = errors.New("timeout")
	// ErrUnavailable: the app could not be reached (after every attempt), or
	// answered with an HTTP status other than 200.
	ErrUnavailable = errors.New("unavailable")
	// ErrMalformed: the reply is not what the protocol says: not JSON, wrong
	// types, larger than MaxReplySize, or none of result, error, disconnect.
	ErrMalformed = errors.New("malformed reply")
)

// MaxReplySize caps the body of a reply from the app, in bytes.
const MaxReplySize = 1 << 20

// Options of a Client. Zero values mean defaults.
type Options struct {
	// UserAgent of the requests (default "centrifuge").
	UserAgent string
	// Transport carries the requests (default: a clone of
	// http.DefaultTransport).
	Transport http.RoundTripper
}

// Stats counts requests; the counters only grow.
type Stats struct {
	Requests    atomic.Int64 // attempts made
	Retries     atomic.Int64 // attempts after a network failure
	Timeouts    atomic.Int64
	Unavailable atomic.Int64
	Malformed   atomic.Int64
}

// Client posts requests to the web app. It is safe for concurrent use.
type Client struct {
	http  *http.Client
	ua    string
	stats Stats
}

// New returns a Client.
func New(o Options) *Client {
	if o.UserAgent == "" {
		o.UserAgent = "centrifuge"
	}
	if o.Transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		o.Transport = t
	}
	return &Client{
		http: &http.Client{
			Transport: o.Transport,
			// A redirected POST would become a GET: a redirect is an error.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		ua: o.UserAgent,
	}
}

// Stats returns the client's counters.
func (c *Client) Stats() *Stats { return &c.stats }

// Request is one POST to the app.
type Request struct {
	URL string
	// Timeout bounds each attempt (default structure.DefaultProxyTimeout).
	Timeout time.Duration
	// Header is added to the request (forwarded and static headers).
	Header http.Header
	// Body is marshalled to JSON.
	Body any
	// Backoff bounds the attempts and the waits between them.
	Backoff structure.Backoff
	// Idempotent requests are retried after any network failure (and after
	// 502, 503 and 504); the others only when the request surely did not
	// reach the app (the connection could not be made).
	Idempotent bool
}

// Post sends req and decodes the JSON body of a 200 reply into out.
func (c *Client) Post(ctx context.Context, req Request, out any) error {
	body, err := json.Marshal(req.Body)
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = structure.DefaultProxyTimeout
	}
	attempts := max(req.Backoff.MaxAttempts, 1)
	var lastErr error
	for attempt := 1; ; attempt++ {
		data, retry, err := c.attempt(ctx, req, body, timeout)
		if err == nil {
			if err := json.Unmarshal(data, out); err != nil {
				c.stats.Malformed.Add(1)
				return fmt.Errorf("%w: %v", ErrMalformed, err)
			}
			return nil
		}
		lastErr = err
		if !retry || attempt >= attempts {
			break
		}
		wait := backoff(req.Backoff, attempt)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait+timeout/2 {
			break // no time left for a useful attempt
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		c.stats.Retries.Add(1)
	}
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(lastErr, ErrTimeout):
		c.stats.Timeouts.Add(1)
	case errors.Is(lastErr, ErrMalformed):
		c.stats.Malformed.Add(1)
	default:
		c.stats.Unavailable.Add(1)
	}
	return lastErr
}

// attempt makes one request. It returns the body of a 200 reply, or an
// error and whether another attempt may follow.
func (c *Client) attempt(ctx context.Context, req Request, body []byte, timeout time.Duration) ([]byte, bool, error) {
	c.stats.Requests.Add(1)
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(actx, http.MethodPost, req.URL, bytes.NewReader(body))
	if err != nil {
		return nil, false, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	for k, v := range req.Header {
		hr.Header[k] = v
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Accept", "application/json")
	hr.Header.Set("User-Agent", c.ua)
	resp, err := c.http.Do(hr)
	if err != nil {
		return nil, c.retryable(req, err), c.classify(ctx, actx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		gateway := resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusServiceUnavailable ||
			resp.StatusCode == http.StatusGatewayTimeout
		return nil, gateway && req.Idempotent, fmt.Errorf("%w: HTTP status %d", ErrUnavailable, resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxReplySize+1))
	if err != nil {
		return nil, req.Idempotent, c.classify(ctx, actx, err)
	}
	if len(data) > MaxReplySize {
		return nil, false, fmt.Errorf("%w: larger than %d bytes", ErrMalformed, MaxReplySize)
	}
	return data, false, nil
}

// classify turns a transport error into ErrTimeout or ErrUnavailable.
func (c *Client) classify(ctx, actx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ne net.Error
	if errors.Is(actx.Err(), context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("%w: no answer in time", ErrTimeout)
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}

// retryable reports whether a failed request may be sent again: a timeout
// never is; a request that could not be sent always is; other network
// failures only when the request is idempotent.
func (c *Client) retryable(req Request, err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return req.Idempotent
}

// backoff is the wait after the attempt-th failed attempt: Interval doubled
// each time up to Max, with full jitter over its upper half.
func backoff(b structure.Backoff, attempt int) time.Duration {
	d := b.Interval
	if d <= 0 {
		d = structure.DefaultBackOffInterval
	}
	for i := 1; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	if b.Max > 0 && d > b.Max {
		d = b.Max
	}
	return d/2 + rand.N(d/2+1)
}

// Backoff is the jittered exponential wait after the n-th consecutive
// failure (n >= 1), for callers that retry on their own schedule.
func Backoff(b structure.Backoff, n int) time.Duration { return backoff(b, n) }

// envelope is the proxies' reply.
type envelope struct {
	Result     json.RawMessage `json:"result"`
	Error      *appError       `json:"error"`
	Disconnect *appDisconnect  `json:"disconnect"`
}

type appError struct {
	Code      uint32 `json:"code"`
	Message   string `json:"message"`
	Temporary bool   `json:"temporary"`
}

type appDisconnect struct {
	Code   uint32 `json:"code"`
	Reason string `json:"reason"`
}

// maxMessage caps an error message from the app passed on to the client.
const maxMessage = 512

// Call posts req and decodes the reply envelope. It returns nil with the
// result decoded into result when the app allows; the app's refusal as a
// *protocol.Error or a protocol.Disconnect; or a failure wrapping ErrTimeout,
// ErrUnavailable or ErrMalformed.
func (c *Client) Call(ctx context.Context, req Request, result any) error {
	var env envelope
	if err := c.Post(ctx, req, &env); err != nil {
		return err
	}
	switch {
	case env.Disconnect != nil:
		d := env.Disconnect
		if d.Code < 3000 || d.Code > 4999 {
			c.stats.Malformed.Add(1)
			return fmt.Errorf("%w: disconnect code %d outside 3000-4999", ErrMalformed, d.Code)
		}
		return protocol.Disconnect{Code: d.Code, Reason: cut(d.Reason, 100)}
	case env.Error != nil:
		e := env.Error
		if e.Code == 0 {
			c.stats.Malformed.Add(1)
			return fmt.Errorf("%w: error without a code", ErrMalformed)
		}
		return &protocol.Error{Code: e.Code, Message: cut(e.Message, maxMessage), Temporary: e.Temporary}
	case len(env.Result) == 0 || string(env.Result) == "null":
		c.stats.Malformed.Add(1)
		return fmt.Errorf("%w: none of result, error, disconnect", ErrMalformed)
	}
	if err := json.Unmarshal(env.Result, result); err != nil {
		c.stats.Malformed.Add(1)
		return fmt.Errorf("%w: result: %v", ErrMalformed, err)
	}
	return nil
}

// cut returns s as valid UTF-8 of at most n bytes, cut at a rune boundary.
func cut(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Failed reports whether err is a failed request (not a refusal by the app).
func Failed(err error) bool {
	return errors.Is(err, ErrTimeout) || errors.Is(err, ErrUnavailable) || errors.Is(err, ErrMalformed)
}
