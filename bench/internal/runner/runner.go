// Package runner starts what a benchmark run needs on this machine: a
// redis-server on a free port of 127.0.0.1 in a temporary directory, the server
// under test with a generated configuration, and the load generator, each
// optionally pinned to a CPU with taskset.
package runner

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/centrifugehq/centrifuge/bench/internal/loadgen"
)

// Pin runs commands on one CPU with taskset; the zero value runs them unpinned.
type Pin struct {
	CPU int
	On  bool
}

func (p Pin) String() string {
	if !p.On {
		return "any"
	}
	return strconv.Itoa(p.CPU)
}

// command builds name args..., pinned.
func (p Pin) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	if !p.On {
		return exec.CommandContext(ctx, name, args...)
	}
	return exec.CommandContext(ctx, "taskset", append([]string{"-c", strconv.Itoa(p.CPU), name}, args...)...)
}

// AllowedCPUs lists the CPUs this process may run on.
func AllowedCPUs() []int { return loadgen.AllowedCPUs() }

// Secret returns n random bytes as hex.
func Secret(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Process is a started child process.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	log  string
}

func start(cmd *exec.Cmd, logPath string) (*Process, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = f, f
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	p := &Process{cmd: cmd, done: make(chan struct{}), log: logPath}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// PID is the process id (taskset execs the command, so it is the command's).
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Stop sends SIGTERM and waits up to grace, then kills the process group.
func (p *Process) Stop(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	terminate(p.cmd.Process)
	select {
	case <-p.done:
	case <-time.After(grace):
		killGroup(p.cmd.Process)
		<-p.done
	}
}

// LogTail returns the last n bytes of the process's output.
func (p *Process) LogTail(n int) string {
	b, _ := os.ReadFile(p.log)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// Redis is a redis-server started for a run.
type Redis struct {
	*Process
	Addr    string
	Version string
}

// StartRedis starts bin (redis-server) on a free port of 127.0.0.1 with
// persistence off and its files in dir, and waits until it answers PING.
func StartRedis(bin, dir string, pin Pin) (*Redis, error) {
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		cmd := pin.command(context.Background(), bin,
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
			"--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes")
		p, err := start(cmd, filepath.Join(dir, "redis.log"))
		if err != nil {
			return nil, fmt.Errorf("start %s: %w", bin, err)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case <-p.done:
				lastErr = fmt.Errorf("redis-server exited: %s", p.LogTail(500))
			default:
			}
			if lastErr != nil {
				break
			}
			if err = ping(addr); err == nil {
				r := &Redis{Process: p, Addr: addr}
				if out, err := exec.Command(bin, "--version").Output(); err == nil {
					r.Version = strings.TrimSpace(string(out))
				}
				return r, nil
			}
			time.Sleep(50 * time.Millisecond)
		}
		if lastErr == nil {
			lastErr = fmt.Errorf("redis-server on %s did not answer PING: %v", addr, err)
		}
		p.Stop(2 * time.Second)
	}
	return nil, lastErr
}

// ping sends PING in RESP and expects +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// Server kinds StartServer knows: this repository's server, and the peer it is
// compared with, Centrifugo v6 (same client protocol and server API).
const (
	KindCentrifuge = "centrifuge"
	KindCentrifugo = "centrifugo"
)

// ServerConfig is what the generated configuration varies.
type ServerConfig struct {
	// Kind is KindCentrifuge (the default when empty) or KindCentrifugo.
	Kind string
	// Engine is memory or redis; RedisURL is used with redis.
	Engine   string
	RedisURL string
	// Secret and APIKey of the default project.
	Secret, APIKey string
	// MaxQueueSize is client.max_queue_size in bytes: high, so flat-out
	// fan-out measures throughput, not the slow-consumer protection.
	MaxQueueSize int
	// Port is the port Centrifugo listens on (it has no port 0 that it
	// reports); our server always gets port 0.
	Port int
}

// Render is the configuration file of c.Kind and its file name.
func (c ServerConfig) Render() (text, file string, err error) {
	switch c.Kind {
	case "", KindCentrifuge:
		return c.YAML(), "centrifuge.yaml", nil
	case KindCentrifugo:
		b, err := c.CentrifugoJSON()
		return string(b), "config.json", err
	}
	return "", "", fmt.Errorf("unknown server kind %q (%s or %s)", c.Kind, KindCentrifuge, KindCentrifugo)
}

