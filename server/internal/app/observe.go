package app

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/metrics"
	"github.com/centrifugehq/centrifuge/server/internal/metrics/graphite"
	"github.com/centrifugehq/centrifuge/server/internal/transport"
)

// transportNames are the transports counted per name in the metrics.
var transportNames = []string{transport.NameWebSocket, transport.NameSockJS, transport.NameHTTPStream, transport.NameSSE}

// registerTransportMetrics exports the per-transport connection counters.
func registerTransportMetrics(reg *metrics.Registry, stats *transport.Stats) {
	for _, name := range transportNames {
		name := name
		reg.CounterFunc("transport.connects", "connections opened, by transport", func() int64 {
			return int64(stats.Snapshot()[name].Connects)
		}, "transport", name)
		reg.CounterFunc("transport.disconnects", "connections ended, by transport", func() int64 {
			return int64(stats.Snapshot()[name].Disconnects)
		}, "transport", name)
	}
}

// apiMetrics times every server API call by method and counts HTTP errors.
func apiMetrics(reg *metrics.Registry) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			path := c.Request().URL.Path
			if path != "/api" && !strings.HasPrefix(path, "/api/") {
				return next(c)
			}
			method := path[strings.LastIndexByte(path, '/')+1:]
			if route := c.Path(); route == "/api" || route == "/api/:project" {
				method = "api" // the single line-per-command endpoint
			}
			start := time.Now()
			err := next(c)
			status := c.Response().Status
			if he, ok := err.(*echo.HTTPError); ok {
				status = he.Code
			}
			if status == http.StatusNotFound && c.Path() == "" {
				method = "unknown" // keep unknown paths from growing the registry
			}
			reg.Timer("api.call", "server API calls, by method", "method", method).Since(start)
			if err != nil || status >= 400 {
				reg.Counter("api.errors", "server API calls answered with an HTTP error, by method", "method", method).Inc(1)
			}
			return err
		}
	}
}

// health answers readiness: 200 when the node serves and its engine answers,
// 503 while shutting down or when the engine (Redis) cannot be reached.
func (s *Server) health(c echo.Context) error {
	if s.stopping.Load() {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "shutting down"})
	}
	if p, ok := s.node.Engine().(engine.Pinger); ok {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		if err := p.Ping(ctx); err != nil {
			return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "engine unavailable", "engine": s.node.Engine().Name(), "error": err.Error()})
		}
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok", "engine": s.node.Engine().Name()})
}

// startGraphite runs the Graphite exporter until ctx ends, when configured.
func (s *Server) startGraphite(ctx context.Context) error {
	g := s.cfg.Metrics.Graphite
	if g.Address == "" {
		return nil
	}
	exp, err := graphite.New(graphite.Config{
		Address: g.Address, Prefix: g.Prefix, Node: s.cfg.Name, Interval: g.Interval.D(),
		MaxPacketSize: g.MaxPacketSize, Logger: s.log,
	}, s.node.Metrics())
	if err != nil {
		return err
	}
	go func() { _ = exp.Run(ctx) }()
	return nil
}
