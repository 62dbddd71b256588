package config

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/centrifugehq/centrifuge/server/internal/duration"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

// Sample returns a working configuration: the defaults plus a project named
// structure.DefaultProject with a fresh random secret and API key, and a
// namespace "chat" with history and recovery.
func Sample() (Config, error) {
	secret, err := RandomSecret()
	if err != nil {
		return Config{}, err
	}
	apiKey, err := RandomSecret()
	if err != nil {
		return Config{}, err
	}
	password, err := RandomPassword()
	if err != nil {
		return Config{}, err
	}
	c := Default()
	c.DataDir = "data"
	c.Admin.Password = password
	c.Projects = []structure.Project{{
		Name:   structure.DefaultProject,
		Secret: secret,
		APIKey: apiKey,
		Options: structure.ChannelOptions{
			Presence:                 true,
			JoinLeave:                true,
			HistorySize:              100,
			HistoryTTL:               duration.Duration(300 * time.Second),
			AllowSubscribeForClient:  true,
			AllowUserLimitedChannels: true,
		},
		Namespaces: []structure.Namespace{{
			Name: "chat",
			Options: structure.ChannelOptions{
				Presence:                true,
				JoinLeave:               true,
				HistorySize:             10,
				HistoryTTL:              duration.Duration(60 * time.Second),
				ForceRecovery:           true,
				AllowSubscribeForClient: true,
			},
		}},
	}}
	return c, nil
}

// RandomSecret returns 32 bytes from crypto/rand, hex-encoded.
func RandomSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random secret: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// RandomPassword returns a fresh admin password: 12 random bytes, hex.
func RandomPassword() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random password: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// sampleComments documents keys in the YAML that Marshal writes.
var sampleComments = map[string]string{
	"http":                         "Listener for client connections and the server API.",
	"http.address":                 `Interface to listen on: "0.0.0.0" for all.`,
	"http.port":                    "TCP port; 0 picks any free port.",
	"http.allowed_origins":         `Origins browsers may connect from: empty allows same-origin only, "*" any.`,
	"http.api_max_body_size":       "Largest server API request body, in bytes.",
	"http.emulation_max_body_size": "Largest POST /emulation body and SockJS send, in bytes.",
	"http.disable_websocket":       "Refuse WebSocket upgrades so clients fall back to HTTP transports (tests).",
	"http.read_header_timeout":     "Longest time to read a request's headers.",
	"http.read_body_timeout":       "Longest time to read a request's body; slower clients are cut off.",
	"http.idle_timeout":            "Closes keep-alive connections idle this long.",
	"http.write_timeout":           "Longest time to write a response, or one write to a streaming client.",
	"http.api_max_response_size":   "Largest server API response (a whole batch), in bytes; beyond, commands get error 106.",
	"sockjs":                       "SockJS (/connection/sockjs): behind a load balancer it needs sticky sessions.",
	"sockjs.heartbeat_delay":       "Heartbeat frames keep idle SockJS requests open through proxies.",
	"sockjs.disconnect_delay":      "Closes a session whose client has had no poll or stream open this long.",
	"sockjs.client_url":            "sockjs-client script for the iframe transports: the version your page uses.",
	"log.level":                    "debug, info, warn or error.",
	"engine.type":                  "memory: one node, state lost on restart.",
	"client":                       "Limits and timings of client connections, for every project.",
	"client.connect_timeout":       "Closes connections that send no connect command in time.",
	"client.expired_close_delay":   "Grace after a connection token expires before disconnect 3005.",
	"client.max_queue_size":        "Pending bytes to a client before it is disconnected as slow.",
	"client.max_write_lag": "How far the node's writers may fall behind before API publish and broadcast\n" +
		"wait for them (at most 1 s): overload slows publishers, not deliveries. 0: never wait.",
	"client.history_max_limit": "Most publications one history call or recovery returns.",
	"client.max_subscriptions": "Subscriptions per connection; a subscribe beyond it disconnects with 3505.",
	"client.max_connections_per_user": "Connections per user on one node; beyond it connect disconnects with\n" +
		"3504. 0: no limit.",
	"client.max_commands_per_second": "Commands per second per connection (bursts up to commands_burst):\n" +
		"beyond it error 111, and disconnect 3013 when the client keeps on. 0: no limit.",
	"client.max_publication_size": "Largest data of a client's publish, rpc or send, in bytes (error 106).",
	"data_dir":                    "Where the server keeps projects (structure.db, SQLite) across restarts.",
	"store": "Where projects live: memory, sqlite (in data_dir) or redis (the engine's);\n" +
		"empty picks redis with the redis engine, sqlite with a data_dir, memory otherwise.\n" +
		"The projects below seed the store on first start; then the store wins.",
	"admin": "The admin UI at / and its API at /admin/api/ (enabled: false removes them).\n" +
		"password: the password or its bcrypt hash (centrifuge admin hash-password);\n" +
		"tokens: admin tokens for scripts (Authorization: Bearer ...), or sha256:<hex>.",
	"projects": "Tenants: each has its own secret (HS256 tokens), API key, channel options\n" +
		"and namespaces. The unprefixed endpoints serve the project named default;\n" +
		"others are under /connection/<project>/... and /api/<project>/<method>.\n" +
		"The web app can stay in charge (see README, \"The web app in charge\"):\n" +
		"  options/namespaces: subscribe_proxy: {url, timeout, headers, static_headers},\n" +
		"    proxy_subscribe (every channel, not only $private), publish_proxy\n" +
		"  project: connect_proxy, refresh_proxy, rpc_proxy; retries of failed requests:\n" +
		"    max_auth_attempts (5), back_off_interval (100ms), back_off_max_timeout (5s)\n" +
		"  project: connection_check_address, connection_lifetime (1h),\n" +
		"    connection_check_interval (10s): the batched connection check",
}

// Marshal encodes c as a config file: JSON when path ends in ".json", YAML
// with comments otherwise. Load reads the result back unchanged. Name is
// left out when it is the hostname default, so the file fits any host.
func Marshal(c Config, path string) ([]byte, error) {
	var doc yaml.Node
	if err := doc.Encode(c); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	header := "# Centrifuge configuration. Every key can also be set with an environment\n" +
		"# variable CENTRIFUGE_<SECTION>_<KEY> (e.g. CENTRIFUGE_HTTP_PORT=9000) and a few\n" +
		"# with flags (centrifuge serve -h). Durations: 25s, 5m or a number of seconds.\n"
	if c.Name == Default().Name {
		removeKey(&doc, "name")
		header += "# name (the node name) is not set: it defaults to the hostname.\n"
	}
	if strings.EqualFold(filepath.Ext(path), ".json") {
		var v any
		if err := doc.Decode(&v); err != nil {
			return nil, fmt.Errorf("encode config: %w", err)
		}
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("encode config: %w", err)
		}
		return append(b, '\n'), nil
	}
	comment(&doc, "")
	var buf bytes.Buffer
	buf.WriteString(header + "\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	return buf.Bytes(), nil
}

// removeKey drops a top-level key from an encoded mapping.
func removeKey(n *yaml.Node, key string) {
	m := n
	if m.Kind == yaml.DocumentNode && len(m.Content) == 1 {
		m = m.Content[0]
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return
		}
	}
}

// comment attaches sampleComments to the keys of mappings under n.
func comment(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			comment(c, path)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := joinKey(path, n.Content[i].Value)
			if text, ok := sampleComments[key]; ok {
				n.Content[i].HeadComment = text
			}
			comment(n.Content[i+1], key)
		}
	}
}
