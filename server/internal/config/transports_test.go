package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/config"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

func TestTransportKeys(t *testing.T) {
	c := config.Default()
	if c.HTTP.EmulationMaxBodySize != 256<<10 || c.HTTP.DisableWebSocket ||
		c.SockJS.HeartbeatDelay.D() != 25*time.Second || c.SockJS.DisconnectDelay.D() != 5*time.Second ||
		!strings.HasSuffix(c.SockJS.ClientURL, "/sockjs.min.js") {
		t.Fatalf("defaults: %+v %+v", c.HTTP, c.SockJS)
	}
	path := writeFile(t, "c.yaml", "http: {disable_websocket: true, emulation_max_body_size: 1000}\n"+
		"sockjs: {heartbeat_delay: 2s, disconnect_delay: 1s, client_url: \"http://127.0.0.1:9/sockjs.min.js\"}\n"+projectYAML)
	got, _ := load(t, config.LoadOptions{Path: path, Environ: []string{"CENTRIFUGE_SOCKJS_HEARTBEAT_DELAY=3s"}})
	if !got.HTTP.DisableWebSocket || got.HTTP.EmulationMaxBodySize != 1000 || got.SockJS.HeartbeatDelay.D() != 3*time.Second ||
		got.SockJS.DisconnectDelay.D() != time.Second || got.SockJS.ClientURL != "http://127.0.0.1:9/sockjs.min.js" {
		t.Fatalf("loaded: %+v %+v", got.HTTP, got.SockJS)
	}

	bad := config.Default()
	bad.Projects = []structure.Project{validProject()}
	bad.HTTP.EmulationMaxBodySize = 0
	bad.SockJS.HeartbeatDelay = 0
	bad.SockJS.DisconnectDelay = -1
	bad.SockJS.ClientURL = "ftp://x/sockjs.js"
	err := bad.Validate()
	for _, want := range []string{"http.emulation_max_body_size", "sockjs.heartbeat_delay", "sockjs.disconnect_delay", "sockjs.client_url"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("validate: %v, want %s", err, want)
		}
	}
}
