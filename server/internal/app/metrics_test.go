package app_test

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/centrifugehq/centrifuge/server/internal/config"
	"github.com/centrifugehq/centrifuge/server/internal/redistest"
)

// TestGraphiteOverUDP runs a server exporting every second to a UDP socket
// and checks the datagrams against the traffic driven.
func TestGraphiteOverUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	s := startServer(t, func(c *config.Config) {
		c.Name = "node-1"
		c.Metrics.Graphite = config.Graphite{Address: pc.LocalAddr().String(), Prefix: "cf", Interval: dur(time.Second), MaxPacketSize: 512}
	})
	c, _ := s.connect(t, "1")
	c.mustCall("subscribe", map[string]any{"channel": "news"})
	const n = 7
	for i := 0; i < n; i++ {
		s.publish("news", fmt.Sprint(i))
		c.pub("news")
	}
	sums := map[string]float64{}
	last := map[string]string{}
	buf := make([]byte, 65536)
	deadline := time.Now().Add(5 * time.Second)
	for sums["cf.node-1.api.publications.default.count"] < n || sums["cf.node-1.node.deliveries.count"] < n {
		if time.Now().After(deadline) {
			t.Fatalf("datagrams so far: %v", sums)
		}
		_ = pc.SetReadDeadline(deadline)
		m, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("read: %v (sums %v)", err, sums)
		}
		if m > 512 {
			t.Fatalf("datagram of %d bytes, limit 512", m)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(buf[:m])), "\n") {
			f := strings.Fields(line)
			if len(f) != 3 {
				t.Fatalf("bad line %q", line)
			}
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				t.Fatalf("bad value in %q", line)
			}
			if ts, err := strconv.ParseInt(f[2], 10, 64); err != nil || time.Since(time.Unix(ts, 0)) > time.Minute {
				t.Fatalf("bad timestamp in %q", line)
			}
			sums[f[0]] += v
			last[f[0]] = f[1]
		}
	}
	if sums["cf.node-1.api.publications.default.count"] != n || sums["cf.node-1.node.deliveries.count"] != n {
		t.Fatalf("counted %v publications and %v deliveries, want %d", sums["cf.node-1.api.publications.default.count"], sums["cf.node-1.node.deliveries.count"], n)
	}
	if last["cf.node-1.node.clients"] != "1" {
		t.Fatalf("clients gauge %q", last["cf.node-1.node.clients"])
	}
	if _, ok := last["cf.node-1.node.broadcast.p99"]; !ok {
		t.Fatalf("no broadcast timer: %v", last)
	}
}

func TestPrometheusMetrics(t *testing.T) {
	s := startServer(t)
	c, _ := s.connect(t, "1")
	c.mustCall("subscribe", map[string]any{"channel": "news"})
	for i := 0; i < 3; i++ {
		s.publish("news", `1`)
		c.pub("news")
	}
	slow, _ := s.connect(t, "2")
	s.api("disconnect", map[string]any{"user": "2"})
	slow.expectClose(3503)
	// The single /api endpoint: the request is "api", each command its method.
	line := `{"method":"publish","params":{"channel":"quiet","data":1}}` + "\n"
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+"/api", strings.NewReader(line+line))
	req.Header.Set("Authorization", "apikey "+apiKey)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /api: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	resp, err := http.Get("http://" + s.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	value := func(family string, labels map[string]string) float64 {
		t.Helper()
		f := families[family]
		if f == nil {
			t.Fatalf("no family %s", family)
		}
	next:
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
		t.Fatalf("no series %s%v", family, labels)
		return 0
	}
	for _, tc := range []struct {
		family string
		labels map[string]string
		want   float64
	}{
		{"centrifuge_node_clients", nil, 1},
		{"centrifuge_api_publications_total", map[string]string{"project": "default"}, 5},
		{"centrifuge_node_deliveries_total", nil, 3},
		{"centrifuge_transport_connects_total", map[string]string{"transport": "websocket"}, 2},
		{"centrifuge_client_disconnects_total", map[string]string{"code": "3503"}, 1},
		{"centrifuge_client_command_seconds", map[string]string{"method": "subscribe"}, 1},
		{"centrifuge_api_call_seconds", map[string]string{"method": "publish"}, 5},
		{"centrifuge_api_call_seconds", map[string]string{"method": "api"}, 1},
	} {
		if got := value(tc.family, tc.labels); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.family, tc.labels, got, tc.want)
		}
	}
	if got := value("centrifuge_client_write_delay_seconds", nil); got < 3 {
		t.Errorf("write delay observed %v times, want at least one per publication", got)
	}
	_, out := s.api("info", map[string]any{})
	node := out["result"].(map[string]any)["nodes"].([]any)[0].(map[string]any)
	m, _ := node["metrics"].(map[string]any)
	items, _ := m["items"].(map[string]any)
	if clients, _ := items["node.clients"].(float64); clients != 1 || m["interval"] != float64(2) {
		t.Fatalf("info metrics %v, want Centrifugo's {interval, items} with node.clients 1", node["metrics"])
	}
}

func TestHealthFollowsRedis(t *testing.T) {
	r := redistest.Start(t)
	s := startServer(t, func(c *config.Config) {
		c.Engine.Type = config.EngineRedis
		c.Engine.RedisURL = r.URL
		c.Engine.RedisPrefix = fmt.Sprintf("h%d", time.Now().UnixNano())
	})
	status := func(path string) int {
		resp, err := http.Get("http://" + s.addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	waitStatus := func(want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for status("/health") != want {
			if time.Now().After(deadline) {
				t.Fatalf("/health never answered %d", want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitStatus(200)
	r.Stop()
	waitStatus(503)
	if got := status("/health/live"); got != 200 {
		t.Fatalf("liveness %d while Redis is down", got)
	}
	r.Restart()
	waitStatus(200)
}
