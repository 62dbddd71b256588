//go:build !unix

package redistest

import "runtime"

// Pause would stop the server with SIGSTOP, which this platform lacks: the
// test fails (it must not pass without the hung server it asked for).
func (s *Server) Pause() {
	s.t.Helper()
	s.t.Fatalf("redistest: Pause needs SIGSTOP, which %s does not have", runtime.GOOS)
}

// Resume would continue a paused server with SIGCONT (see Pause).
func (s *Server) Resume() {
	s.t.Helper()
	s.t.Fatalf("redistest: Resume needs SIGCONT, which %s does not have", runtime.GOOS)
}
