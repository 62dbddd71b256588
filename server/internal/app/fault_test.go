package app_test

import (
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/config"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

// gate is a TCP proxy in front of the web app: open, it forwards; shut, it
// accepts connections and reads requests but never answers (a proxy whose
// upstream timed out, or a hung load balancer).
type gate struct {
	ln      net.Listener
	backend string
	shut    atomic.Bool
	mu      sync.Mutex
	conns   []net.Conn
}

func newGate(t *testing.T, backend string) *gate {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{ln: ln, backend: backend}
	go g.accept()
	t.Cleanup(func() {
		ln.Close()
		g.mu.Lock()
		for _, c := range g.conns {
			c.Close()
		}
		g.mu.Unlock()
	})
	return g
}

func (g *gate) accept() {
	for {
		c, err := g.ln.Accept()
		if err != nil {
			return
		}
		g.mu.Lock()
		g.conns = append(g.conns, c)
		g.mu.Unlock()
		if g.shut.Load() {
			go func() { _, _ = io.Copy(io.Discard, c) }() // swallow, never answer
			continue
		}
		go func() {
			b, err := net.Dial("tcp", g.backend)
			if err != nil {
				c.Close()
				return
			}
			go func() { _, _ = io.Copy(b, c); b.Close() }()
			_, _ = io.Copy(c, b)
			c.Close()
		}()
	}
}

// TestWebAppBehindHungProxy: the web app sits behind a proxy that stops
// answering while 30 clients connect, subscribe, publish and call rpc through
// it. Every call fails within its timeout with the temporary error 100 (the
// clients retry), nothing piles up in the server (goroutines back to where
// they were), and once the proxy answers again the same clients succeed.
func TestWebAppBehindHungProxy(t *testing.T) {
	a := newWebApp(t)
	a.reply("/subscribe", `{"result":{}}`)
	a.reply("/publish", `{"result":{}}`)
	a.reply("/rpc", `{"result":{"data":{"ok":true}}}`)
	g := newGate(t, strings.TrimPrefix(a.srv.URL, "http://"))
	proxy := func(path string) *structure.Proxy {
		return &structure.Proxy{URL: "http://" + g.ln.Addr().String() + path, Timeout: dur(300 * time.Millisecond)}
	}
	s := startServer(t, func(c *config.Config) {
		p := &c.Projects[0]
		p.Options.SubscribeProxy = proxy("/subscribe")
		p.Namespaces = append(p.Namespaces, structure.Namespace{Name: "pub", Options: structure.ChannelOptions{
			AllowSubscribeForClient: true, PublishProxy: proxy("/publish"),
		}})
		p.RPCProxy = proxy("/rpc")
		p.BackOffInterval = dur(10 * time.Millisecond)
		p.BackOffMaxTimeout = dur(40 * time.Millisecond)
	})
	const clients = 30
	cs := make([]*wsClient, clients)
	for i := range cs {
		cs[i], _ = s.connect(t, "42")
	}
	time.Sleep(100 * time.Millisecond)
	before := runtime.NumGoroutine()

	g.shut.Store(true)
	start := time.Now()
	var wg sync.WaitGroup
	var bad atomic.Int32
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, call := range []struct {
				m string
				p map[string]any
			}{
				{"subscribe", map[string]any{"channel": "$private"}},
				{"publish", map[string]any{"channel": "pub:x", "data": map[string]any{}}},
				{"rpc", map[string]any{"method": "m", "data": map[string]any{}}},
			} {
				r := c.call(call.m, call.p)
				if r.Error == nil || r.Error.Code != 100 || !r.Error.Temporary {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if bad.Load() > 0 {
		t.Fatalf("%d calls did not fail with temporary error 100 behind the hung proxy", bad.Load())
	}
	// Three calls in a row, each bounded by its 300 ms timeout (rpc is not
	// retried after a timeout, subscribe and publish neither once sent).
	if took > 5*time.Second {
		t.Fatalf("calls behind the hung proxy took %s", took)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+5 {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines piled up: %d, were %d", runtime.NumGoroutine(), before)
		}
		time.Sleep(50 * time.Millisecond)
	}

	g.shut.Store(false)
	for _, c := range cs {
		c.mustCall("subscribe", map[string]any{"channel": "$private"})
		c.mustCall("publish", map[string]any{"channel": "pub:x", "data": map[string]any{}})
		c.mustCall("rpc", map[string]any{"method": "m", "data": map[string]any{}})
	}
	t.Logf("%d clients x 3 calls behind a hung proxy: all error 100 (temporary) in %s; all succeed once it answers", clients, took.Round(time.Millisecond))
}
