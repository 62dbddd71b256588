package config_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/config"
	"github.com/centrifugehq/centrifuge/server/internal/duration"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

const projectYAML = `
projects:
  - name: default
    secret: secret-0123456789abcdef
    api_key: api-key-0123456789abcdef
    options:
      presence: true
      history_size: 10
      history_ttl: 60s
    namespaces:
      - name: chat
        options:
          join_leave: true
`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func load(t *testing.T, opts config.LoadOptions) (config.Config, []string) {
	t.Helper()
	cfg, warnings, err := config.Load(opts)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return cfg, warnings
}

func loadErr(t *testing.T, opts config.LoadOptions, want ...string) {
	t.Helper()
	_, _, err := config.Load(opts)
	if err == nil {
		t.Fatalf("Load: no error, want one containing %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

func validProject() structure.Project {
	return structure.Project{Name: "default", Secret: "secret-0123456789abcdef"}
}

func TestDefault(t *testing.T) {
	c := config.Default()
	if c.Name == "" || c.HTTP.Address != "127.0.0.1" || c.HTTP.Port != 8000 || c.HTTP.APIMaxBodySize != 1<<20 ||
		c.HTTP.ShutdownTimeout.D() != 10*time.Second || c.Log.Level != "info" || c.Engine.Type != "memory" {
		t.Fatalf("defaults: %+v", c)
	}
	cl := c.Client
	if cl.PingInterval.D() != 25*time.Second || cl.PongTimeout.D() != 8*time.Second ||
		cl.ConnectTimeout.D() != 10*time.Second || cl.ExpiredCloseDelay.D() != 25*time.Second ||
		cl.ExpiredSubCloseDelay.D() != 25*time.Second || cl.MaxFrameSize != 65536 ||
		cl.MaxChannelLength != 255 || cl.MaxSubscriptions != 128 || cl.MaxQueueSize != 1048576 ||
		cl.HistoryMaxLimit != 1000 || cl.PresenceUpdateInterval.D() != 25*time.Second ||
		cl.PresenceTTL.D() != 60*time.Second || cl.MaxConnectionsPerUser != 0 || cl.MaxCommandsPerSecond != 100 ||
		cl.CommandsBurst != 200 || cl.MaxPublicationSize != 65536 || cl.MaxWriteLag.D() != 2*time.Millisecond {
		t.Fatalf("client defaults: %+v", cl)
	}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "no projects") {
		t.Fatalf("defaults without projects: err = %v", err)
	}
	c.Projects = []structure.Project{validProject()}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := c.HTTP.ListenAddr(); got != "127.0.0.1:8000" {
		t.Fatalf("ListenAddr = %q", got)
	}
}

func TestLoadYAMLKeepsDefaults(t *testing.T) {
	path := writeFile(t, "c.yaml", "http:\n  port: 9000\nclient:\n  ping_interval: 10\n  pong_timeout: 2s\n"+projectYAML)
	cfg, warnings := load(t, config.LoadOptions{Path: path})
	if len(warnings) != 0 {
		t.Fatalf("warnings: %q", warnings)
	}
	want := config.Default()
	want.HTTP.Port = 9000
	want.Client.PingInterval = duration.Duration(10 * time.Second)
	want.Client.PongTimeout = duration.Duration(2 * time.Second)
	got := cfg
	got.Projects = nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	p := cfg.Projects[0]
	if p.Name != "default" || !p.Options.Presence || p.Options.HistoryTTL.D() != time.Minute ||
		len(p.Namespaces) != 1 || !p.Namespaces[0].Options.JoinLeave {
		t.Fatalf("project: %+v", p)
	}
}

func TestLoadJSON(t *testing.T) {
	path := writeFile(t, "c.json", "{\n\t\"http\": {\n\t\t\"port\": 9001,\n\t\t\"allowed_origins\": [\"https://a.example\"]\n\t},\n"+
		"\t\"client\": {\"presence_ttl\": \"90s\"},\n"+
		"\t\"projects\": [{\"name\": \"default\", \"secret\": \"secret-0123456789abcdef\"}]\n}\n")
	cfg, _ := load(t, config.LoadOptions{Path: path})
	if cfg.HTTP.Port != 9001 || cfg.HTTP.AllowedOrigins[0] != "https://a.example" ||
		cfg.Client.PresenceTTL.D() != 90*time.Second || cfg.Projects[0].Name != "default" {
		t.Fatalf("cfg: %+v", cfg)
	}
}

func TestFileErrors(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		want          []string
	}{
		{"unknown top-level key", "htp:\n  port: 1\n" + projectYAML, []string{"c.yaml:1:", `unknown key "htp"`, `did you mean "http"`}},
		{"unknown nested key", "http:\n  address: x\n  prot: 1\n" + projectYAML, []string{"c.yaml:3:", `unknown key "prot" in http`, `"port"`}},
		{"unknown project option", strings.Replace(projectYAML, "presence:", "presense:", 1), []string{`unknown key "presense" in projects[0].options`, `"presence"`}},
		{"bad duration", "client:\n  ping_interval: soon\n" + projectYAML, []string{"c.yaml:2:", "client.ping_interval", "bad duration"}},
		{"bad int", "http:\n  port: eighty\n" + projectYAML, []string{"c.yaml:2:", "eighty"}},
		{"syntax", "http:\n  port: [1\n", []string{"c.yaml:"}},
		{"two documents", projectYAML + "---\nname: x\n", []string{"second YAML document"}},
		{"duplicate key", "name: a\nname: b\n" + projectYAML, []string{"c.yaml:2:", "already defined"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loadErr(t, config.LoadOptions{Path: writeFile(t, "c.yaml", tc.content)}, tc.want...)
		})
	}
}

func TestMissingFile(t *testing.T) {
	_, _, err := config.Load(config.LoadOptions{Path: filepath.Join(t.TempDir(), "nope.yaml")})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
}

func TestEmptyFileKeepsDefaults(t *testing.T) {
	path := writeFile(t, "c.yaml", "# only a comment\n")
	env := []string{`CENTRIFUGE_PROJECTS=[{"name":"default","secret":"secret-0123456789abcdef"}]`}
	cfg, _ := load(t, config.LoadOptions{Path: path, Environ: env})
	if cfg.HTTP.Port != 8000 || len(cfg.Projects) != 1 {
		t.Fatalf("cfg: %+v", cfg)
	}
}

func TestEnvOverridesFile(t *testing.T) {
	path := writeFile(t, "c.yaml", "name: from-file\nhttp:\n  port: 9000\n"+projectYAML)
	env := []string{
		"PATH=/bin",
		"CENTRIFUGE_NAME=node-7",
		"CENTRIFUGE_HTTP_PORT=9100",
		"CENTRIFUGE_HTTP_ADDRESS=0.0.0.0",
		"CENTRIFUGE_HTTP_ALLOWED_ORIGINS=https://a.example, https://b.example,",
		"CENTRIFUGE_HTTP_SHUTDOWN_TIMEOUT=3s",
		"CENTRIFUGE_LOG_LEVEL=debug",
		"CENTRIFUGE_ENGINE_TYPE=memory",
		"CENTRIFUGE_CLIENT_PING_INTERVAL=30",
		"CENTRIFUGE_CLIENT_MAX_SUBSCRIPTIONS=7",
		"CENTRIFUGE_CLIENT_EXPIRED_SUB_CLOSE_DELAY=1m",
		"CENTRIFUGE_CLIENT_MAX_FRAME_SIZE=", // empty: unset
	}
	cfg, warnings := load(t, config.LoadOptions{Path: path, Environ: env})
	if len(warnings) != 0 {
		t.Fatalf("warnings: %q", warnings)
	}
	if cfg.Name != "node-7" || cfg.HTTP.Port != 9100 || cfg.HTTP.Address != "0.0.0.0" ||
		!reflect.DeepEqual(cfg.HTTP.AllowedOrigins, []string{"https://a.example", "https://b.example"}) ||
		cfg.HTTP.ShutdownTimeout.D() != 3*time.Second || cfg.Log.Level != "debug" ||
		cfg.Client.PingInterval.D() != 30*time.Second || cfg.Client.MaxSubscriptions != 7 ||
		cfg.Client.ExpiredSubCloseDelay.D() != time.Minute || cfg.Client.MaxFrameSize != 65536 {
		t.Fatalf("cfg: %+v", cfg)
	}
	if cfg.Projects[0].Secret != "secret-0123456789abcdef" {
		t.Fatal("file projects lost")
	}
}

func TestEnvProjectsReplaceFile(t *testing.T) {
	path := writeFile(t, "c.yaml", projectYAML)
	env := []string{`CENTRIFUGE_PROJECTS=[{"name":"env","secret":"env-secret-0123456789","options":{"history_size":5,"history_ttl":"30s"}}]`}
	cfg, warnings := load(t, config.LoadOptions{Path: path, Environ: env})
	if len(cfg.Projects) != 1 || cfg.Projects[0].Name != "env" || cfg.Projects[0].Options.HistoryTTL.D() != 30*time.Second {
		t.Fatalf("projects: %+v", cfg.Projects)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], `no project named "default"`) {
		t.Fatalf("warnings: %q", warnings)
	}
}

