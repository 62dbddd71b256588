package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/centrifugehq/centrifuge/server/internal/admin"
	"github.com/centrifugehq/centrifuge/server/internal/api"
	"github.com/centrifugehq/centrifuge/server/internal/client"
	"github.com/centrifugehq/centrifuge/server/internal/config"
	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/engine/memengine"
	"github.com/centrifugehq/centrifuge/server/internal/engine/redisengine"
	"github.com/centrifugehq/centrifuge/server/internal/metrics"
	"github.com/centrifugehq/centrifuge/server/internal/node"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
	"github.com/centrifugehq/centrifuge/server/internal/store"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
	"github.com/centrifugehq/centrifuge/server/internal/transport"
	"github.com/centrifugehq/centrifuge/server/internal/transport/httpstream"
	"github.com/centrifugehq/centrifuge/server/internal/transport/sockjstransport"
	"github.com/centrifugehq/centrifuge/server/internal/transport/wstransport"
	"github.com/centrifugehq/centrifuge/server/web"
)

// Version of the server; set at build time with -ldflags "-X .../app.Version=...".
var Version = "0.1.0-dev"

// Server is a configured node with its HTTP endpoints.
type Server struct {
	cfg      config.Config
	log      *slog.Logger
	node     *node.Node
	echo     *echo.Echo
	http     *http.Server
	ln       net.Listener
	stats    *transport.Stats
	stopping atomic.Bool
	// bg lives as long as the server (the Graphite exporter).
	bg     context.Context
	stopBG context.CancelFunc
	// newConns are accepted connections that have not sent a request yet.
	newMu    sync.Mutex
	newConns map[net.Conn]struct{}
	// debug serves the profiler (debug.address).
	debug     *http.Server
	debugAddr string
	// store holds the projects (closed at Shutdown).
	store store.Store
}

