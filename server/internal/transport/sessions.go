package transport

import (
	"sync"

	"github.com/centrifugehq/centrifuge/server/internal/client"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
)

// MaxSessionIDLength bounds a session id a client names (a SockJS session or
// server id in the URL, an emulation request's session).
const MaxSessionIDLength = 64

// ValidSessionID reports whether id is 1 to MaxSessionIDLength characters
// of [A-Za-z0-9_-]: what sockjs-client (random alphanumerics) and our own
// emulation sessions (base32) produce. Anything else is refused before it
// reaches a registry.
func ValidSessionID(id string) bool {
	if id == "" || len(id) > MaxSessionIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// SessionKey names a session within its project: the same id in another
// project is another session, so a request can only reach sessions of the
// project its URL names.
func SessionKey(project, id string) string { return project + "/" + id }

// Sessions is the registry of the live clients of a transport whose requests
// are not hijacked (SockJS, HTTP-streaming, SSE), keyed by SessionKey, so that
// the server's shutdown can disconnect them: http.Server.Shutdown would wait
// for their requests otherwise. The zero value is ready.
type Sessions struct {
	mu sync.Mutex
	m  map[string]*client.Client
}

// Add registers c under key; the returned func removes it. It returns false
// (and registers nothing) when key is taken by another client.
func (s *Sessions) Add(key string, c *client.Client) (remove func(), ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*client.Client{}
	}
	if old, taken := s.m[key]; taken && old != c {
		return nil, false
	}
	s.m[key] = c
	return func() {
		s.mu.Lock()
		if s.m[key] == c {
			delete(s.m, key)
		}
		s.mu.Unlock()
	}, true
}

// Len returns the number of registered clients.
func (s *Sessions) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// Shutdown disconnects every registered client with d. It is called when
// the server starts shutting down (http.Server.RegisterOnShutdown).
func (s *Sessions) Shutdown(d protocol.Disconnect) {
	s.mu.Lock()
	clients := make([]*client.Client, 0, len(s.m))
	for _, c := range s.m {
		clients = append(clients, c)
	}
	s.mu.Unlock()
	for _, c := range clients {
		c.Disconnect(d)
	}
}
