package graphite_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/metrics"
	"github.com/centrifugehq/centrifuge/server/internal/metrics/graphite"
)

func TestPackNeverExceeds(t *testing.T) {
	var lines []string
	for i := 0; i < 200; i++ {
		lines = append(lines, strings.Repeat("x", i%90)+" 1 1700000000")
	}
	lines = append(lines, strings.Repeat("y", 600))
	packets, dropped := graphite.Pack(lines, 512)
	if dropped != 1 {
		t.Fatalf("dropped %d", dropped)
	}
	n := 0
	for _, p := range packets {
		if len(p) > 512 {
			t.Fatalf("packet of %d bytes", len(p))
		}
		n += strings.Count(string(p), "\n")
	}
	if n != 200 {
		t.Fatalf("%d lines packed", n)
	}
}

func TestSanitize(t *testing.T) {
	if got := graphite.Sanitize("chat:room#1 x.y"); got != "chat_room_1_x_y" {
		t.Fatal(got)
	}
}

func TestExporterOverUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	r := metrics.New()
	c := r.Counter("api.publish", "publications")
	r.Gauge("node.clients", "clients", func() float64 { return 3 })
	r.Timer("delivery", "delivery").Observe(2 * time.Millisecond)
	e, err := graphite.New(graphite.Config{Address: pc.LocalAddr().String(), Node: "node 1", Interval: 100 * time.Millisecond, MaxPacketSize: 64}, r)
	if err != nil {
		t.Fatal(err)
	}
	c.Inc(5)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	got := map[string]string{}
	buf := make([]byte, 2048)
	_ = pc.SetReadDeadline(time.Now().Add(3 * time.Second))
	for len(got) < 9 {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("read: %v (got %v)", err, got)
		}
		if n > 64 {
			t.Fatalf("datagram of %d bytes", n)
		}
		for _, l := range strings.Split(strings.TrimSpace(string(buf[:n])), "\n") {
			f := strings.Fields(l)
			if len(f) != 3 {
				t.Fatalf("bad line %q", l)
			}
			if _, seen := got[f[0]]; !seen {
				got[f[0]] = f[1]
			}
		}
	}
	cancel()
	<-done
	for path, want := range map[string]string{
		"centrifuge.node_1.api.publish.count": "5",
		"centrifuge.node_1.node.clients":      "3",
		"centrifuge.node_1.delivery.count":    "1",
		"centrifuge.node_1.delivery.max":      "2.000",
	} {
		if got[path] != want {
			t.Errorf("%s = %q, want %q (all: %v)", path, got[path], want, got)
		}
	}
}