// New wires a server from cfg: engine, projects, node, transports and API.
func New(cfg config.Config, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	projects, err := structure.NewRegistry(cfg.Projects)
	if err != nil {
		return nil, err
	}
	reg := metrics.New()
	eng, err := newEngine(cfg, log, reg)
	if err != nil {
		return nil, err
	}
	client.SetMaxWriteLag(cfg.Client.MaxWriteLag.D())
	nd, err := node.New(node.Config{
		Name: cfg.Name, Version: Version, Client: cfg.Client, Metrics: reg, WaitWriters: client.WaitWriters,
	}, projects, eng, log)
	if err != nil {
		return nil, err
	}
	st, err := openStore(cfg, eng)
	if err != nil {
		return nil, err
	}
	nd.SetStore(st)
	for _, w := range cfg.AdminWarnings() {
		log.Warn(w)
	}
	s := &Server{cfg: cfg, log: log, node: nd, store: st}
	s.bg, s.stopBG = context.WithCancel(context.Background())

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = api.HTTPErrorHandler(log)
	stats := transport.NewStats()
	s.stats = stats
	registerTransportMetrics(reg, stats)
	e.Use(apiMetrics(reg))
	checkOrigin := transport.LogRefused(transport.OriginChecker(cfg.HTTP.AllowedOrigins), log, 10*time.Second)
	ws := wstransport.New(nd, wstransport.Options{
		ReadLimit:    int64(cfg.Client.MaxFrameSize),
		WriteTimeout: cfg.HTTP.WriteTimeout.D(),
		CheckOrigin:  checkOrigin,
		Disabled:     cfg.HTTP.DisableWebSocket,
		Stats:        stats,
	})
	e.GET("/connection/websocket", func(c echo.Context) error {
		ws.Serve(c.Response(), c.Request(), "")
		return nil
	})
	e.GET("/connection/:project/websocket", func(c echo.Context) error {
		ws.Serve(c.Response(), c.Request(), c.Param("project"))
		return nil
	})
	sj := sockjstransport.New(nd, sockjstransport.Options{
		HeartbeatDelay:   cfg.SockJS.HeartbeatDelay.D(),
		DisconnectDelay:  cfg.SockJS.DisconnectDelay.D(),
		ClientURL:        cfg.SockJS.ClientURL,
		MaxMessageSize:   cfg.HTTP.EmulationMaxBodySize,
		WriteTimeout:     cfg.HTTP.WriteTimeout.D(),
		DisableWebSocket: cfg.HTTP.DisableWebSocket,
		CheckOrigin:      checkOrigin,
		FrameAncestors:   transport.FrameAncestors(cfg.HTTP.AllowedOrigins),
		Stats:            stats,
	})
	e.Any("/connection/sockjs", func(c echo.Context) error {
		sj.Serve(c.Response(), c.Request(), "", "")
		return nil
	})
	e.Any("/connection/sockjs/*", func(c echo.Context) error {
		sj.Serve(c.Response(), c.Request(), "", "/"+c.Param("*"))
		return nil
	})
	e.Any("/connection/:project/sockjs", func(c echo.Context) error {
		sj.Serve(c.Response(), c.Request(), c.Param("project"), "")
		return nil
	})
	e.Any("/connection/:project/sockjs/*", func(c echo.Context) error {
		sj.Serve(c.Response(), c.Request(), c.Param("project"), "/"+c.Param("*"))
		return nil
	})
	hs := httpstream.New(nd, httpstream.Options{
		MaxConnectSize:       cfg.Client.MaxFrameSize,
		MaxEmulationBodySize: cfg.HTTP.EmulationMaxBodySize,
		WriteTimeout:         cfg.HTTP.WriteTimeout.D(),
		CheckOrigin:          checkOrigin,
		Stats:                stats,
	})
	e.Any("/connection/http_stream", func(c echo.Context) error {
		hs.ServeStream(c.Response(), c.Request(), "")
		return nil
	})
	e.Any("/connection/:project/http_stream", func(c echo.Context) error {
		hs.ServeStream(c.Response(), c.Request(), c.Param("project"))
		return nil
	})
	e.Any("/connection/sse", func(c echo.Context) error {
		hs.ServeSSE(c.Response(), c.Request(), "")
		return nil
	})
	e.Any("/connection/:project/sse", func(c echo.Context) error {
		hs.ServeSSE(c.Response(), c.Request(), c.Param("project"))
		return nil
	})
	e.Any("/emulation", func(c echo.Context) error {
		hs.ServeEmulation(c.Response(), c.Request(), "")
		return nil
	})
	e.Any("/emulation/:project", func(c echo.Context) error {
		hs.ServeEmulation(c.Response(), c.Request(), c.Param("project"))
		return nil
	})
	e.GET("/health", s.health)
	e.GET("/health/live", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "alive"})
	})
	if cfg.Metrics.Prometheus {
		e.GET("/metrics", func(c echo.Context) error {
			c.Response().Header().Set(echo.HeaderContentType, "text/plain; version=0.0.4; charset=utf-8")
			c.Response().WriteHeader(http.StatusOK)
			return reg.WritePrometheus(c.Response())
		})
	}
	api.New(nd, projects, api.Options{MaxBodySize: int64(cfg.HTTP.APIMaxBodySize), MaxResponseSize: int64(cfg.HTTP.APIMaxResponseSize), Logger: log,
		// The methods run by /api lines and batch commands, timed as apiMetrics times routes.
		Observe: func(method string, took time.Duration) {
			reg.Timer("api.call", "server API calls, by method", "method", method).Observe(took)
		}}).Register(e)
	// Every admin route (/admin/api/...) is registered here or nowhere.
	if cfg.Admin.Enabled {
		admin.New(nd, admin.Options{Config: cfg.Admin, Engine: eng.Name(), Logger: log}).Register(e)
		// The admin UI (server/web), on the same condition as its API.
		ui := echo.WrapHandler(web.New())
		for _, p := range web.Paths {
			e.GET(p, ui)
			e.HEAD(p, ui)
		}
	}
	s.echo = e
	s.newConns = map[net.Conn]struct{}{}
	s.http = &http.Server{
		Handler:           guard(e, cfg.HTTP),
		ConnState:         s.trackConn,
		ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout.D(),
		IdleTimeout:       cfg.HTTP.IdleTimeout.D(),
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// Streaming responses (SockJS's HTTP transports, HTTP-streaming, SSE) are
	// not hijacked: http.Server.Shutdown would wait for them to end.
	s.http.RegisterOnShutdown(func() {
		sj.Shutdown(protocol.DisconnectShutdown)
		hs.Shutdown(protocol.DisconnectShutdown)
	})
	return s, nil
}

