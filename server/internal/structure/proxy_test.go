package structure_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/channel"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

func project() structure.Project {
	return structure.Project{Name: "p1", Secret: "secret-0123456789abcdef"}
}

func TestProxyValidation(t *testing.T) {
	ok := &structure.Proxy{URL: "https://app.example.com/centrifuge/subscribe"}
	for _, tc := range []struct {
		name   string
		mutate func(p *structure.Project)
		want   string
	}{
		{"no url", func(p *structure.Project) { p.Options.SubscribeProxy = &structure.Proxy{} }, "subscribe_proxy.url"},
		{"bad scheme", func(p *structure.Project) { p.ConnectProxy = &structure.Proxy{URL: "ftp://x"} }, "connect_proxy.url"},
		{"no host", func(p *structure.Project) { p.RPCProxy = &structure.Proxy{URL: "http://"} }, "rpc_proxy.url"},
		{"timeout", func(p *structure.Project) { p.RefreshProxy = &structure.Proxy{URL: ok.URL, Timeout: -1} }, "refresh_proxy.timeout"},
		{"header name", func(p *structure.Project) {
			p.Options.PublishProxy = &structure.Proxy{URL: ok.URL, Headers: []string{"Bad Header"}}
		}, "publish_proxy.headers"},
		{"static header", func(p *structure.Project) {
			p.Options.PublishProxy = &structure.Proxy{URL: ok.URL, StaticHeaders: map[string]string{"X": "a\nb"}}
		}, "static_headers"},
		{"proxy_subscribe without proxy", func(p *structure.Project) { p.Options.ProxySubscribe = true }, "proxy_subscribe"},
		{"namespace proxy_subscribe without proxy", func(p *structure.Project) {
			p.Namespaces = []structure.Namespace{{Name: "ns", Options: structure.ChannelOptions{ProxySubscribe: true}}}
		}, "namespace \"ns\": proxy_subscribe"},
		{"attempts", func(p *structure.Project) { p.MaxAuthAttempts = -1 }, "max_auth_attempts"},
		{"backoff", func(p *structure.Project) { p.BackOffInterval = -1 }, "back_off_interval"},
		{"lifetime", func(p *structure.Project) { p.ConnectionLifetime = -1 }, "connection_lifetime"},
		{"check address", func(p *structure.Project) { p.ConnectionCheckAddress = "localhost:8080" }, "connection_check_address"},
	} {
		p := project()
		tc.mutate(&p)
		if err := p.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.want)
		}
	}
	p := project()
	p.Options.SubscribeProxy = ok
	p.Namespaces = []structure.Namespace{{Name: "ns", Options: structure.ChannelOptions{ProxySubscribe: true}}}
	p.ConnectionCheckAddress = "http://127.0.0.1:8080/check"
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestNamespaceInheritsProxies(t *testing.T) {
	sp := &structure.Proxy{URL: "http://app/sub"}
	pp := &structure.Proxy{URL: "http://app/pub"}
	own := &structure.Proxy{URL: "http://app/own"}
	p := project()
	p.Options.SubscribeProxy, p.Options.PublishProxy = sp, pp
	p.Namespaces = []structure.Namespace{{Name: "a"}, {Name: "b", Options: structure.ChannelOptions{SubscribeProxy: own}}}
	a, _ := p.ChannelOptions(channel.Name{Namespace: "a"})
	b, _ := p.ChannelOptions(channel.Name{Namespace: "b"})
	if a.SubscribeProxy != sp || a.PublishProxy != pp || b.SubscribeProxy != own || b.PublishProxy != pp {
		t.Fatalf("a %+v b %+v", a, b)
	}
}

func TestDefaults(t *testing.T) {
	p := project()
	b := p.Backoff()
	cc := p.ConnectionCheck()
	if b.MaxAttempts != 5 || b.Interval != 100*time.Millisecond || b.Max != 5*time.Second ||
		cc.Enabled() || cc.Lifetime != time.Hour || cc.Interval != 10*time.Second {
		t.Fatalf("backoff %+v check %+v", b, cc)
	}
	if (&structure.Proxy{}).RequestTimeout() != time.Second {
		t.Fatal("proxy timeout default")
	}
	h := (&structure.Proxy{Headers: []string{"cookie"}, StaticHeaders: map[string]string{"x-key": "k"}}).
		ForwardedHeaders(http.Header{"Cookie": {"a=1", "b=2"}, "Authorization": {"secret"}})
	if len(h) != 2 || len(h.Values("Cookie")) != 2 || h.Get("X-Key") != "k" {
		t.Fatalf("headers %v", h)
	}
}
