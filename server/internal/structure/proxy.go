package structure

import (
	"errors"
	"fmt"
	"github.com/centrifugehq/centrifuge/server/internal/duration"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Proxy defaults: used for zero fields.
const (
	DefaultProxyTimeout            = time.Second
	DefaultMaxAuthAttempts         = 5
	DefaultBackOffInterval         = 100 * time.Millisecond
	DefaultBackOffMaxTimeout       = 5 * time.Second
	DefaultConnectionLifetime      = time.Hour
	DefaultConnectionCheckInterval = 10 * time.Second
)

// Proxy is an endpoint of the web application that the server asks, by an
// HTTP POST with a JSON body, whether a client may do something (connect,
// subscribe, publish, call rpc, keep its connection).
type Proxy struct {
	// URL is the app's endpoint (http or https).
	URL string `yaml:"url" json:"url"`
	// Timeout bounds one request (default 1s). A request that times out is
	// not retried: the client gets a temporary error and retries itself.
	Timeout duration.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// Headers names headers of the client's HTTP request (the one that opened
	// the connection) copied into every request to the app, e.g. Cookie or
	// Authorization, so the app can recognise its session.
	Headers []string `yaml:"headers,omitempty" json:"headers,omitempty"`
	// StaticHeaders are added to every request, e.g. a secret that lets the
	// app know the request comes from this server.
	StaticHeaders map[string]string `yaml:"static_headers,omitempty" json:"static_headers,omitempty"`
}

// RequestTimeout is Timeout or its default.
func (p *Proxy) RequestTimeout() time.Duration {
	if p.Timeout > 0 {
		return p.Timeout.D()
	}
	return DefaultProxyTimeout
}

func (p *Proxy) validate(key string) error {
	if p == nil {
		return nil
	}
	if err := validateURL(p.URL); err != nil {
		return fieldErrorf(key+".url", "%s.url: %v", key, err)
	}
	if p.Timeout < 0 {
		return fieldErrorf(key+".timeout", "%s.timeout must not be negative", key)
	}
	for _, h := range p.Headers {
		if !validHeaderName(h) {
			return fieldErrorf(key+".headers", "%s.headers: %q is not a header name", key, h)
		}
	}
	for k, v := range p.StaticHeaders {
		if !validHeaderName(k) || !validHeaderValue(v) {
			return fieldErrorf(key+".static_headers", "%s.static_headers: bad header %q", key, k)
		}
	}
	return nil
}

func validateURL(s string) error {
	if s == "" {
		return errors.New("required")
	}
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q: want an http:// or https:// URL", s)
	}
	return nil
}

// HeaderValues gives the values of a header by name, canonicalized as
// http.Header.Values does (http.Header is one).
type HeaderValues interface {
	Values(name string) []string
}

// ForwardedHeaders returns the headers a request to p carries: the named
// headers of the client's request (from), then the static ones.
func (p *Proxy) ForwardedHeaders(from HeaderValues) http.Header {
	h := http.Header{}
	for _, name := range p.Headers {
		if v := from.Values(name); len(v) > 0 {
			h[http.CanonicalHeaderKey(name)] = append([]string(nil), v...)
		}
	}
	for k, v := range p.StaticHeaders {
		h.Set(k, v)
	}
	return h
}

// Backoff is how the server retries requests to the app that failed on the
// network: at most MaxAttempts attempts, waiting a jittered exponential delay
// from Interval up to Max between them (the original Centrifuge's
// max_auth_attempts, back_off_interval and back_off_max_timeout).
type Backoff struct {
	MaxAttempts int
	Interval    time.Duration
	Max         time.Duration
}

// Backoff returns the project's retry parameters, defaults filled in.
func (p *Project) Backoff() Backoff {
	b := Backoff{MaxAttempts: p.MaxAuthAttempts, Interval: p.BackOffInterval.D(), Max: p.BackOffMaxTimeout.D()}
	if b.MaxAttempts <= 0 {
		b.MaxAttempts = DefaultMaxAuthAttempts
	}
	if b.Interval <= 0 {
		b.Interval = DefaultBackOffInterval
	}
	if b.Max <= 0 {
		b.Max = DefaultBackOffMaxTimeout
	}
	if b.Max < b.Interval {
		b.Max = b.Interval
	}
	return b
}

// ConnectionCheck is the batched connection check of a project (PROTOCOL.md
// section 8), defaults filled in.
type ConnectionCheck struct {
	// Address is the app's URL; "" means the check is off.
	Address  string
	Lifetime time.Duration
	Interval time.Duration
}

// Enabled reports whether the project checks its connections.
func (c ConnectionCheck) Enabled() bool { return c.Address != "" }

// ConnectionCheck returns the project's connection check settings.
func (p *Project) ConnectionCheck() ConnectionCheck {
	c := ConnectionCheck{Address: p.ConnectionCheckAddress, Lifetime: p.ConnectionLifetime.D(), Interval: p.ConnectionCheckInterval.D()}
	if c.Lifetime <= 0 {
		c.Lifetime = DefaultConnectionLifetime
	}
	if c.Interval <= 0 {
		c.Interval = DefaultConnectionCheckInterval
	}
	return c
}

func (p *Project) validateProxies() error {
	for _, x := range []struct {
		key string
		p   *Proxy
	}{
		{"connect_proxy", p.ConnectProxy},
		{"refresh_proxy", p.RefreshProxy},
		{"rpc_proxy", p.RPCProxy},
	} {
		if err := x.p.validate(x.key); err != nil {
			return err
		}
	}
	switch {
	case p.MaxAuthAttempts < 0:
		return fieldErrorf("max_auth_attempts", "max_auth_attempts must not be negative")
	case p.MaxAuthAttempts > 100:
		return fieldErrorf("max_auth_attempts", "max_auth_attempts must be at most 100")
	case p.BackOffInterval < 0:
		return fieldErrorf("back_off_interval", "back_off_interval must not be negative")
	case p.BackOffMaxTimeout < 0:
		return fieldErrorf("back_off_max_timeout", "back_off_max_timeout must not be negative")
	case p.ConnectionLifetime < 0:
		return fieldErrorf("connection_lifetime", "connection_lifetime must not be negative")
	case p.ConnectionCheckInterval < 0:
		return fieldErrorf("connection_check_interval", "connection_check_interval must not be negative")
	}
	if p.ConnectionCheckAddress != "" {
		if err := validateURL(p.ConnectionCheckAddress); err != nil {
			return fieldErrorf("connection_check_address", "connection_check_address: %v", err)
		}
	}
	return nil
}

// validateProxies checks the proxies of one options block; inherited tells
// whether the project's top-level options provide a subscribe proxy.
func (o ChannelOptions) validateProxies(inherited bool) error {
	if err := o.SubscribeProxy.validate("subscribe_proxy"); err != nil {
		return err
	}
	if err := o.PublishProxy.validate("publish_proxy"); err != nil {
		return err
	}
	if o.ProxySubscribe && o.SubscribeProxy == nil && !inherited {
		return fieldErrorf("proxy_subscribe", "proxy_subscribe needs a subscribe_proxy (here or in the project's options)")
	}
	return nil
}

// validHeaderName reports whether s is an HTTP header name (an RFC 7230 token).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > 126 || r <= 32 || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r) {
			return false
		}
	}
	return true
}

// validHeaderValue reports whether s may be sent as a header value.
func validHeaderValue(s string) bool {
	return !strings.ContainsAny(s, "\r\n\x00")
}
