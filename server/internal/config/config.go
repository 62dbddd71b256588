// Package config holds the server's typed configuration and loads it in three
// layers, each overriding the one before: a file (YAML or JSON), environment
// variables CENTRIFUGE_*, and command-line flags.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/duration"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

// Engine types.
const (
	// EngineMemory is the in-process engine: one node, state lost on restart.
	EngineMemory = "memory"
	// EngineRedis joins several nodes through Redis (PUB/SUB, history, presence).
	EngineRedis = "redis"
)

// Config is the whole server configuration. Every field has a snake_case key
// in the file and a CENTRIFUGE_<SECTION>_<KEY> environment variable.
type Config struct {
	// Name identifies this node in the cluster and in the connect reply.
	// It defaults to the hostname.
	Name   string `yaml:"name"`
	HTTP   HTTP   `yaml:"http"`
	Log    Log    `yaml:"log"`
	Engine Engine `yaml:"engine"`
	Client Client `yaml:"client"`
	// SockJS configures the SockJS endpoints (/connection/sockjs).
	SockJS SockJS `yaml:"sockjs"`
	// Metrics configures the Prometheus endpoint and the Graphite exporter.
	Metrics Metrics `yaml:"metrics"`
	// Debug serves Go's profiler, for finding where a node spends its time
	// and memory.
	Debug Debug `yaml:"debug"`
	// Projects are the tenants. The unprefixed endpoints serve the one named
	// structure.DefaultProject.
	Projects []structure.Project `yaml:"projects"`
	// DataDir holds what the server keeps on disk (the SQLite structure
	// store); "" keeps nothing.
	DataDir string `yaml:"data_dir"`
	// Store selects where projects live (see Store).
	Store Store `yaml:"store"`
	// Admin configures the admin API and UI.
	Admin Admin `yaml:"admin"`
}

// HTTP configures the listener shared by the client transports, the server
// API and the admin UI.
type HTTP struct {
	// Address is the interface to listen on ("" or "0.0.0.0" for all).
	Address string `yaml:"address"`
	// Port is the TCP port; 0 picks any free port.
	Port int `yaml:"port"`
	// AllowedOrigins lists the Origin values browsers may connect from. Empty
	// allows same-origin requests only; "*" allows any origin.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// APIMaxBodySize caps a server API request body, in bytes.
	APIMaxBodySize int `yaml:"api_max_body_size"`
	// EmulationMaxBodySize caps what a client sends on the HTTP fallbacks, in
	// bytes: a POST /emulation body (HTTP-streaming, SSE) and a SockJS send
	// request get HTTP 413 beyond it, a SockJS WebSocket message closes the
	// connection. A frame is also capped by client.max_frame_size.
	EmulationMaxBodySize int `yaml:"emulation_max_body_size"`
	// DisableWebSocket refuses WebSocket upgrades (/connection/websocket with
	// HTTP 404, and SockJS's websocket transport), as a proxy that strips them
	// would: clients fall back to the HTTP transports. Meant for tests.
	DisableWebSocket bool `yaml:"disable_websocket"`
	// ShutdownTimeout bounds the graceful shutdown.
	ShutdownTimeout duration.Duration `yaml:"shutdown_timeout"`

	// ReadHeaderTimeout bounds reading a request's headers.
	ReadHeaderTimeout duration.Duration `yaml:"read_header_timeout"`
	// ReadBodyTimeout bounds reading a request's body (every POST: API,
	// emulation, SockJS sends, HTTP-streaming's connect); a slower client's
	// connection is closed.
	ReadBodyTimeout duration.Duration `yaml:"read_body_timeout"`
	// IdleTimeout closes a keep-alive connection with no request for this long.
	IdleTimeout duration.Duration `yaml:"idle_timeout"`
	// WriteTimeout bounds writing a response (API, health, metrics,
	// emulation) and each write to a streaming client transport.
	WriteTimeout duration.Duration `yaml:"write_timeout"`
	// APIMaxResponseSize caps the JSON response of one server API call
	// (a batch counts whole), in bytes: commands beyond it get error 106.
	APIMaxResponseSize int `yaml:"api_max_response_size"`
}

