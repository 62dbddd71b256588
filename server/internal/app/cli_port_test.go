package app

import (
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestServeBusyPortPrintsNoToken: serve --create-config (make run) on a
// port in use fails before printing endpoints or a token.
func TestServeBusyPortPrintsNoToken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	tc := newTestCLI()
	tc.checkPort = portFree // as Main sets it
	tc.exec(t, exitError, "serve", "--config", filepath.Join(t.TempDir(), "c.yaml"), "--create-config", "--port", port)
	out := tc.err.String()
	if strings.Contains(out, "token") || strings.Contains(out, "client endpoint") {
		t.Fatalf("printed a token or endpoints before failing:\n%s", out)
	}
	if !strings.Contains(out, "cannot listen") || tc.ran != nil {
		t.Fatalf("no clear error (ran: %v):\n%s", tc.ran != nil, out)
	}
}
