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
	"errors"
	"fmt"
	"io"
	"net"
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

// ServerConfig is what the generated configuration varies.
type ServerConfig struct {
	// Engine is memory or redis; RedisURL is used with redis.
	Engine   string
	RedisURL string
	// Secret and APIKey of the default project.
	Secret, APIKey string
	// MaxQueueSize is client.max_queue_size in bytes: high, so flat-out
	// fan-out measures throughput, not the slow-consumer protection.
	MaxQueueSize int
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

// StartServer writes cfg into dir and runs `bin serve --config` pinned, and
// waits for its "listening" log line (addr=HOST:PORT).
func StartServer(bin, dir string, cfg ServerConfig, pin Pin) (*Server, error) {
	path := filepath.Join(dir, "centrifuge.yaml")
	if err := os.WriteFile(path, []byte(cfg.YAML()), 0o600); err != nil {
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
