package transport

import (
	"sync"
)

// Transport names, as clients and metrics see them.
const (
	NameWebSocket  = "websocket"
	NameSockJS     = "sockjs"
	NameHTTPStream = "http_stream"
	NameSSE        = "sse"
)

// Counts are one transport's connection counters since the server started:
// sessions opened (a client state machine created) and ended.
type Counts struct {
	Connects    uint64
	Disconnects uint64
}

// Stats counts connections per transport, for the metrics exporter
// (centrifuge_transport_connects_total{transport} and
// centrifuge_transport_disconnects_total{transport}). A nil *Stats counts
// nothing.
type Stats struct {
	mu sync.Mutex
	m  map[string]*Counts
}

// NewStats returns empty counters.
func NewStats() *Stats { return &Stats{m: map[string]*Counts{}} }

func (s *Stats) add(name string, f func(*Counts)) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.m[name]
	if c == nil {
		c = &Counts{}
		s.m[name] = c
	}
	f(c)
}

// Connect counts a connection of transport name.
func (s *Stats) Connect(name string) { s.add(name, func(c *Counts) { c.Connects++ }) }

// Disconnect counts the end of a connection of transport name.
func (s *Stats) Disconnect(name string) { s.add(name, func(c *Counts) { c.Disconnects++ }) }

// Snapshot returns the counters of every transport seen so far.
func (s *Stats) Snapshot() map[string]Counts {
	out := map[string]Counts{}
	if s == nil {
		return out
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.m {
		out[k] = *v
	}
	return out
}