// ListenAddr returns Address and Port joined as "host:port".
func (h HTTP) ListenAddr() string {
	return net.JoinHostPort(h.Address, strconv.Itoa(h.Port))
}

// Log configures the server log.
type Log struct {
	// Level is one of debug, info, warn, error (case-insensitive).
	Level string `yaml:"level"`
}

// logLevels maps the accepted Level values to slog levels.
var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug,
	"info":  slog.LevelInfo,
	"warn":  slog.LevelWarn,
	"error": slog.LevelError,
}

// SlogLevel returns Level as a slog.Level; an invalid level (which Validate
// rejects) gives slog.LevelInfo.
func (l Log) SlogLevel() slog.Level {
	if lv, ok := logLevels[strings.ToLower(l.Level)]; ok {
		return lv
	}
	return slog.LevelInfo
}

// Engine selects where publications, history and presence live.
type Engine struct {
	// Type is EngineMemory (one node) or EngineRedis (several nodes).
	Type string `yaml:"type"`
	// RedisURL is the Redis to use: redis://[user:password@]host:port[/db]
	// (rediss:// for TLS). With RedisCluster it names the cluster's nodes:
	// redis://host1:port1?addr=host2:port2&addr=host3:port3. With
	// RedisSentinelMaster it names the sentinels.
	RedisURL string `yaml:"redis_url,omitempty"`
	// RedisShards, instead of RedisURL, lists several independent Redis
	// servers; channels are spread over them by consistent hashing.
	RedisShards []string `yaml:"redis_shards,omitempty"`
	// RedisCluster uses Redis Cluster (sharded PUB/SUB, hash-tagged keys).
	RedisCluster bool `yaml:"redis_cluster,omitempty"`
	// RedisSentinelMaster is the master name when RedisURL lists sentinels.
	RedisSentinelMaster string `yaml:"redis_sentinel_master,omitempty"`
	// RedisPrefix starts every Redis key and channel (default "centrifuge"),
	// so several installations can share one Redis.
	RedisPrefix string `yaml:"redis_prefix,omitempty"`
}

// Metrics configures how the node's metrics leave it.
type Metrics struct {
	// Prometheus serves the metrics as Prometheus text at /metrics.
	Prometheus bool `yaml:"prometheus"`
	// Graphite sends them to Graphite over UDP when Address is set.
	Graphite Graphite `yaml:"graphite"`
}

// Debug configures the profiling listener.
type Debug struct {
	// Address is host:port of a listener serving net/http/pprof at
	// /debug/pprof/ (e.g. 127.0.0.1:6060); empty (the default) serves nothing.
	// It has no authentication: bind it to a loopback or private interface.
	Address string `yaml:"address"`
}

// Graphite is the UDP exporter's configuration.
type Graphite struct {
	// Address is host:port of the carbon UDP listener; empty disables it.
	Address string `yaml:"address"`
	// Prefix starts every path; the node name follows it.
	Prefix string `yaml:"prefix"`
	// Interval between sends.
	Interval duration.Duration `yaml:"interval"`
	// MaxPacketSize bounds one datagram, in bytes.
	MaxPacketSize int `yaml:"max_packet_size"`
}

// SockJS configures the SockJS endpoints. Sessions of its HTTP transports
// live on one node: behind a load balancer they need sticky sessions
// (deploy/nginx.conf).
type SockJS struct {
	// HeartbeatDelay is how often an idle SockJS session gets a heartbeat
	// frame, so proxies keep its long-lived requests open.
	HeartbeatDelay duration.Duration `yaml:"heartbeat_delay"`
	// DisconnectDelay closes a session whose client has had no receiving
	// request (poll or stream) open for this long.
	DisconnectDelay duration.Duration `yaml:"disconnect_delay"`
	// ClientURL is the sockjs-client script that the iframe-based transports
	// (iframe-htmlfile, iframe-eventsource, iframe-xhr-polling) load; it must be
	// the version the page uses.
	ClientURL string `yaml:"client_url"`
}

