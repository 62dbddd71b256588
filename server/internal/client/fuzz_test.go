package client_test

import (
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/centrifugehq/centrifuge/server/internal/auth"
	"github.com/centrifugehq/centrifuge/server/internal/client"
	"github.com/centrifugehq/centrifuge/server/internal/config"
	"github.com/centrifugehq/centrifuge/server/internal/duration"
	"github.com/centrifugehq/centrifuge/server/internal/engine/memengine"
	"github.com/centrifugehq/centrifuge/server/internal/node"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

// sink is a client.Transport that keeps what it is sent.
type sink struct {
	mu     sync.Mutex
	frames [][]byte
	closed *protocol.Disconnect
}

func (s *sink) Name() string { return "fuzz" }
func (s *sink) Write(frames [][]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frames = append(s.frames, frames...)
	return nil
}
func (s *sink) Close(d protocol.Disconnect) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = &d
	return nil
}

// FuzzHandleFrame feeds any frame (commands with any parameters) to a
// connected client of a real node (memory engine): it answers or
// disconnects, never panics or hangs, and what it writes is valid UTF-8.
func FuzzHandleFrame(f *testing.F) {
	const secret = "fuzz-secret-0123456789abcdef0123"
	opts := structure.ChannelOptions{
		Presence: true, JoinLeave: true, HistorySize: 5, HistoryTTL: duration.Duration(time.Minute),
		AllowSubscribeForClient: true, AllowPublishForClient: true, AllowHistoryForClient: true,
		AllowPresenceForClient: true, AllowUserLimitedChannels: true,
	}
	projects, err := structure.NewRegistry([]structure.Project{{Name: "default", Secret: secret, Options: opts,
		Namespaces: []structure.Namespace{{Name: "ns", Options: opts}}}})
	if err != nil {
		f.Fatal(err)
	}
	eng, err := memengine.New(memengine.Config{})
	if err != nil {
		f.Fatal(err)
	}
	cfg := config.Default()
	node, err := node.New(node.Config{Client: cfg.Client}, projects, eng, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		f.Fatal(err)
	}
	if err := node.Start(); err != nil {
		f.Fatal(err)
	}
	tok, err := auth.NewConnectToken(secret, "42", time.Hour, nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	connect := `{"id":1,"connect":{"token":"` + tok + `"}}`
	for _, s := range []string{
		`{"id":2,"subscribe":{"channel":"news","recover":true,"offset":99,"epoch":"x"}}`,
		`{"id":3,"publish":{"channel":"ns:a","data":{"k":1}}}` + "\n" + `{"id":4,"history":{"channel":"ns:a","limit":-1,"since":{"offset":18446744073709551615}}}`,
		`{"id":5,"presence":{"channel":"dialog#42,1"}}`, `{"id":6,"rpc":{"method":"","data":null}}`,
		`{"id":7,"sub_refresh":{"channel":"$x","token":"a.b.c"}}`, `{"id":8,"refresh":{"token":""}}`,
		`{"id":9,"unsubscribe":{"channel":"news"}}`, `{"send":{"data":"x"}}`, `{}`, `{"id":10}`,
		`{"id":11,"subscribe":{"channel":"` + strings.Repeat("a", 300) + `"}}`, `{"id":12,"publish":{"channel":"news","data":"\u00ff"}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, frame string) {
		tr := &sink{}
		c, err := client.New(node, tr, "")
		if err != nil {
			t.Fatal(err)
		}
		if c.HandleFrame([]byte(connect)) {
			c.HandleFrame([]byte(frame))
		}
		c.Disconnect(protocol.DisconnectNormal)
		select {
		case <-c.Done():
		case <-time.After(10 * time.Second):
			t.Fatalf("client did not end after %q", frame)
		}
		tr.mu.Lock()
		defer tr.mu.Unlock()
		for _, out := range tr.frames {
			if !utf8.Valid(out) {
				t.Fatalf("frame %q answered with invalid UTF-8 %q", frame, out)
			}
		}
	})
}
