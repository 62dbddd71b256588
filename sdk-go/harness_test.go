package centrifuge_test

// The test harness: the real server binary, built from this repository (or
// CENTRIFUGE_BIN), started on a free port once per engine (memory, and redis
// with a redis-server of its own), plus a raw WebSocket client for the
// methods that act on connections.
//
// Outside the repository (the module as users download it) there is no server
// to build and the tests that need one skip; the others still run.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	centrifuge "github.com/centrifugehq/centrifuge/sdk-go"
)

const (
	secret      = "sdk-secret-0123456789abcdef"
	apiKey      = "sdk-api-key-0123456789abcdef"
	otherSecret = "sdk-other-secret-0123456789"
	otherKey    = "sdk-other-api-key-0123456789"
	keysAPIKey  = "sdk-keys-api-key-0123456789"
	adminToken  = "sdk-admin-token-0123456789abcdef0123456789"
	waitTimeout = 5 * time.Second
)

var engines = []string{"memory", "redis"}

var (
	serverBin  string // "" when there is no server to test against
	skipReason string
	redisURL   string
	tmpDir     string
	rsaKey     *rsa.PrivateKey
	ecKey      *ecdsa.PrivateKey

	serversMu sync.Mutex
	servers   = map[string]*server{}
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	tmpDir, err = os.MkdirTemp("", "centrifuge-sdk-go-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmpDir)
	if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if ecKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := findServer(); err != nil {
		fmt.Fprintln(os.Stderr, "sdk-go tests:", err)
		return 1
	}
	var stopRedis func()
	if serverBin != "" {
		if redisURL, stopRedis, err = startRedis(); err != nil {
			fmt.Fprintln(os.Stderr, "sdk-go tests:", err)
			return 1
		}
	}
	code := m.Run()
	serversMu.Lock()
	for _, s := range servers {
		s.stop()
	}
	serversMu.Unlock()
	if stopRedis != nil {
		stopRedis()
	}
	return code
}

// findServer sets serverBin: CENTRIFUGE_BIN, or the server of this repository
// built into tmpDir, or none (skipReason) outside the repository.
func findServer() error {
	if bin := os.Getenv("CENTRIFUGE_BIN"); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			return fmt.Errorf("CENTRIFUGE_BIN: %w", err)
		}
		serverBin = bin
		return nil
	}
	if _, err := os.Stat(filepath.Join("..", "server", "cmd", "centrifuge")); err != nil {
		skipReason = "no server: set CENTRIFUGE_BIN or run inside the centrifuge repository"
		return nil
	}
	bin := filepath.Join(tmpDir, "centrifuge")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/centrifuge")
	cmd.Dir = filepath.Join("..", "server")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build server: %v\n%s", err, out)
	}
	serverBin = bin
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startRedis runs a redis-server without persistence on a free port. Missing
// redis-server is an error, never a skip: `make deps` installs it.
func startRedis() (string, func(), error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", nil, errors.New("redis-server not found (make deps installs it)")
	}
	dir, err := os.MkdirTemp(tmpDir, "redis-")
	if err != nil {
		return "", nil, err
	}
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			return "", nil, err
		}
		cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir, "--loglevel", "warning")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			return "", nil, err
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
		if lastErr = waitRedis(addr); lastErr == nil {
			return "redis://" + addr + "/0", stop, nil
		}
		stop()
		lastErr = fmt.Errorf("%v: %s", lastErr, out.String())
	}
	return "", nil, fmt.Errorf("redis-server did not start: %v", lastErr)
}

