//go:build soak

package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/config"
)

// TestSoak (make soak; build tag soak, not in make test) churns every
// transport and the API for CENTRIFUGE_SOAK (default 3m): WebSocket clients
// that connect, subscribe, publish and leave (some abruptly), HTTP-streaming
// sessions with emulation requests, SockJS sessions, history batches and
// slow-body connections. Then it waits for the goroutines and the heap to go
// back to their baseline.
func TestSoak(t *testing.T) {
	d := 3 * time.Minute
	if v := os.Getenv("CENTRIFUGE_SOAK"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			t.Fatal(err)
		}
	}
	s := startServer(t, func(c *config.Config) {
		c.HTTP.ReadBodyTimeout = dur(time.Second)
		c.SockJS.DisconnectDelay = dur(time.Second)
	})
	baseG, baseHeap := settle()
	fmt.Printf("soak: baseline: %d goroutines, heap %.1f MB\n", baseG, mb(baseHeap))

	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	var rounds [5]int
	// Each round is a subtest, so that the harness's cleanups (which hold
	// its clients) run at its end rather than the soak's.
	worker := func(i int, fn func(t *testing.T, n int)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; time.Now().Before(stop); n++ {
				t.Run(fmt.Sprintf("w%d", i), func(t *testing.T) { fn(t, n) })
				rounds[i]++
			}
		}()
	}
	worker(0, func(t *testing.T, n int) { // WebSocket clients
		var cs []*wsClient
		for k := 0; k < 20; k++ {
			c := dial(t, s.wsURL(""), nil)
			c.mustCall("connect", map[string]any{"token": token(t, fmt.Sprint(k), time.Hour)})
			c.mustCall("subscribe", map[string]any{"channel": fmt.Sprintf("chat:room%d", k%3)})
			cs = append(cs, c)
		}
		s.publish("chat:room0", `{"n":1}`)
		for _, c := range cs {
			_ = c.conn.Close()
		}
	})
	worker(1, func(t *testing.T, n int) { // HTTP-streaming + emulation
		st, conn := s.httpStream(t, "s")
		body, _ := json.Marshal(map[string]any{"session": conn.Session, "node": conn.Node, "data": cmd(2, "subscribe", map[string]any{"channel": "news"})})
		s.post(t, "/emulation", "application/json", body)
		st.reply()
		st.close()
	})
	worker(2, func(t *testing.T, n int) { // SockJS
		c := s.sockjs(t, "j")
		c.send(cmd(2, "subscribe", map[string]any{"channel": "news"}))
		c.st.reply()
		c.st.close()
	})
	worker(3, func(t *testing.T, n int) { // API batches of history
		cmds := make([]map[string]any, 50)
		for i := range cmds {
			cmds[i] = map[string]any{"history": map[string]any{"channel": "chat:room0", "limit": 10}}
		}
		b, _ := json.Marshal(map[string]any{"commands": cmds, "parallel": n%2 == 0})
		req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+"/api/batch", bytes.NewReader(b))
		req.Header.Set("X-API-Key", apiKey)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	worker(4, func(t *testing.T, n int) { // slow bodies
		var conns []net.Conn
		for k := 0; k < 50; k++ {
			c, err := net.Dial("tcp", s.addr)
			if err != nil {
				continue
			}
			_, _ = io.WriteString(c, "POST /api/publish HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
			conns = append(conns, c)
		}
		time.Sleep(1500 * time.Millisecond)
		for _, c := range conns {
			_ = c.Close()
		}
	})
	wg.Wait()
	fmt.Printf("soak: rounds: ws %d, http_stream %d, sockjs %d, batches %d, slow-body waves %d\n", rounds[0], rounds[1], rounds[2], rounds[3], rounds[4])

	deadline := time.Now().Add(30 * time.Second)
	for {
		g, heap := settle()
		if g <= baseG+5 && heap <= baseHeap+16<<20 {
			fmt.Printf("soak: after: %d goroutines, heap %.1f MB: back to baseline\n", g, mb(heap))
			return
		}
		if time.Now().After(deadline) {
			if f, err := os.CreateTemp("", "soak-*.heap"); err == nil {
				_ = pprof.WriteHeapProfile(f)
				_ = f.Close()
				t.Logf("heap profile: %s", f.Name())
			}
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("not back to baseline: %d goroutines (baseline %d), heap %.1f MB (baseline %.1f)\n%s",
				g, baseG, mb(heap), mb(baseHeap), firstLines(string(buf[:n]), 200))
		}
		time.Sleep(time.Second)
	}
}

func settle() (int, uint64) {
	http.DefaultClient.CloseIdleConnections()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), ms.HeapAlloc
}

func mb(b uint64) float64 { return float64(b) / (1 << 20) }

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}