// Client configures client connections, for every project.
type Client struct {
	// PingInterval is how often the server pings a connection.
	PingInterval duration.Duration `yaml:"ping_interval"`
	// PongTimeout is how long the server waits for the pong (then disconnect
	// 3012); it must be shorter than PingInterval.
	PongTimeout duration.Duration `yaml:"pong_timeout"`
	// ConnectTimeout closes connections that send no connect command in time
	// (stale).
	ConnectTimeout duration.Duration `yaml:"connect_timeout"`
	// ExpiredCloseDelay is the grace after a connection's token expires before
	// disconnect 3005, to let the client refresh.
	ExpiredCloseDelay duration.Duration `yaml:"expired_close_delay"`
	// ExpiredSubCloseDelay is the same for subscription tokens (unsubscribe or
	// disconnect 3006).
	ExpiredSubCloseDelay duration.Duration `yaml:"expired_sub_close_delay"`
	// MaxFrameSize caps one incoming frame, in bytes.
	MaxFrameSize int `yaml:"max_frame_size"`
	// MaxChannelLength caps a channel name, in bytes.
	MaxChannelLength int `yaml:"max_channel_length"`
	// MaxSubscriptions caps the subscriptions of one connection: a subscribe
	// beyond it disconnects with 3505 (channel limit).
	MaxSubscriptions int `yaml:"max_subscriptions"`
	// MaxConnectionsPerUser caps the connections of one user (not anonymous)
	// on one node: a connect beyond it disconnects with 3504. 0: no limit.
	MaxConnectionsPerUser int `yaml:"max_connections_per_user"`
	// MaxCommandsPerSecond is the rate of commands one connection may send,
	// with bursts up to CommandsBurst (default: the rate). A command beyond it
	// gets error 111; a connection that keeps sending while refused (more
	// than CommandsBurst refused commands with under a second between them)
	// is disconnected with 3013. 0: no limit.
	MaxCommandsPerSecond int `yaml:"max_commands_per_second"`
	CommandsBurst        int `yaml:"commands_burst"`
	// MaxPublicationSize caps the data of one publication, rpc or send from a
	// client (and what a publish proxy rewrites it to), in bytes: beyond it
	// error 106. 0: only MaxFrameSize bounds it.
	MaxPublicationSize int `yaml:"max_publication_size"`
	// MaxQueueSize caps a connection's pending writes, in bytes; beyond it the
	// client is disconnected as slow (3008).
	MaxQueueSize int `yaml:"max_queue_size"`
	// MaxWriteLag is how far the node's writers may fall behind (the age of
	// the oldest connection waiting to be written) before the server API's
	// publish and broadcast wait for them to catch up, for at most a second:
	// a node that cannot keep up slows its publishers down instead of
	// queueing every later delivery behind the backlog. 0: never wait.
	MaxWriteLag duration.Duration `yaml:"max_write_lag"`
	// HistoryMaxLimit caps the publications one history call or one recovery
	// returns.
	HistoryMaxLimit int `yaml:"history_max_limit"`
	// PresenceUpdateInterval is how often a connection refreshes its presence.
	PresenceUpdateInterval duration.Duration `yaml:"presence_update_interval"`
	// PresenceTTL is how long a presence entry lives without a refresh; it
	// must be longer than PresenceUpdateInterval.
	PresenceTTL duration.Duration `yaml:"presence_ttl"`
}