func waitRedis(addr string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = conn.SetDeadline(time.Now().Add(time.Second))
			_, err = conn.Write([]byte("PING\r\n"))
			if err == nil {
				var line string
				line, err = bufio.NewReader(conn).ReadString('\n')
				if err == nil && !strings.HasPrefix(line, "+PONG") {
					err = fmt.Errorf("PING answered %q", line)
				}
			}
			conn.Close()
			if err == nil {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// server is one running bin/centrifuge.
type server struct {
	engine string
	addr   string // 127.0.0.1:port
	cmd    *exec.Cmd
	log    *syncBuffer
	done   chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func pemBlock(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func indent(s, pad string) string {
	return pad + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n"+pad)
}

func configYAML(engine string) (string, error) {
	rsaPub, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	if err != nil {
		return "", err
	}
	ecPub, err := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	if err != nil {
		return "", err
	}
	eng := ""
	if engine == "redis" {
		eng = fmt.Sprintf("engine: {type: redis, redis_url: %q, redis_prefix: %q}\n",
			redisURL, fmt.Sprintf("sdkgo%d", time.Now().UnixNano()))
	}
	return eng + `http: {address: 127.0.0.1, port: 0}
admin: {tokens: ["` + adminToken + `"]}
log: {level: info}
client: {expired_close_delay: 1s}
projects:
  - name: default
    secret: "` + secret + `"
    api_key: "` + apiKey + `"
    options: {presence: true, join_leave: true, history_size: 100, history_ttl: 300s, allow_subscribe_for_client: true}
    namespaces:
      - {name: bare, options: {allow_subscribe_for_client: true}}
  - name: other
    secret: "` + otherSecret + `"
    api_key: "` + otherKey + `"
    options: {presence: true, history_size: 10, history_ttl: 60s, allow_subscribe_for_client: true}
  - name: keys
    api_key: "` + keysAPIKey + `"
    token_rsa_public_key: |
` + indent(pemBlock("PUBLIC KEY", rsaPub), "      ") + `
    token_ecdsa_public_key: |
` + indent(pemBlock("PUBLIC KEY", ecPub), "      ") + `
    options: {presence: true, allow_subscribe_for_client: true}
`, nil
}

var listeningRe = regexp.MustCompile(`msg=listening addr=(127\.0\.0\.1:\d+)`)

// serverFor returns the running server of engine, started on first use and
// stopped after every test. Tests share it: they use channels and users of
// their own.
func serverFor(t *testing.T, engine string) *server {
	t.Helper()
	if serverBin == "" {
		skipOutsideRepo(t, skipReason)
	}
	serversMu.Lock()
	defer serversMu.Unlock()
	if s := servers[engine]; s != nil {
		return s
	}
	s, err := startServer(engine)
	if err != nil {
		t.Fatal(err)
	}
	servers[engine] = s
	return s
}

func startServer(engine string) (*server, error) {
	cfg, err := configYAML(engine)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(tmpDir, engine+"-")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	s := &server{engine: engine, log: &syncBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(serverBin, "serve", "--config", path)
	s.cmd.Stdout = s.log
	s.cmd.Stderr = s.log
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	deadline := time.After(10 * time.Second)
	for {
		if m := listeningRe.FindStringSubmatch(s.log.String()); m != nil {
			s.addr = m[1]
			return s, nil
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("%s server exited:\n%s", engine, s.log.String())
		case <-deadline:
			s.stop()
			return nil, fmt.Errorf("%s server did not listen in 10 s:\n%s", engine, s.log.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

func (s *server) url() string { return "http://" + s.addr }

// client returns an SDK client for project ("" = default) with its key.
func (s *server) client(t *testing.T, project string) *centrifuge.Client {
	t.Helper()
	key := map[string]string{"": apiKey, "default": apiKey, "other": otherKey, "keys": keysAPIKey}[project]
	c, err := centrifuge.New(centrifuge.Config{Addr: s.url(), APIKey: key, Project: project})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var uniqN struct {
	sync.Mutex
	n int
}

// uniq returns a name no other test uses.
func uniq(prefix string) string {
	uniqN.Lock()
	defer uniqN.Unlock()
	uniqN.n++
	return fmt.Sprintf("%s%d_%d", prefix, uniqN.n, time.Now().UnixNano()%1e6)
}

// ws is a raw protocol client: JSON frames over WebSocket.
type ws struct {
	t      *testing.T
	conn   *websocket.Conn
	in     chan map[string]json.RawMessage
	closed chan struct{}
	close  *websocket.CloseError // set before closed is closed
	nextID int
	mu     sync.Mutex
	kept   []map[string]json.RawMessage
	// Client is the connection's client id, once connected.
	Client string
	// Subs are the server-side subscriptions of the connect reply.
	Subs map[string]json.RawMessage
}

func dialWS(t *testing.T, s *server, project string) *ws {
	t.Helper()
	url := "ws://" + s.addr + "/connection/websocket"
	if project != "" {
		url = "ws://" + s.addr + "/connection/" + project + "/websocket"
	}
	conn, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &ws{t: t, conn: conn, in: make(chan map[string]json.RawMessage, 256), closed: make(chan struct{})}
	go c.read()
	t.Cleanup(func() { _ = conn.Close() })
	return c
}

func (c *ws) read() {
	defer close(c.closed)
	for {
		_, msg, err := c.conn.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				c.close = ce
			}
			return
		}
		for _, line := range bytes.Split(bytes.TrimSpace(msg), []byte("\n")) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			var f map[string]json.RawMessage
			if err := json.Unmarshal(line, &f); err != nil {
				continue
			}
			if len(f) == 0 { // ping
				c.mu.Lock()
				_ = c.conn.WriteMessage(websocket.TextMessage, []byte("{}"))
				c.mu.Unlock()
				continue
			}
			c.in <- f
		}
	}
}

func (c *ws) send(method string, params any) int {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nextID++
	b, err := json.Marshal(map[string]any{"id": c.nextID, method: params})
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.conn.WriteMessage(websocket.TextMessage, b); err != nil {
		c.t.Fatal(err)
	}
	return c.nextID
}

// next returns the first frame (kept ones first) that match accepts, keeping
// the others; nil when the connection closed or after waitTimeout.
func (c *ws) next(match func(map[string]json.RawMessage) bool) map[string]json.RawMessage {
	for i, f := range c.kept {
		if match(f) {
			c.kept = append(c.kept[:i], c.kept[i+1:]...)
			return f
		}
	}
	timeout := time.After(waitTimeout)
	for {
		select {
		case f := <-c.in:
			if match(f) {
				return f
			}
			c.kept = append(c.kept, f)
		case <-c.closed:
			// Drain what arrived before the close.
			for {
				select {
				case f := <-c.in:
					if match(f) {
						return f
					}
					c.kept = append(c.kept, f)
				default:
					return nil
				}
			}
		case <-timeout:
			return nil
		}
	}
}

type protoError struct {
	Code    uint32 `json:"code"`
	Message string `json:"message"`
}

// reply is a command's answer: the result under the method, or an error.
type reply struct {
	Result json.RawMessage
	Error  *protoError
}

// call sends a command and waits for its reply; closeCode is set instead when
// the server closed the connection.
func (c *ws) call(method string, params any) (r reply, closeCode int) {
	c.t.Helper()
	id := c.send(method, params)
	f := c.next(func(f map[string]json.RawMessage) bool {
		var got int
		return f["id"] != nil && json.Unmarshal(f["id"], &got) == nil && got == id
	})
	if f == nil {
		if code := c.waitClose(); code != 0 {
			return reply{}, code
		}
		c.t.Fatalf("%s: no reply", method)
	}
	if f["error"] != nil {
		r.Error = &protoError{}
		_ = json.Unmarshal(f["error"], r.Error)
	}
	r.Result = f[method]
	return r, 0
}

// connect sends connect with token: the reply, or the close code.
func (c *ws) connect(token string) (reply, int) {
	c.t.Helper()
	r, code := c.call("connect", map[string]any{"token": token})
	if r.Result != nil {
		var res struct {
			Client string                     `json:"client"`
			Subs   map[string]json.RawMessage `json:"subs"`
		}
		_ = json.Unmarshal(r.Result, &res)
		c.Client, c.Subs = res.Client, res.Subs
	}
	return r, code
}

// mustConnect connects with token or fails the test.
func mustConnect(t *testing.T, s *server, project, token string) *ws {
	t.Helper()
	c := dialWS(t, s, project)
	r, code := c.connect(token)
	if code != 0 || r.Error != nil || c.Client == "" {
		t.Fatalf("connect: close %d, error %+v", code, r.Error)
	}
	return c
}

// push waits for a push of kind ("pub", "subscribe", ...) in channel ("" any).
func (c *ws) push(kind, channel string) json.RawMessage {
	c.t.Helper()
	var body json.RawMessage
	f := c.next(func(f map[string]json.RawMessage) bool {
		var p map[string]json.RawMessage
		if f["push"] == nil || json.Unmarshal(f["push"], &p) != nil || p[kind] == nil {
			return false
		}
		var ch string
		_ = json.Unmarshal(p["channel"], &ch)
		if channel != "" && ch != channel {
			return false
		}
		body = p[kind]
		return true
	})
	if f == nil {
		c.t.Fatalf("no %s push in %q within %s", kind, channel, waitTimeout)
	}
	return body
}

// waitClose returns the close code once the server closed the connection, 0
// when it did not within waitTimeout (or closed without a close frame).
func (c *ws) waitClose() int {
	select {
	case <-c.closed:
		if c.close != nil {
			return c.close.Code
		}
		return 0
	case <-time.After(waitTimeout):
		return 0
	}
}

// token returns an HS256 connection token of the default project for user,
// valid for an hour, made with the SDK's helper.
func token(t *testing.T, user string, info any, channels ...string) string {
	t.Helper()
	tok, err := centrifuge.ConnectionToken(secret, centrifuge.ConnectionClaims{
		User: user, ExpiresAt: time.Now().Add(time.Hour), Info: info, Channels: channels,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func bg(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func forEachEngine(t *testing.T, f func(t *testing.T, s *server)) {
	for _, e := range engines {
		t.Run(e, func(t *testing.T) { f(t, serverFor(t, e)) })
	}
}

// skipOutsideRepo skips a test that needs the repository (the server, the
// spec) when the SDK is tested on its own, as its users get it. In the
// repository's own runs (make test exports CENTRIFUGE_SDK_REQUIRE_ALL=1) a
// missing piece fails the test instead: CI never passes by skipping.
func skipOutsideRepo(t *testing.T, reason string) {
	t.Helper()
	if os.Getenv("CENTRIFUGE_SDK_REQUIRE_ALL") != "" {
		t.Fatalf("%s (CENTRIFUGE_SDK_REQUIRE_ALL is set)", reason)
	}
	t.Skip(reason)
}
