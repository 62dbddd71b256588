// Package redistest starts real redis-server processes for tests: a single
// server (Start) or a cluster of masters (StartCluster), each on free ports of
// 127.0.0.1 with its data in the test's temporary directory, killed when the
// test ends.
//
// redis-server must be installed (Debian: apt-get install redis-server). A
// test that needs it fails, never skips, when it is missing, so a CI machine
// without Redis cannot pass by running nothing.
package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	// startTimeout bounds the wait for a started server to answer PING.
	startTimeout = 10 * time.Second
	// clusterTimeout bounds the wait for a cluster to report cluster_state:ok
	// on every node.
	clusterTimeout = 30 * time.Second
	// portAttempts is how often a start is retried on a port taken meanwhile.
	portAttempts = 5
)

// Option changes how Start runs redis-server.
type Option func(*options)

type options struct {
	args []string
}

// WithArgs passes extra command-line arguments to redis-server, for example
// WithArgs("--maxmemory", "10mb").
func WithArgs(args ...string) Option {
	return func(o *options) { o.args = append(o.args, args...) }
}

// Server is one running redis-server.
type Server struct {
	// Addr is host:port.
	Addr string
	// URL is redis://host:port.
	URL string

	t    testing.TB
	bin  string
	dir  string
	port int
	// busPort is the cluster bus port of a cluster node, 0 otherwise.
	busPort int
	args    []string

	mu   sync.Mutex
	proc *process
}

// process is one run of redis-server; done is closed when it exited.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	out  *lockedBuffer
}

// Start starts redis-server on a free port of 127.0.0.1 with persistence off
// and its directory in t.TempDir(), waits until it answers PING and kills it
// when the test ends. It fails the test when redis-server is not installed or
// does not start.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	bin := lookPath(t, "redis-server")
	dir := t.TempDir()
	var lastErr error
	for range portAttempts {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: %v", err)
		}
		s := newServer(t, bin, dir, port, o.args)
		if lastErr = s.start(); lastErr == nil {
			t.Cleanup(s.Stop)
			return s
		}
	}
	t.Fatalf("redistest: %v", lastErr)
	return nil
}

func newServer(t testing.TB, bin, dir string, port int, extra []string) *Server {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	args := []string{
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", dir,
		"--protected-mode", "no",
		"--loglevel", "warning",
	}
	return &Server{
		Addr: addr,
		URL:  "redis://" + addr,
		t:    t,
		bin:  bin,
		dir:  dir,
		port: port,
		args: append(args, extra...),
	}
}

// start runs the process and waits for PING; on failure the process is gone.
func (s *Server) start() error {
	out := &lockedBuffer{}
	cmd := exec.Command(s.bin, s.args...)
	cmd.Dir = s.dir
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	p := &process{cmd: cmd, done: make(chan struct{}), out: out}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	if err := waitPing(s.Addr, p.done); err != nil {
		p.kill()
		return fmt.Errorf("redis-server on %s: %w; output:\n%s", s.Addr, err, out.String())
	}
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	return nil
}

// Stop kills the server with SIGKILL, as a crash would, and waits for it to
// exit. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p != nil {
		p.kill()
	}
}

// Restart stops the server if it runs and starts it again on the same port
// with no data, as a crashed server without persistence comes back.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	var err error
	// The port was ours a moment ago, but another process may bind it before
	// the new server does: retry briefly.
	for range portAttempts {
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("redistest: restart: %v", err)
}

func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Sentinel is a running Redis Sentinel monitoring one master.
type Sentinel struct {
	// Addr is the sentinel's host:port.
	Addr string
	// URL is redis://host:port of the sentinel.
	URL string
	// MasterName is the name under which it monitors the master.
	MasterName string
}

