// Package structure holds the projects (tenants) and their namespaces: names,
// credentials and channel options, and resolves a channel to its options.
package structure

import (
	"errors"
	"fmt"
	"regexp"
	"sync/atomic"

	"github.com/centrifugehq/centrifuge/server/internal/channel"
	"github.com/centrifugehq/centrifuge/server/internal/duration"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
)

// DefaultProject serves the unprefixed endpoints (/connection/websocket, /api/<method>).
const DefaultProject = "default"

var (
	// ErrUnknownProject is returned for a project name not configured.
	ErrUnknownProject = errors.New("unknown project")
	// ErrUnknownNamespace is returned for a channel in a namespace not configured.
	ErrUnknownNamespace = errors.New("unknown namespace")
)

// NameRe is what project and namespace names must match (as in the original Centrifuge).
var NameRe = regexp.MustCompile(`^[-a-zA-Z0-9_]{2,64}$`)

// MaxDisplayName is the longest display_name, in bytes.
const MaxDisplayName = 256

// MaxNamespaces is the most namespaces a project may have.
const MaxNamespaces = 1000

// ChannelOptions apply to every channel of a project or namespace (PROTOCOL.md section 7).
type ChannelOptions struct {
	// Presence keeps who is subscribed (presence, presence_stats).
	Presence bool `yaml:"presence" json:"presence" help:"Keep who is subscribed to each channel (presence, presence_stats)."`
	// JoinLeave emits join and leave events. Subscribers get them when they ask
	// (subscribe with join_leave: true) or when ForcePushJoinLeave is set.
	JoinLeave          bool `yaml:"join_leave" json:"join_leave" help:"Emit join and leave events when clients subscribe and unsubscribe."`
	ForcePushJoinLeave bool `yaml:"force_push_join_leave" json:"force_push_join_leave" help:"Send join and leave events to every subscriber, without it asking."`
	// HistorySize and HistoryTTL both > 0 keep history (and allow recovery).
	HistorySize int               `yaml:"history_size" json:"history_size" help:"How many publications each channel keeps (with history_ttl: history and recovery)."`
	HistoryTTL  duration.Duration `yaml:"history_ttl" json:"history_ttl" help:"How long each channel keeps its publications (with history_size)."`
	// ForceRecovery makes every subscription recoverable; otherwise a client asks
	// with recoverable: true (needs history).
	ForceRecovery bool `yaml:"force_recovery" json:"force_recovery" help:"Make every subscription recoverable after a reconnect (needs history)."`
	// AllowSubscribeForClient lets connections subscribe (non-private channels).
	AllowSubscribeForClient bool `yaml:"allow_subscribe_for_client" json:"allow_subscribe_for_client" help:"Let connections subscribe to (non-private) channels."`
	// AllowPublishForClient lets connections publish (subscribed or not).
	AllowPublishForClient bool `yaml:"allow_publish_for_client" json:"allow_publish_for_client" help:"Let connections publish into channels."`
	// AllowPresenceForClient / AllowHistoryForClient let any connection call
	// presence / history; subscribers of the channel always may.
	AllowPresenceForClient bool `yaml:"allow_presence_for_client" json:"allow_presence_for_client" help:"Let any connection ask a channel's presence (subscribers always may)."`
	AllowHistoryForClient  bool `yaml:"allow_history_for_client" json:"allow_history_for_client" help:"Let any connection read a channel's history (subscribers always may)."`
	// AllowAnonymous lets connections with an empty user subscribe and publish.
	AllowAnonymous bool `yaml:"allow_anonymous" json:"allow_anonymous" help:"Let connections without a user id subscribe and publish."`
	// AllowUserLimitedChannels enables "name#42,56" channels.
	AllowUserLimitedChannels bool `yaml:"allow_user_limited_channels" json:"allow_user_limited_channels" help:"Enable user-limited channels (name#42,56: only users 42 and 56)."`
	// Watch shows the channel's messages in the admin live view.
	Watch bool `yaml:"watch" json:"watch" help:"Show the channels' messages in the admin live view."`
	// SubscribeProxy is the web app's endpoint asked whether a connection may
	// subscribe to a private ($) channel without a subscription token (or to
	// any channel, with ProxySubscribe). A namespace without one uses the
	// project's (its top-level options').
	SubscribeProxy *Proxy `yaml:"subscribe_proxy,omitempty" json:"subscribe_proxy,omitempty" help:"Your app's endpoint asked whether a client may subscribe to a private ($) channel without a subscription token."`
	// ProxySubscribe asks the subscribe proxy about every channel of this
	// project or namespace, not only private ones (in place of
	// AllowSubscribeForClient); a subscription token still suffices.
	ProxySubscribe bool `yaml:"proxy_subscribe,omitempty" json:"proxy_subscribe,omitempty" help:"Ask subscribe_proxy about every channel, not only private ones."`
	// PublishProxy is asked about every publication a client makes; the app
	// allows it (possibly rewriting its data) or refuses it. It replaces
	// AllowPublishForClient. A namespace without one uses the project's.
	PublishProxy *Proxy `yaml:"publish_proxy,omitempty" json:"publish_proxy,omitempty" help:"Your app's endpoint asked about every publication a client makes."`
}