// trackConn keeps the set of connections still waiting for their first request.
func (s *Server) trackConn(c net.Conn, st http.ConnState) {
	s.newMu.Lock()
	defer s.newMu.Unlock()
	if st == http.StateNew {
		s.newConns[c] = struct{}{}
	} else {
		delete(s.newConns, c)
	}
}

// closeNewConns closes the connections that have not sent a request yet.
func (s *Server) closeNewConns() {
	s.newMu.Lock()
	defer s.newMu.Unlock()
	for c := range s.newConns {
		_ = c.Close()
		delete(s.newConns, c)
	}
}

// Config returns the configuration the server was built from.
func (s *Server) Config() config.Config { return s.cfg }

// TransportStats returns the connection counters per transport.
func (s *Server) TransportStats() *transport.Stats { return s.stats }

// Node returns the server's node.
func (s *Server) Node() *node.Node { return s.node }

// Start listens on the configured address (port 0 picks a free port) and serves
// in the background. It returns the address listened on.
func (s *Server) Start() (string, error) {
	if err := s.node.Start(); err != nil {
		return "", err
	}
	if err := s.startGraphite(s.bg); err != nil {
		return "", err
	}
	if err := s.startDebug(); err != nil {
		return "", err
	}
	addr := net.JoinHostPort(s.cfg.HTTP.Address, strconv.Itoa(s.cfg.HTTP.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("listen: %w", err)
	}
	s.ln = ln
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server", "err", err)
		}
	}()
	return ln.Addr().String(), nil
}

// Shutdown stops accepting connections and API calls, lets in-flight API calls
// finish, then disconnects every client with 3001 (they reconnect to another
// node) and closes the engine.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopping.Store(true)
	done := make(chan error, 1)
	go func() { done <- s.http.Shutdown(ctx) }()
	// Connections that have not sent a request yet (browsers open spare
	// ones) would hold Shutdown for 5 s, as net/http counts them idle only
	// then; they carry nothing, so they are closed until Shutdown returns.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var httpErr error
wait:
	for {
		s.closeNewConns()
		select {
		case httpErr = <-done:
			break wait
		case <-tick.C:
		}
	}
	if s.debug != nil {
		_ = s.debug.Close()
	}
	nodeErr := s.node.Shutdown(ctx, protocol.DisconnectShutdown)
	s.stopBG()
	return errors.Join(httpErr, nodeErr, s.store.Close())
}

// Run serves cfg until ctx is cancelled, then shuts down gracefully.
func Run(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	s, err := New(cfg, log)
	if err != nil {
		return err
	}
	addr, err := s.Start()
	if err != nil {
		return err
	}
	log.Info("listening", "addr", addr, "engine", s.node.Engine().Name(), "version", Version)
	<-ctx.Done()
	log.Info("shutting down")
	timeout := cfg.HTTP.ShutdownTimeout.D()
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return s.Shutdown(sctx)
}

// newEngine creates the engine cfg selects (not yet running).
func newEngine(cfg config.Config, log *slog.Logger, reg *metrics.Registry) (engine.Engine, error) {
	switch cfg.Engine.Type {
	case config.EngineMemory:
		return memengine.New(memengine.Config{})
	case config.EngineRedis:
		urls := cfg.Engine.RedisShards
		if len(urls) == 0 {
			urls = []string{cfg.Engine.RedisURL}
		}
		return redisengine.New(redisengine.Config{
			URLs:               urls,
			Cluster:            cfg.Engine.RedisCluster,
			SentinelMasterName: cfg.Engine.RedisSentinelMaster,
			Prefix:             cfg.Engine.RedisPrefix,
			PresenceTTL:        cfg.Client.PresenceTTL.D(),
			Logger:             log,
			Metrics:            reg,
		})
	}
	return nil, fmt.Errorf("unknown engine type %q", cfg.Engine.Type)
}