func TestEnvErrors(t *testing.T) {
	base := writeFile(t, "c.yaml", projectYAML)
	for _, tc := range []struct {
		env  string
		want string
	}{
		{"CENTRIFUGE_HTTP_PORT=abc", "CENTRIFUGE_HTTP_PORT"},
		{"CENTRIFUGE_CLIENT_PING_INTERVAL=soon", "CENTRIFUGE_CLIENT_PING_INTERVAL"},
		{"CENTRIFUGE_PROJECTS={}", "CENTRIFUGE_PROJECTS"},
		{`CENTRIFUGE_PROJECTS=[{"name":"a","secrt":"x"}]`, "secrt"},
		{"CENTRIFUGE_LOG_LEVEL=loud", "log.level"},
	} {
		loadErr(t, config.LoadOptions{Path: base, Environ: []string{tc.env}}, tc.want)
	}
}

func TestUnknownEnvWarning(t *testing.T) {
	path := writeFile(t, "c.yaml", projectYAML)
	_, warnings := load(t, config.LoadOptions{Path: path, Environ: []string{"CENTRIFUGE_FOO=1", "CENTRIFUGE_HTTP_PROT=1", "OTHER_FOO=1"}})
	if len(warnings) != 2 {
		t.Fatalf("warnings: %q", warnings)
	}
	if !strings.Contains(warnings[0], "unknown environment variable CENTRIFUGE_FOO") {
		t.Errorf("warning %q", warnings[0])
	}
	if !strings.Contains(warnings[1], "CENTRIFUGE_HTTP_PROT") || !strings.Contains(warnings[1], "did you mean CENTRIFUGE_HTTP_PORT") {
		t.Errorf("warning %q", warnings[1])
	}
}