// HistoryEnabled reports whether publications are kept.
func (o ChannelOptions) HistoryEnabled() bool {
	return o.HistorySize > 0 && o.HistoryTTL > 0
}

// Namespace is a named group of channels ("chat:room") with its own options.
type Namespace struct {
	Name    string         `yaml:"name" json:"name"`
	Options ChannelOptions `yaml:"options" json:"options"`
}

// Project is a tenant with its own credentials, options and namespaces.
type Project struct {
	Name string `yaml:"name" json:"name" help:"-"`
	// DisplayName is a name for people (the admin UI shows it).
	DisplayName string `yaml:"display_name,omitempty" json:"display_name,omitempty" help:"A name for people, shown in the admin UI."`
	// Secret is the HMAC key for HS256 connection and subscription tokens.
	Secret string `yaml:"secret" json:"secret" help:"-"`
	// APIKey authenticates the server HTTP API.
	APIKey string `yaml:"api_key" json:"api_key" help:"-"`
	// TokenRSAPublicKey / TokenECDSAPublicKey (PEM) enable RS256 / ES256 tokens.
	TokenRSAPublicKey   string         `yaml:"token_rsa_public_key" json:"token_rsa_public_key" help:"PEM public key enabling RS256 connection and subscription tokens."`
	TokenECDSAPublicKey string         `yaml:"token_ecdsa_public_key" json:"token_ecdsa_public_key" help:"PEM public key enabling ES256 connection and subscription tokens."`
	Options             ChannelOptions `yaml:"options" json:"options" help:"-"`
	Namespaces          []Namespace    `yaml:"namespaces" json:"namespaces" help:"-"`

	// ConnectProxy authenticates connections that come without a token: the
	// app answers from the request's cookies and headers (Proxy.Headers).
	ConnectProxy *Proxy `yaml:"connect_proxy,omitempty" json:"connect_proxy,omitempty" help:"Your app's endpoint authenticating connections that come without a token."`
	// RefreshProxy makes the server, not the client, extend expiring
	// connections: at expiry it asks the app, which extends or ends each.
	RefreshProxy *Proxy `yaml:"refresh_proxy,omitempty" json:"refresh_proxy,omitempty" help:"Your app's endpoint asked to extend (or end) expiring connections."`
	// RPCProxy answers the clients' rpc calls (without one: error 104).
	RPCProxy *Proxy `yaml:"rpc_proxy,omitempty" json:"rpc_proxy,omitempty" help:"Your app's endpoint answering the clients' rpc calls."`
	// MaxAuthAttempts, BackOffInterval and BackOffMaxTimeout bound the
	// retries of a proxy request that failed on the network (defaults 5,
	// 100ms, 5s, as the original Centrifuge).
	MaxAuthAttempts   int               `yaml:"max_auth_attempts,omitempty" json:"max_auth_attempts,omitempty" help:"Attempts of a proxy request that fails on the network."`
	BackOffInterval   duration.Duration `yaml:"back_off_interval,omitempty" json:"back_off_interval,omitempty" help:"First pause between two attempts of a proxy request (doubling, jittered)."`
	BackOffMaxTimeout duration.Duration `yaml:"back_off_max_timeout,omitempty" json:"back_off_max_timeout,omitempty" help:"Longest pause between two attempts of a proxy request."`

	// ConnectionCheckAddress turns on the batched connection check
	// (PROTOCOL.md section 8): users whose connections are older than
	// ConnectionLifetime (default 1h) are POSTed to it, at most every
	// ConnectionCheckInterval (default 10s), and those it names inactive are
	// disconnected on every node.
	ConnectionCheckAddress  string            `yaml:"connection_check_address,omitempty" json:"connection_check_address,omitempty" help:"Your app's URL for the batched connection check (empty: off)."`
	ConnectionLifetime      duration.Duration `yaml:"connection_lifetime,omitempty" json:"connection_lifetime,omitempty" help:"Age after which a connection's user is sent to the connection check."`
	ConnectionCheckInterval duration.Duration `yaml:"connection_check_interval,omitempty" json:"connection_check_interval,omitempty" help:"Shortest time between two connection check requests."`
}

