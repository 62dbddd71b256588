package app_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/config"
)

// slowBodyEnv makes the test binary a slow-body attacker (see TestMain):
// "<addr> <connections> <seconds>".
const slowBodyEnv = "CENTRIFUGE_TEST_SLOW_BODY"

func TestMain(m *testing.M) {
	if args := os.Getenv(slowBodyEnv); args != "" {
		os.Exit(slowBodyAttacker(args))
	}
	os.Exit(m.Run())
}

// slowBodyPaths are every HTTP path that reads a request body.
var slowBodyPaths = []string{
	"/health",
	"/emulation",
	"/api/publish",
	"/api/other/publish",
	"/connection/sockjs/000/slowbody/xhr_send",
	"/connection/http_stream",
	"/connection/sse",
}

// slowBodyAttacker opens n connections to addr, each sending a POST that
// announces a 1,000-byte body and sends one byte, then waits (at most the
// given seconds) for the server to close each. It prints
// "opened <n> closed <n> dialerr <n>" and returns 0.
func slowBodyAttacker(args string) int {
	f := strings.Fields(args)
	if len(f) != 3 {
		fmt.Println("bad args", args)
		return 2
	}
	addr := f[0]
	n, _ := strconv.Atoi(f[1])
	secs, _ := strconv.Atoi(f[2])
	if _, err := raiseNoFile(); err != nil {
		fmt.Println("rlimit:", err)
		return 2
	}
	deadline := time.Now().Add(time.Duration(secs) * time.Second)
	var opened, closed, dialErr atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			dialErr.Add(1)
			continue
		}
		opened.Add(1)
		path := slowBodyPaths[i%len(slowBodyPaths)]
		req := "POST " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\nX-API-Key: wrong\r\nContent-Length: 1000\r\n\r\n{"
		if _, err := io.WriteString(c, req); err != nil {
			closed.Add(1)
			_ = c.Close()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			_ = c.SetReadDeadline(deadline)
			_, err := io.Copy(io.Discard, c)
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				closed.Add(1) // EOF or reset: the server cut it
			}
		}()
	}
	wg.Wait()
	fmt.Printf("opened %d closed %d dialerr %d\n", opened.Load(), closed.Load(), dialErr.Load())
	return 0
}

// TestSlowBodiesAreCut: 20,000 connections that each send a request body
// slowly (one byte of 1,000) to every path that reads one are cut after
// http.read_body_timeout, and meanwhile /health and real clients are served.
// Without the body deadline they stay open forever and exhaust the server's
// file descriptors. The attackers are child processes, each with its own
// descriptor limit.
func TestSlowBodiesAreCut(t *testing.T) {
	const (
		total     = 20000
		attackers = 2
		timeout   = 2 * time.Second
		waitSecs  = 40
	)
	limit, err := raiseNoFile()
	if err != nil {
		t.Fatal(err)
	}
	if limit < total/attackers+100 {
		t.Fatalf("RLIMIT_NOFILE hard limit %d: need at least %d open files per process", limit, total/attackers+100)
	}
	s := startServer(t, func(c *config.Config) {
		c.HTTP.ReadBodyTimeout = dur(timeout)
	})
	start := time.Now()
	type result struct {
		out []byte
		err error
	}
	results := make(chan result, attackers)
	for i := 0; i < attackers; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d %d", slowBodyEnv, s.addr, total/attackers, waitSecs))
		go func() {
			out, err := cmd.CombinedOutput()
			results <- result{out, err}
		}()
	}
	// Served while under attack: /health and a real client, every half second.
	var healthOK, healthFail, clientOK int
	var lastErr string
	hc := &http.Client{Timeout: 5 * time.Second}
	check := time.NewTicker(500 * time.Millisecond)
	defer check.Stop()
	var outs [][]byte
	for len(outs) < attackers {
		select {
		case r := <-results:
			if r.err != nil {
				t.Fatalf("attacker: %v\n%s", r.err, r.out)
			}
			outs = append(outs, r.out)
		case <-check.C:
			resp, err := hc.Get("http://" + s.addr + "/health")
			if err == nil && resp.StatusCode == http.StatusOK {
				healthOK++
				resp.Body.Close()
			} else {
				healthFail++
				if err != nil {
					lastErr = err.Error()
				} else {
					lastErr = resp.Status
					resp.Body.Close()
				}
			}
			if healthOK+healthFail <= 10 || (healthOK+healthFail)%5 == 0 {
				c := dial(t, s.wsURL(""), nil)
				c.mustCall("connect", map[string]any{"token": token(t, "42", time.Hour)})
				c.mustCall("subscribe", map[string]any{"channel": "news"})
				s.publish("news", `{"under":"attack"}`)
				if p := c.pub("news"); !bytes.Contains(p.Data, []byte("attack")) {
					t.Errorf("client got %s", p.Data)
				}
				_ = c.conn.Close()
				clientOK++
			}
		}
	}
	elapsed := time.Since(start)
	var opened, closed int
	for _, out := range outs {
		sc := bufio.NewScanner(bytes.NewReader(out))
		var o, c, d int
		for sc.Scan() {
			if _, err := fmt.Sscanf(sc.Text(), "opened %d closed %d dialerr %d", &o, &c, &d); err == nil {
				break
			}
		}
		if o+d != total/attackers {
			t.Fatalf("attacker output: %s", out)
		}
		if d > 0 {
			t.Errorf("%d connections could not be opened: the server stopped accepting", d)
		}
		opened += o
		closed += c
	}
	t.Logf("%d slow-body connections opened, %d cut by the server, in %s; /health %d ok %d failed; %d real clients served",
		opened, closed, elapsed.Round(time.Millisecond), healthOK, healthFail, clientOK)
	if closed != opened {
		t.Errorf("%d of %d slow-body connections still open after %ds", opened-closed, opened, waitSecs)
	}
	if healthFail > 0 {
		t.Errorf("/health failed %d times under attack (last: %s)", healthFail, lastErr)
	}
	if healthOK == 0 || clientOK == 0 {
		t.Errorf("nothing checked while under attack")
	}
}
