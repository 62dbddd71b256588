package app

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// startDebug serves net/http/pprof on debug.address, a listener of its own so
// that the profiler is never reachable through the public port.
func (s *Server) startDebug() error {
	if s.cfg.Debug.Address == "" {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.Debug.Address)
	if err != nil {
		return fmt.Errorf("debug listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	s.debug = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	s.debugAddr = ln.Addr().String()
	s.log.Info("profiler listening", "addr", ln.Addr().String())
	go func() {
		if err := s.debug.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("debug server", "err", err)
		}
	}()
	return nil
}

// DebugAddr is the profiler's listening address ("" when debug.address is unset).
func (s *Server) DebugAddr() string { return s.debugAddr }
