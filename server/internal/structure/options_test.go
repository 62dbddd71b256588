package structure

import (
	"strconv"
	"testing"
)

func TestOptionsDescribeEveryField(t *testing.T) {
	opts := Options()
	byName := map[string]OptionInfo{}
	for _, o := range opts {
		if o.Name == "" || o.Help == "" {
			t.Errorf("option %+v lacks a name or help (add a help tag to its field)", o)
		}
		if _, dup := byName[o.Name]; dup {
			t.Errorf("option %q listed twice", o.Name)
		}
		byName[o.Name] = o
	}
	for name, want := range map[string]OptionInfo{
		"history_ttl":       {Type: "duration", Scope: ScopeBoth},
		"presence":          {Type: "bool", Scope: ScopeBoth},
		"history_size":      {Type: "int", Scope: ScopeBoth},
		"subscribe_proxy":   {Type: "proxy", Scope: ScopeBoth},
		"connect_proxy":     {Type: "proxy", Scope: ScopeProject},
		"max_auth_attempts": {Type: "int", Scope: ScopeProject, Default: DefaultMaxAuthAttempts},
		"display_name":      {Type: "string", Scope: ScopeProject},
	} {
		got, ok := byName[name]
		if !ok || got.Type != want.Type || got.Scope != want.Scope || (want.Default != nil && got.Default != want.Default) {
			t.Errorf("option %s = %+v, want %+v", name, got, want)
		}
	}
	for _, hidden := range []string{"name", "secret", "api_key", "options", "namespaces"} {
		if _, ok := byName[hidden]; ok {
			t.Errorf("%s is listed as an option", hidden)
		}
	}
}

func TestValidateNamesTheField(t *testing.T) {
	p := Project{Name: "shop", Secret: "0123456789abcdef0123", Namespaces: []Namespace{
		{Name: "chat", Options: ChannelOptions{HistorySize: 10}},
	}}
	err := p.Validate()
	if err == nil || ErrorField(err) != "namespaces.chat.options.history_ttl" {
		t.Fatalf("err %v field %q", err, ErrorField(err))
	}
	p.Namespaces = nil
	p.ConnectProxy = &Proxy{URL: "ftp://x"}
	if err := p.Validate(); ErrorField(err) != "connect_proxy.url" {
		t.Fatalf("err %v field %q", err, ErrorField(err))
	}
	p.ConnectProxy = nil
	p.Options.PublishProxy = &Proxy{URL: "http://x", Timeout: -1}
	if err := p.Validate(); ErrorField(err) != "options.publish_proxy.timeout" {
		t.Fatalf("err %v field %q", err, ErrorField(err))
	}
}

func TestValidateLimitsNamespaces(t *testing.T) {
	p := Project{Name: "shop", Secret: "0123456789abcdef0123"}
	for i := 0; i <= MaxNamespaces; i++ {
		p.Namespaces = append(p.Namespaces, Namespace{Name: "ns" + strconv.Itoa(i)})
	}
	if err := p.Validate(); ErrorField(err) != "namespaces" {
		t.Fatalf("%d namespaces: %v", len(p.Namespaces), err)
	}
	p.Namespaces = p.Namespaces[:MaxNamespaces]
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
}