// Default returns the configuration used for every key that no layer sets.
// It has no projects.
func Default() Config {
	name, err := os.Hostname()
	if err != nil || name == "" {
		name = "centrifuge"
	}
	return Config{
		Name: name,
		HTTP: HTTP{
			Address:         "127.0.0.1",
			Port:            8000,
			APIMaxBodySize:  1 << 20,
			ShutdownTimeout: seconds(10),

			ReadHeaderTimeout:  seconds(10),
			ReadBodyTimeout:    seconds(10),
			IdleTimeout:        seconds(60),
			WriteTimeout:       seconds(10),
			APIMaxResponseSize: 64 << 20,
			// A frame of client.max_frame_size, escaped as a JSON string.
			EmulationMaxBodySize: 256 << 10,
		},
		SockJS: SockJS{
			HeartbeatDelay:  seconds(25),
			DisconnectDelay: seconds(5),
			ClientURL:       "https://cdn.jsdelivr.net/npm/sockjs-client@1.6.1/dist/sockjs.min.js",
		},
		Metrics: Metrics{Prometheus: true, Graphite: Graphite{Prefix: "centrifuge", Interval: seconds(10), MaxPacketSize: 512}},
		Log:     Log{Level: "info"},
		Engine:  Engine{Type: EngineMemory},
		Admin:   DefaultAdmin(),
		Client: Client{
			PingInterval:           seconds(25),
			PongTimeout:            seconds(8),
			ConnectTimeout:         seconds(10),
			ExpiredCloseDelay:      seconds(25),
			ExpiredSubCloseDelay:   seconds(25),
			MaxFrameSize:           65536,
			MaxChannelLength:       255,
			MaxSubscriptions:       128,
			MaxConnectionsPerUser:  0,
			MaxCommandsPerSecond:   100,
			CommandsBurst:          200,
			MaxPublicationSize:     65536,
			MaxQueueSize:           1 << 20,
			MaxWriteLag:            duration.Duration(2 * time.Millisecond),
			HistoryMaxLimit:        1000,
			PresenceUpdateInterval: seconds(25),
			PresenceTTL:            seconds(60),
		},
	}
}

func seconds(n int) duration.Duration { return duration.Duration(time.Duration(n) * time.Second) }