func TestOverridesBeatEnv(t *testing.T) {
	path := writeFile(t, "c.yaml", "http:\n  port: 9000\n"+projectYAML)
	env := []string{"CENTRIFUGE_HTTP_PORT=9100", "CENTRIFUGE_LOG_LEVEL=debug", "CENTRIFUGE_NAME=env", "CENTRIFUGE_HTTP_ADDRESS=10.0.0.1"}
	port, level, name := 9200, "warn", "flag"
	cfg, _ := load(t, config.LoadOptions{Path: path, Environ: env, Overrides: config.Overrides{Port: &port, LogLevel: &level, Name: &name}})
	if cfg.HTTP.Port != 9200 || cfg.Log.Level != "warn" || cfg.Name != "flag" || cfg.HTTP.Address != "10.0.0.1" {
		t.Fatalf("cfg: %+v", cfg)
	}
	zero := 0
	cfg, _ = load(t, config.LoadOptions{Path: path, Environ: env, Overrides: config.Overrides{Port: &zero}})
	if cfg.HTTP.Port != 0 {
		t.Fatalf("port override 0 ignored: %d", cfg.HTTP.Port)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*config.Config)
		want   string
	}{
		{"port", func(c *config.Config) { c.HTTP.Port = 70000 }, "http.port"},
		{"negative port", func(c *config.Config) { c.HTTP.Port = -1 }, "http.port"},
		{"body size", func(c *config.Config) { c.HTTP.APIMaxBodySize = 0 }, "api_max_body_size"},
		{"origin", func(c *config.Config) { c.HTTP.AllowedOrigins = []string{""} }, "allowed_origins"},
		{"log level", func(c *config.Config) { c.Log.Level = "verbose" }, "log.level"},
		{"redis without url", func(c *config.Config) { c.Engine.Type = "redis" }, "redis_url"},
		{"redis url and shards", func(c *config.Config) {
			c.Engine.Type, c.Engine.RedisURL, c.Engine.RedisShards = "redis", "redis://a", []string{"redis://b"}
		}, "exclusive"},
		{"redis cluster and sentinel", func(c *config.Config) {
			c.Engine.Type, c.Engine.RedisURL, c.Engine.RedisCluster, c.Engine.RedisSentinelMaster = "redis", "redis://a", true, "m"
		}, "exclusive"},
		{"engine", func(c *config.Config) { c.Engine.Type = "nats" }, "engine.type"},
		{"empty name", func(c *config.Config) { c.Name = "" }, "name"},
		{"ping", func(c *config.Config) { c.Client.PingInterval = 0 }, "ping_interval"},
		{"pong", func(c *config.Config) { c.Client.PongTimeout = c.Client.PingInterval }, "pong_timeout"},
		{"presence ttl", func(c *config.Config) { c.Client.PresenceTTL = c.Client.PresenceUpdateInterval }, "presence_ttl"},
		{"close delay", func(c *config.Config) { c.Client.ExpiredCloseDelay = -1 }, "expired_close_delay"},
		{"write lag", func(c *config.Config) { c.Client.MaxWriteLag = -1 }, "max_write_lag"},
		{"frame", func(c *config.Config) { c.Client.MaxFrameSize = 0 }, "max_frame_size"},
		{"queue", func(c *config.Config) { c.Client.MaxQueueSize = -5 }, "max_queue_size"},
		{"history limit", func(c *config.Config) { c.Client.HistoryMaxLimit = 0 }, "history_max_limit"},
		{"connections per user", func(c *config.Config) { c.Client.MaxConnectionsPerUser = -1 }, "max_connections_per_user"},
		{"commands per second", func(c *config.Config) { c.Client.MaxCommandsPerSecond = -1 }, "max_commands_per_second"},
		{"publication size", func(c *config.Config) { c.Client.MaxPublicationSize = -1 }, "max_publication_size"},
		{"proxy url", func(c *config.Config) {
			c.Projects[0].Options.SubscribeProxy = &structure.Proxy{URL: "app/subscribe"}
		}, "subscribe_proxy.url"},
		{"project", func(c *config.Config) { c.Projects[0].Secret = "short" }, "secret"},
		{"duplicate project", func(c *config.Config) { c.Projects = append(c.Projects, c.Projects[0]) }, "twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := config.Default()
			c.Projects = []structure.Project{validProject()}
			tc.mutate(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}

	c := config.Default()
	c.Projects = []structure.Project{validProject()}
	c.HTTP.Port = 0
	c.Log.Level = "DEBUG"
	c.Client.ExpiredCloseDelay = 0
	if err := c.Validate(); err != nil {
		t.Fatalf("port 0, upper-case level, zero delay: %v", err)
	}
}

func TestValidateReportsAll(t *testing.T) {
	c := config.Default()
	c.HTTP.Port = -1
	c.Log.Level = "x"
	err := c.Validate()
	for _, want := range []string{"http.port", "log.level", "no projects"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to mention %q", err, want)
		}
	}
}

