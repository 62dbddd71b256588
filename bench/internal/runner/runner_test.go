package runner

import (
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