// YAML renders the configuration: port 0, no history or presence, client
// subscriptions and user-limited channels allowed.
func (c ServerConfig) YAML() string {
	var b strings.Builder
	b.WriteString("http: {address: \"127.0.0.1\", port: 0}\n")
	b.WriteString("log: {level: info}\n")
	if c.Engine == "redis" {
		fmt.Fprintf(&b, "engine: {type: redis, redis_url: %q, redis_prefix: %q}\n", c.RedisURL, "bench"+Secret(4))
	} else {
		b.WriteString("engine: {type: memory}\n")
	}
	fmt.Fprintf(&b, "client: {max_queue_size: %d}\n", c.MaxQueueSize)
	b.WriteString("projects:\n")
	b.WriteString("  - name: default\n")
	fmt.Fprintf(&b, "    secret: %q\n", c.Secret)
	fmt.Fprintf(&b, "    api_key: %q\n", c.APIKey)
	b.WriteString("    options: {allow_subscribe_for_client: true, allow_user_limited_channels: true}\n")
	return b.String()
}

// CentrifugoJSON renders the equivalent Centrifugo v6 configuration (keys of
// its internal/configtypes, as `centrifugo defaultconfig` lists them): the
// same secret, API key, engine and client queue limit; channels without a
// namespace keep no history and no presence (its defaults, as ours) and allow
// client subscriptions and user-limited channels. /health answers once it
// serves, which is how StartServer knows it is up. Usage statistics are off
// (the machine has no network).
func (c ServerConfig) CentrifugoJSON() ([]byte, error) {
	type obj = map[string]any
	engine := obj{"type": "memory"}
	if c.Engine == "redis" {
		engine = obj{"type": "redis", "redis": obj{"address": []string{c.RedisURL}, "prefix": "bench" + Secret(4)}}
	}
	cfg := obj{
		"http_server": obj{"address": "127.0.0.1", "port": c.Port},
		"log":         obj{"level": "info"},
		"engine":      engine,
		"client": obj{
			"token":          obj{"hmac_secret_key": c.Secret},
			"queue_max_size": c.MaxQueueSize,
		},
		"http_api": obj{"key": c.APIKey},
		"channel": obj{"without_namespace": obj{
			"allow_subscribe_for_client":  true,
			"allow_user_limited_channels": true,
		}},
		"health":      obj{"enabled": true},
		"usage_stats": obj{"disabled": true},
	}
	return json.MarshalIndent(cfg, "", "  ")
}

// Server is a started server under test.
type Server struct {
	*Process
	// Addr is host:port it listens on.
	Addr string
}

// WSURL is the WebSocket endpoint.
func (s *Server) WSURL() string { return "ws://" + s.Addr + "/connection/websocket" }

// HTTPURL is the server's HTTP base (its API is under /api).
func (s *Server) HTTPURL() string { return "http://" + s.Addr }

// StartServer writes cfg into dir, runs the server of cfg.Kind pinned and
// waits until it serves: our server (`bin serve --config`) logs its
// "listening" line (addr=HOST:PORT) for port 0; Centrifugo (`bin --config`)
// gets a port that was free a moment ago and is up when /health answers 200
// (another attempt on a new port if the port was taken meanwhile).
func StartServer(bin, dir string, cfg ServerConfig, pin Pin) (*Server, error) {
	if cfg.Kind != KindCentrifugo {
		return startCentrifuge(bin, dir, cfg, pin)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		cfg.Port = port
		s, err := startCentrifugo(bin, dir, cfg, pin)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func writeConfig(dir string, cfg ServerConfig) (string, error) {
	text, file, err := cfg.Render()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, file)
	return path, os.WriteFile(path, []byte(text), 0o600)
}

func startCentrifuge(bin, dir string, cfg ServerConfig, pin Pin) (*Server, error) {
	path, err := writeConfig(dir, cfg)
	if err != nil {
		return nil, err
	}
	cmd := pin.command(context.Background(), bin, "serve", "--config", path)
	logPath := filepath.Join(dir, "server.log")
	p, err := start(cmd, logPath)
	if err != nil {
		return nil, fmt.Errorf("start server: %w", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(logPath)
		if addr := listeningAddr(b); addr != "" {
			return &Server{Process: p, Addr: addr}, nil
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("server exited: %v: %s", p.err, p.LogTail(1000))
		case <-time.After(20 * time.Millisecond):
		}
	}
	p.Stop(5 * time.Second)
	return nil, fmt.Errorf("server did not log listening within 15s: %s", p.LogTail(1000))
}

func startCentrifugo(bin, dir string, cfg ServerConfig, pin Pin) (*Server, error) {
	path, err := writeConfig(dir, cfg)
	if err != nil {
		return nil, err
	}
	cmd := pin.command(context.Background(), bin, "--config", path)
	p, err := start(cmd, filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, fmt.Errorf("start centrifugo: %w", err)
	}
	s := &Server{Process: p, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Port))}
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := hc.Get(s.HTTPURL() + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("centrifugo exited: %v: %s", p.err, p.LogTail(1000))
		case <-time.After(20 * time.Millisecond):
		}
	}
	p.Stop(5 * time.Second)
	return nil, fmt.Errorf("centrifugo did not answer /health on %s within 15s: %s", s.Addr, p.LogTail(1000))
}