func TestWarnings(t *testing.T) {
	path := writeFile(t, "c.yaml", "http:\n  allowed_origins: ['*']\nprojects:\n  - name: other\n    secret: secret-0123456789abcdef\n")
	_, warnings := load(t, config.LoadOptions{Path: path})
	joined := strings.Join(warnings, "\n")
	if !strings.Contains(joined, `no project named "default"`) || !strings.Contains(joined, "any site") {
		t.Fatalf("warnings: %q", warnings)
	}
}

func TestSampleRoundTrip(t *testing.T) {
	sample, err := config.Sample()
	if err != nil {
		t.Fatal(err)
	}
	if err := sample.Validate(); err != nil {
		t.Fatal(err)
	}
	other, err := config.Sample()
	if err != nil {
		t.Fatal(err)
	}
	p := sample.Projects[0]
	if p.Name != "default" || len(p.Secret) != 64 || len(p.APIKey) != 64 || p.Secret == other.Projects[0].Secret {
		t.Fatalf("credentials: %+v", p)
	}
	if len(p.Namespaces) != 1 || p.Namespaces[0].Name != "chat" || !p.Namespaces[0].Options.ForceRecovery {
		t.Fatalf("namespaces: %+v", p.Namespaces)
	}
	for _, name := range []string{"c.yaml", "c.json"} {
		b, err := config.Marshal(sample, name)
		if err != nil {
			t.Fatal(err)
		}
		if name == "c.yaml" && !strings.HasPrefix(string(b), "#") {
			t.Errorf("YAML has no comments:\n%s", b)
		}
		if strings.Contains(string(b), "\nname:") || strings.Contains(string(b), `"name": "`+sample.Name+`"`) {
			t.Errorf("%s: default name written", name)
		}
		got, warnings := load(t, config.LoadOptions{Path: writeFile(t, name, string(b))})
		if len(warnings) != 0 {
			t.Errorf("%s: warnings %q", name, warnings)
		}
		want := sample
		want.HTTP.AllowedOrigins = []string{}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s round trip:\ngot  %+v\nwant %+v", name, got, want)
		}
	}
}