// Validate checks names, credentials and options. Its errors wrap a
// *FieldError naming the wrong key ("options.history_ttl",
// "namespaces.chat.options.history_size"), for the admin API.
func (p *Project) Validate() error {
	if !NameRe.MatchString(p.Name) {
		return fieldErrorf("name", "project name %q must match %s", p.Name, NameRe)
	}
	if len(p.DisplayName) > MaxDisplayName {
		return fieldErrorf("display_name", "project %q: display_name must be at most %d bytes", p.Name, MaxDisplayName)
	}
	if p.Secret == "" && p.TokenRSAPublicKey == "" && p.TokenECDSAPublicKey == "" {
		return fieldErrorf("secret", "project %q: secret (or a token public key) is required", p.Name)
	}
	if len(p.Secret) > 0 && len(p.Secret) < 16 {
		return fieldErrorf("secret", "project %q: secret must be at least 16 characters", p.Name)
	}
	if len(p.APIKey) > 0 && len(p.APIKey) < 16 {
		return fieldErrorf("api_key", "project %q: api_key must be at least 16 characters", p.Name)
	}
	if err := p.Options.validate(); err != nil {
		return fmt.Errorf("project %q: %w", p.Name, prefixField("options", err))
	}
	if err := p.Options.validateProxies(false); err != nil {
		return fmt.Errorf("project %q: %w", p.Name, prefixField("options", err))
	}
	if err := p.validateProxies(); err != nil {
		return fmt.Errorf("project %q: %w", p.Name, err)
	}
	if len(p.Namespaces) > MaxNamespaces {
		return fieldErrorf("namespaces", "project %q: at most %d namespaces", p.Name, MaxNamespaces)
	}
	seen := map[string]bool{}
	for _, ns := range p.Namespaces {
		if !NameRe.MatchString(ns.Name) {
			return fieldErrorf("namespaces."+ns.Name+".name", "project %q: namespace name %q must match %s", p.Name, ns.Name, NameRe)
		}
		if seen[ns.Name] {
			return fieldErrorf("namespaces."+ns.Name+".name", "project %q: namespace %q defined twice", p.Name, ns.Name)
		}
		seen[ns.Name] = true
		if err := ns.Options.validate(); err != nil {
			return fmt.Errorf("project %q namespace %q: %w", p.Name, ns.Name, prefixField("namespaces."+ns.Name+".options", err))
		}
		if err := ns.Options.validateProxies(p.Options.SubscribeProxy != nil); err != nil {
			return fmt.Errorf("project %q namespace %q: %w", p.Name, ns.Name, prefixField("namespaces."+ns.Name+".options", err))
		}
	}
	return nil
}

