package runner

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestListeningAddr(t *testing.T) {
	log := "port 0: the server picks a free port\ntime=x level=INFO msg=listening addr=127.0.0.1:45021 engine=memory\n"
	if got := listeningAddr([]byte(log)); got != "127.0.0.1:45021" {
		t.Fatalf("addr %q", got)
	}
	if got := listeningAddr([]byte("time=x level=INFO msg=starting\n")); got != "" {
		t.Fatalf("addr %q", got)
	}
}

func TestServerConfigYAML(t *testing.T) {
	y := ServerConfig{Engine: "redis", RedisURL: "redis://127.0.0.1:1", Secret: "s", APIKey: "k", MaxQueueSize: 10}.YAML()
	for _, want := range []string{"type: redis", `redis_url: "redis://127.0.0.1:1"`, "max_queue_size: 10", `secret: "s"`, "allow_user_limited_channels: true"} {
		if !strings.Contains(y, want) {
			t.Errorf("config lacks %q:\n%s", want, y)
		}
	}
}

func TestServerConfigCentrifugoJSON(t *testing.T) {
	for _, eng := range []string{"memory", "redis"} {
		text, file, err := ServerConfig{Kind: KindCentrifugo, Engine: eng, RedisURL: "redis://127.0.0.1:1", Secret: "s", APIKey: "k", MaxQueueSize: 10, Port: 4321}.Render()
		if err != nil || file != "config.json" {
			t.Fatalf("%s: file %q, err %v", eng, file, err)
		}
		var cfg struct {
			HTTPServer struct {
				Address string `json:"address"`
				Port    int    `json:"port"`
			} `json:"http_server"`
			Engine struct {
				Type  string `json:"type"`
				Redis *struct {
					Address []string `json:"address"`
				} `json:"redis"`
			} `json:"engine"`
			Client struct {
				Token struct {
					HMACSecretKey string `json:"hmac_secret_key"`
				} `json:"token"`
				QueueMaxSize int `json:"queue_max_size"`
			} `json:"client"`
			HTTPAPI struct {
				Key string `json:"key"`
			} `json:"http_api"`
			Channel struct {
				WithoutNamespace map[string]bool `json:"without_namespace"`
			} `json:"channel"`
			Health struct {
				Enabled bool `json:"enabled"`
			} `json:"health"`
		}
		if err := json.Unmarshal([]byte(text), &cfg); err != nil {
			t.Fatalf("%s: %v\n%s", eng, err, text)
		}
		if cfg.HTTPServer.Address != "127.0.0.1" || cfg.HTTPServer.Port != 4321 || cfg.Engine.Type != eng ||
			cfg.Client.Token.HMACSecretKey != "s" || cfg.Client.QueueMaxSize != 10 || cfg.HTTPAPI.Key != "k" ||
			!cfg.Channel.WithoutNamespace["allow_subscribe_for_client"] || !cfg.Channel.WithoutNamespace["allow_user_limited_channels"] ||
			!cfg.Health.Enabled {
			t.Errorf("%s: config %+v from\n%s", eng, cfg, text)
		}
		if (eng == "redis") != (cfg.Engine.Redis != nil && len(cfg.Engine.Redis.Address) == 1 && cfg.Engine.Redis.Address[0] == "redis://127.0.0.1:1") {
			t.Errorf("%s: redis address %+v", eng, cfg.Engine.Redis)
		}
	}
}

func TestServerConfigRenderKinds(t *testing.T) {
	text, file, err := ServerConfig{Engine: "memory", Secret: "s", APIKey: "k"}.Render()
	if err != nil || file != "centrifuge.yaml" || !strings.Contains(text, "engine: {type: memory}") {
		t.Errorf("default kind: %q %v\n%s", file, err, text)
	}
	if _, _, err := (ServerConfig{Kind: "nginx"}).Render(); err == nil {
		t.Error("unknown kind rendered")
	}
}