// listeningAddr finds addr=HOST:PORT on the line with msg=listening.
func listeningAddr(log []byte) string {
	for _, l := range bytes.Split(log, []byte("\n")) {
		if !bytes.Contains(l, []byte("msg=listening")) {
			continue
		}
		for _, f := range strings.Fields(string(l)) {
			if v, ok := strings.CutPrefix(f, "addr="); ok {
				return strings.Trim(v, `"`)
			}
		}
	}
	return ""
}

// RunLoadgen runs the load generator pinned, with its standard error passed
// through (so its progress bars show on a terminal), and returns the last
// line it printed on standard output (its result). timeout bounds the run.
// started, when set, is called with the process id once it runs.
func RunLoadgen(bin string, args []string, pin Pin, timeout time.Duration, stderr io.Writer, started func(pid int)) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := pin.command(ctx, bin, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Start()
	if err == nil {
		if started != nil {
			started(cmd.Process.Pid)
		}
		err = cmd.Wait()
	}
	lines := bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n"))
	last := lines[len(lines)-1]
	if len(last) == 0 {
		if err == nil {
			err = errors.New("no result line")
		}
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	if err != nil {
		return last, fmt.Errorf("loadgen: %w", err)
	}
	return last, nil
}

var cpuMu sync.Mutex

// IdleShare samples /proc/stat over d and returns the share of CPU time the
// whole machine spent idle (0..1): how busy it was apart from the benchmark.
func IdleShare(d time.Duration) float64 {
	cpuMu.Lock()
	defer cpuMu.Unlock()
	read := func() (idle, total float64) {
		b, err := os.ReadFile("/proc/stat")
		if err != nil {
			return 0, 0
		}
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line)
		for i, v := range f[1:] {
			x, _ := strconv.ParseFloat(v, 64)
			total += x
			if i == 3 || i == 4 { // idle, iowait
				idle += x
			}
		}
		return idle, total
	}
	i0, t0 := read()
	time.Sleep(d)
	i1, t1 := read()
	if t1 <= t0 {
		return 0
	}
	return (i1 - i0) / (t1 - t0)
}

// ProcSnapshot is the CPU time (clock ticks) and name of every process.
type ProcSnapshot map[int]struct {
	Ticks int64
	Comm  string
}

// SnapshotProcs reads /proc/<pid>/stat of every process.
func SnapshotProcs() ProcSnapshot {
	snap := ProcSnapshot{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return snap
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		open, close := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		if open < 0 || close < open {
			continue
		}
		f := strings.Fields(string(b[close+1:]))
		if len(f) < 13 {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		snap[pid] = struct {
			Ticks int64
			Comm  string
		}{ut + st, string(b[open+1 : close])}
	}
	return snap
}

// Others returns the CPU seconds that processes not in exclude used between
// two snapshots (processes that ended between them are missed), and the
// busiest of them as "name 1.2s".
func Others(before, after ProcSnapshot, exclude ...int) (float64, []string) {
	skip := map[int]bool{}
	for _, p := range exclude {
		skip[p] = true
	}
	byName := map[string]int64{}
	var total int64
	for pid, a := range after {
		if skip[pid] {
			continue
		}
		d := a.Ticks - before[pid].Ticks
		if d <= 0 {
			continue
		}
		total += d
		byName[a.Comm] += d
	}
	type kv struct {
		name  string
		ticks int64
	}
	var top []kv
	for n, t := range byName {
		top = append(top, kv{n, t})
	}
	sort.Slice(top, func(i, j int) bool { return top[i].ticks > top[j].ticks })
	var out []string
	for i, t := range top {
		if i == 3 || t.ticks < 10 {
			break
		}
		out = append(out, fmt.Sprintf("%s %.1fs", t.name, float64(t.ticks)/100))
	}
	return float64(total) / 100, out
}