func (o ChannelOptions) validate() error {
	if o.HistorySize < 0 {
		return fieldErrorf("history_size", "history_size must not be negative")
	}
	if o.HistoryTTL < 0 {
		return fieldErrorf("history_ttl", "history_ttl must not be negative")
	}
	if (o.HistorySize > 0) != (o.HistoryTTL > 0) {
		if o.HistorySize > 0 {
			return fieldErrorf("history_ttl", "history_size and history_ttl must be set together")
		}
		return fieldErrorf("history_size", "history_size and history_ttl must be set together")
	}
	if o.ForceRecovery && !o.HistoryEnabled() {
		return fieldErrorf("force_recovery", "force_recovery needs history_size and history_ttl")
	}
	return nil
}

// ChannelOptions resolves the options of a parsed channel: its namespace's, or
// the project's top-level ones when it has none.
func (p *Project) ChannelOptions(ch channel.Name) (ChannelOptions, error) {
	if ch.Namespace == "" {
		return p.Options, nil
	}
	for i := range p.Namespaces {
		if p.Namespaces[i].Name == ch.Namespace {
			o := p.Namespaces[i].Options
			// Proxies are the project's unless the namespace has its own (as
			// the original's auth_address).
			if o.SubscribeProxy == nil {
				o.SubscribeProxy = p.Options.SubscribeProxy
			}
			if o.PublishProxy == nil {
				o.PublishProxy = p.Options.PublishProxy
			}
			return o, nil
		}
	}
	return ChannelOptions{}, fmt.Errorf("%w %q", ErrUnknownNamespace, ch.Namespace)
}

// ResolveChannel parses ch (at most maxLength bytes) and returns its options.
// Errors are client protocol errors: 106 for a name too long, 107 for a bad
// name, 102 for an unknown namespace.
func (p *Project) ResolveChannel(ch string, maxLength int) (channel.Name, ChannelOptions, error) {
	name, err := channel.Parse(ch, maxLength)
	if err != nil {
		if errors.Is(err, channel.ErrTooLong) {
			return name, ChannelOptions{}, protocol.ErrLimitExceeded.WithMessage(err.Error())
		}
		return name, ChannelOptions{}, protocol.ErrBadRequest.WithMessage("bad channel name: " + err.Error())
	}
	opts, err := p.ChannelOptions(name)
	if err != nil {
		return name, opts, protocol.ErrUnknownChannel.WithMessage(err.Error())
	}
	return name, opts, nil
}

// Registry holds the current set of projects. Readers get an immutable snapshot;
// Set replaces it atomically (live edits from the admin UI in a later issue).
type Registry struct {
	projects atomic.Pointer[map[string]*Project]
}

// NewRegistry validates projects and returns a registry holding them.
func NewRegistry(projects []Project) (*Registry, error) {
	r := &Registry{}
	if err := r.Set(projects); err != nil {
		return nil, err
	}
	return r, nil
}

// Set validates and replaces all projects.
func (r *Registry) Set(projects []Project) error {
	m := make(map[string]*Project, len(projects))
	for i := range projects {
		p := projects[i]
		if err := p.Validate(); err != nil {
			return err
		}
		if _, dup := m[p.Name]; dup {
			return fmt.Errorf("project %q defined twice", p.Name)
		}
		m[p.Name] = &p
	}
	r.projects.Store(&m)
	return nil
}

// Get returns a project by name ("" means DefaultProject).
func (r *Registry) Get(name string) (*Project, error) {
	if name == "" {
		name = DefaultProject
	}
	p, ok := (*r.projects.Load())[name]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownProject, name)
	}
	return p, nil
}

// List returns every project.
func (r *Registry) List() []*Project {
	m := *r.projects.Load()
	out := make([]*Project, 0, len(m))
	for _, p := range m {
		out = append(out, p)
	}
	return out
}