// Validate checks every section and the projects, reporting all problems it
// finds at once.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if strings.TrimSpace(c.Name) == "" {
		add("name must not be empty")
	}

	if c.HTTP.Port < 0 || c.HTTP.Port > 65535 {
		add("http.port %d out of range 0..65535", c.HTTP.Port)
	}
	for _, o := range c.HTTP.AllowedOrigins {
		if strings.TrimSpace(o) == "" || strings.ContainsAny(o, " \t") {
			add("http.allowed_origins: bad origin %q", o)
		}
	}
	if c.HTTP.APIMaxBodySize <= 0 {
		add("http.api_max_body_size must be > 0")
	}
	if c.HTTP.ShutdownTimeout <= 0 {
		add("http.shutdown_timeout must be > 0")
	}
	if c.HTTP.EmulationMaxBodySize <= 0 {
		add("http.emulation_max_body_size must be > 0")
	}
	for key, d := range map[string]duration.Duration{
		"read_header_timeout": c.HTTP.ReadHeaderTimeout, "read_body_timeout": c.HTTP.ReadBodyTimeout,
		"idle_timeout": c.HTTP.IdleTimeout, "write_timeout": c.HTTP.WriteTimeout,
	} {
		if d <= 0 {
			add("http.%s must be > 0", key)
		}
	}
	if c.HTTP.APIMaxResponseSize <= 0 {
		add("http.api_max_response_size must be > 0")
	}
	if g := c.Metrics.Graphite; g.Address != "" {
		if _, _, err := net.SplitHostPort(g.Address); err != nil {
			add("metrics.graphite.address %q: want host:port", g.Address)
		}
		if g.Interval <= 0 {
			add("metrics.graphite.interval must be > 0")
		}
		if g.MaxPacketSize < 64 || g.MaxPacketSize > 65000 {
			add("metrics.graphite.max_packet_size must be within 64..65000")
		}
	}
	if c.SockJS.HeartbeatDelay <= 0 {
		add("sockjs.heartbeat_delay must be > 0")
	}
	if c.SockJS.DisconnectDelay <= 0 {
		add("sockjs.disconnect_delay must be > 0")
	}
	if u, err := url.Parse(c.SockJS.ClientURL); c.SockJS.ClientURL == "" || err != nil || (u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https") {
		add("sockjs.client_url %q: want the http(s) URL of sockjs-client's sockjs.min.js", c.SockJS.ClientURL)
	}

	if _, ok := logLevels[strings.ToLower(c.Log.Level)]; !ok {
		add("log.level %q: use debug, info, warn or error", c.Log.Level)
	}

	switch c.Engine.Type {
	case EngineMemory:
	case EngineRedis:
		e := c.Engine
		switch {
		case e.RedisURL == "" && len(e.RedisShards) == 0:
			add("engine.redis_url (or engine.redis_shards) is required with engine.type %q", EngineRedis)
		case e.RedisURL != "" && len(e.RedisShards) > 0:
			add("engine.redis_url and engine.redis_shards are exclusive: use one")
		case len(e.RedisShards) > 0 && (e.RedisCluster || e.RedisSentinelMaster != ""):
			add("engine.redis_shards cannot be combined with redis_cluster or redis_sentinel_master")
		case e.RedisCluster && e.RedisSentinelMaster != "":
			add("engine.redis_cluster and engine.redis_sentinel_master are exclusive")
		}
	default:
		add("engine.type %q unknown: use %q or %q", c.Engine.Type, EngineMemory, EngineRedis)
	}

	c.validateStoreAndAdmin(add)

	cl := c.Client
	positive := []struct {
		key string
		d   duration.Duration
	}{
		{"ping_interval", cl.PingInterval},
		{"pong_timeout", cl.PongTimeout},
		{"connect_timeout", cl.ConnectTimeout},
		{"presence_update_interval", cl.PresenceUpdateInterval},
		{"presence_ttl", cl.PresenceTTL},
	}
	for _, p := range positive {
		if p.d <= 0 {
			add("client.%s must be > 0", p.key)
		}
	}
	if cl.ExpiredCloseDelay < 0 {
		add("client.expired_close_delay must not be negative")
	}
	if cl.ExpiredSubCloseDelay < 0 {
		add("client.expired_sub_close_delay must not be negative")
	}
	if cl.MaxWriteLag < 0 {
		add("client.max_write_lag must not be negative")
	}
	if cl.PingInterval > 0 && cl.PongTimeout >= cl.PingInterval {
		add("client.pong_timeout (%s) must be shorter than client.ping_interval (%s)", cl.PongTimeout, cl.PingInterval)
	}
	if cl.PresenceUpdateInterval > 0 && cl.PresenceTTL <= cl.PresenceUpdateInterval {
		add("client.presence_ttl (%s) must be longer than client.presence_update_interval (%s)", cl.PresenceTTL, cl.PresenceUpdateInterval)
	}
	sizes := []struct {
		key string
		n   int
	}{
		{"max_frame_size", cl.MaxFrameSize},
		{"max_channel_length", cl.MaxChannelLength},
		{"max_subscriptions", cl.MaxSubscriptions},
		{"max_queue_size", cl.MaxQueueSize},
		{"history_max_limit", cl.HistoryMaxLimit},
	}
	for _, s := range sizes {
		if s.n <= 0 {
			add("client.%s must be > 0", s.key)
		}
	}
	optional := []struct {
		key string
		n   int
	}{
		{"max_connections_per_user", cl.MaxConnectionsPerUser},
		{"max_commands_per_second", cl.MaxCommandsPerSecond},
		{"commands_burst", cl.CommandsBurst},
		{"max_publication_size", cl.MaxPublicationSize},
	}
	for _, s := range optional {
		if s.n < 0 {
			add("client.%s must not be negative (0 means no limit)", s.key)
		}
	}

	if len(c.Projects) == 0 {
		add("no projects configured: add one under projects (centrifuge genconfig writes a working file)")
	} else if _, err := structure.NewRegistry(c.Projects); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// warnings reports settings that are valid but probably unintended.
func (c *Config) warnings() []string {
	var out []string
	if len(c.Projects) > 0 {
		found := false
		for _, p := range c.Projects {
			if p.Name == structure.DefaultProject {
				found = true
				break
			}
		}
		if !found {
			out = append(out, fmt.Sprintf("no project named %q: the unprefixed endpoints (/connection/websocket, /api/<method>) will answer \"unknown project\"", structure.DefaultProject))
		}
	}
	for _, o := range c.HTTP.AllowedOrigins {
		if o == "*" {
			out = append(out, `http.allowed_origins contains "*": browsers on any site may connect`)
			break
		}
	}
	return out
}
