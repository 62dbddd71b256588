package transport_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/transport"
)

// TestWriteDeadlineCountsFromFirstWrite: a handler that computes longer
// than the write timeout still gets its response out; a peer that does not
// read a large response is cut after the timeout.
func TestWriteDeadlineCountsFromFirstWrite(t *testing.T) {
	big := strings.Repeat("x", 64<<20)
	h := transport.WriteDeadline(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(400 * time.Millisecond)
			_, _ = io.WriteString(w, "done")
			return
		}
		start := time.Now()
		_, err := io.WriteString(w, big)
		if err == nil || time.Since(start) > 3*time.Second {
			t.Errorf("write to a peer that does not read: err %v after %s", err, time.Since(start))
		}
	}), 200*time.Millisecond, func(*http.Request) bool { return false })
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/slow")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "done" {
		t.Fatalf("slow handler's response: %q", b)
	}
	c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
	_, _ = bufio.NewReader(c).ReadString('\n') // read the status line, then stop reading
	time.Sleep(3500 * time.Millisecond)
}