func TestMarshalKeepsName(t *testing.T) {
	c := config.Default()
	c.Name = "edge-1"
	b, err := config.Marshal(c, "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "name: edge-1") {
		t.Fatalf("name missing:\n%s", b)
	}
}

func TestSlogLevel(t *testing.T) {
	for level, want := range map[string]string{"debug": "DEBUG", "INFO": "INFO", "warn": "WARN", "error": "ERROR", "bad": "INFO"} {
		if got := (config.Log{Level: level}).SlogLevel().String(); got != want {
			t.Errorf("%s: %s, want %s", level, got, want)
		}
	}
}

func TestProxiesInFile(t *testing.T) {
	path := writeFile(t, "c.yaml", `projects:
  - name: default
    secret: secret-0123456789abcdef
    options:
      subscribe_proxy: {url: "http://app/sub", timeout: 2s, headers: [Cookie], static_headers: {X-Key: k}}
    namespaces:
      - {name: gated, options: {proxy_subscribe: true}}
    connect_proxy: {url: "http://app/connect"}
    max_auth_attempts: 3
    back_off_interval: 50ms
    connection_check_address: http://app/check
    connection_lifetime: 2s
`)
	cfg, _ := load(t, config.LoadOptions{Path: path})
	p := cfg.Projects[0]
	sp := p.Options.SubscribeProxy
	if sp == nil || sp.URL != "http://app/sub" || sp.Timeout.D() != 2*time.Second || sp.Headers[0] != "Cookie" ||
		sp.StaticHeaders["X-Key"] != "k" || !p.Namespaces[0].Options.ProxySubscribe || p.ConnectProxy.URL != "http://app/connect" ||
		p.Backoff().MaxAttempts != 3 || p.Backoff().Interval != 50*time.Millisecond || p.ConnectionCheck().Lifetime != 2*time.Second ||
		p.ConnectionCheck().Interval != 10*time.Second {
		t.Fatalf("project %+v", p)
	}
	bad := writeFile(t, "bad.yaml", "projects:\n  - name: default\n    secret: secret-0123456789abcdef\n    connect_proxy: {url: http://a, timout: 1s}\n")
	if _, _, err := config.Load(config.LoadOptions{Path: bad}); err == nil || !strings.Contains(err.Error(), `"timout"`) {
		t.Fatalf("typo: %v", err)
	}
}