// StartSentinel starts a Redis Sentinel (redis-server --sentinel) that
// monitors master under the name masterName with a quorum of 1, waits until
// it knows the master's address and kills it when the test ends.
func StartSentinel(t testing.TB, master *Server, masterName string) *Sentinel {
	t.Helper()
	bin := lookPath(t, "redis-server")
	dir := t.TempDir()
	host, port, _ := net.SplitHostPort(master.Addr)
	conf := filepath.Join(dir, "sentinel.conf")
	var lastErr error
	for range portAttempts {
		sport, err := freePort()
		if err != nil {
			t.Fatalf("redistest: %v", err)
		}
		// Sentinel rewrites its configuration file, so each try writes it anew.
		text := fmt.Sprintf("sentinel monitor %s %s %s 1\n", masterName, host, port)
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatalf("redistest: %v", err)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sport))
		s := &Server{
			Addr: addr,
			URL:  "redis://" + addr,
			t:    t,
			bin:  bin,
			dir:  dir,
			port: sport,
			args: []string{conf, "--sentinel", "--port", strconv.Itoa(sport), "--bind", "127.0.0.1", "--loglevel", "warning"},
		}
		if lastErr = s.start(); lastErr != nil {
			continue
		}
		t.Cleanup(s.Stop)
		c := redis.NewSentinelClient(&redis.Options{Addr: addr, MaxRetries: -1})
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		for {
			got, err := c.GetMasterAddrByName(ctx, masterName).Result()
			if err == nil && len(got) == 2 && net.JoinHostPort(got[0], got[1]) == master.Addr {
				return &Sentinel{Addr: addr, URL: s.URL, MasterName: masterName}
			}
			select {
			case <-ctx.Done():
				t.Fatalf("redistest: sentinel does not know master %s: %v %v", masterName, got, err)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	t.Fatalf("redistest: sentinel: %v", lastErr)
	return nil
}

// Cluster is a running Redis Cluster of masters without replicas.
type Cluster struct {
	// Addrs are the host:port of every master.
	Addrs []string
	// URL is a cluster URL naming every node, as redis.ParseClusterURL reads
	// it: redis://host:port?addr=host2:port2&addr=...
	URL string
}

// StartCluster starts masters redis-server processes in cluster mode (each in
// its own directory), assigns them equal ranges of the 16384 hash slots,
// joins them with CLUSTER MEET and waits until every node reports
// cluster_state:ok. The nodes are killed when the test ends.
func StartCluster(t testing.TB, masters int) *Cluster {
	t.Helper()
	if masters < 1 {
		t.Fatalf("redistest: StartCluster needs at least one master, got %d", masters)
	}
	bin := lookPath(t, "redis-server")
	var servers []*Server
	for i := range masters {
		dir := filepath.Join(t.TempDir(), "node"+strconv.Itoa(i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatalf("redistest: %v", err)
		}
		var s *Server
		var err error
		for range portAttempts {
			var port, busPort int
			if port, err = freePort(); err != nil {
				t.Fatalf("redistest: %v", err)
			}
			if busPort, err = freePort(); err != nil {
				t.Fatalf("redistest: %v", err)
			}
			s = newServer(t, bin, dir, port, []string{
				"--cluster-enabled", "yes",
				"--cluster-config-file", "nodes.conf",
				"--cluster-port", strconv.Itoa(busPort),
				"--cluster-node-timeout", "5000",
			})
			s.busPort = busPort
			if err = s.start(); err == nil {
				break
			}
		}
		if err != nil {
			t.Fatalf("redistest: cluster node %d: %v", i, err)
		}
		t.Cleanup(s.Stop)
		servers = append(servers, s)
	}

	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	if err := formCluster(ctx, servers); err != nil {
		t.Fatalf("redistest: create cluster: %v", err)
	}
	c := &Cluster{}
	for i, s := range servers {
		c.Addrs = append(c.Addrs, s.Addr)
		if i == 0 {
			c.URL = "redis://" + s.Addr
		} else {
			sep := "&"
			if i == 1 {
				sep = "?"
			}
			c.URL += sep + "addr=" + s.Addr
		}
	}
	return c
}

// formCluster does what redis-cli --cluster create does for masters only:
// distinct config epochs, contiguous slot ranges, MEET, then waits for the
// cluster to agree.
func formCluster(ctx context.Context, servers []*Server) error {
	clients := make([]*redis.Client, len(servers))
	for i, s := range servers {
		clients[i] = redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
		defer clients[i].Close()
	}
	n := len(servers)
	for i, c := range clients {
		if err := c.Do(ctx, "CLUSTER", "SET-CONFIG-EPOCH", i+1).Err(); err != nil {
			return fmt.Errorf("set config epoch on %s: %w", servers[i].Addr, err)
		}
		lo, hi := i*16384/n, (i+1)*16384/n-1
		if err := c.ClusterAddSlotsRange(ctx, lo, hi).Err(); err != nil {
			return fmt.Errorf("add slots %d-%d on %s: %w", lo, hi, servers[i].Addr, err)
		}
	}
	for _, s := range servers[1:] {
		host, port, _ := net.SplitHostPort(s.Addr)
		// The bus port is not port+10000, so MEET must name it.
		if err := clients[0].Do(ctx, "CLUSTER", "MEET", host, port, s.busPort).Err(); err != nil {
			return fmt.Errorf("meet %s: %w", s.Addr, err)
		}
	}
	want := map[string]string{
		"cluster_state":          "ok",
		"cluster_slots_assigned": "16384",
		"cluster_known_nodes":    strconv.Itoa(n),
	}
	for i, c := range clients {
		for {
			info, err := c.ClusterInfo(ctx).Result()
			if err == nil && infoHas(info, want) {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("node %s not ready: %v; last info:\n%s", servers[i].Addr, ctx.Err(), info)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	// Every node must also know every slot's owner, or a client may be
	// redirected to a node that has not yet learnt it.
	for i, c := range clients {
		for {
			slots, err := c.ClusterSlots(ctx).Result()
			if err == nil && coversAll(slots, n) {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("node %s does not see every master's slots: %v", servers[i].Addr, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

func infoHas(info string, want map[string]string) bool {
	got := map[string]string{}
	for line := range strings.Lines(info) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok {
			got[k] = v
		}
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

func coversAll(slots []redis.ClusterSlot, masters int) bool {
	total := 0
	owners := map[string]bool{}
	for _, s := range slots {
		total += s.End - s.Start + 1
		if len(s.Nodes) > 0 {
			owners[s.Nodes[0].Addr] = true
		}
	}
	return total == 16384 && len(owners) == masters
}

func lookPath(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("redistest: %s is not installed (%v); install Redis, e.g. apt-get install redis-server", name, err)
	}
	return path
}

// freePort returns a port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitPing waits until addr answers PING with PONG, or the process exits.
func waitPing(addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(startTimeout)
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("exited before answering PING")
		default:
		}
		if lastErr = ping(addr); lastErr == nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("no answer to PING within %v: %w", startTimeout, lastErr)
}

func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

// lockedBuffer collects a process's output for error messages.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
