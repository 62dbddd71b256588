// Package nodetest starts real nodes for tests: a node.Node on the memory
// engine with one project, "default", shut down when the test ends. The
// client's, the transports' and the hub's tests share it.
package nodetest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/auth"
	"github.com/centrifugehq/centrifuge/server/internal/config"
	"github.com/centrifugehq/centrifuge/server/internal/engine/memengine"
	"github.com/centrifugehq/centrifuge/server/internal/node"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

// Secret and APIKey are the default project's.
const (
	Secret = "nodetest-secret-0123456789abcdef0123"
	APIKey = "nodetest-api-key-0123456789abcdef012"
)

// Options of New; zero values mean defaults.
type Options struct {
	// Channels are the default project's channel options.
	Channels structure.ChannelOptions
	// Client edits the client configuration (config.Default's).
	Client func(*config.Client)
	// Projects names more projects beside "default", with the same channel
	// options and Secret (so Token serves them too).
	Projects []string
	// WaitWriters is node.Config's.
	WaitWriters func(ctx context.Context, deliveries int) time.Duration
}

// New starts a node; it is shut down (clients told 3001) when tb ends.
func New(tb testing.TB, opts Options) *node.Node {
	tb.Helper()
	list := []structure.Project{{Name: "default", Secret: Secret, APIKey: APIKey, Options: opts.Channels}}
	for _, name := range opts.Projects {
		list = append(list, structure.Project{Name: name, Secret: Secret, Options: opts.Channels})
	}
	projects, err := structure.NewRegistry(list)
	if err != nil {
		tb.Fatal(err)
	}
	eng, err := memengine.New(memengine.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	cc := config.Default().Client
	if opts.Client != nil {
		opts.Client(&cc)
	}
	n, err := node.New(node.Config{Client: cc, WaitWriters: opts.WaitWriters}, projects, eng, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	if err := n.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = n.Shutdown(ctx, protocol.DisconnectShutdown)
	})
	return n
}

// Token returns a connection token of user for the default project, valid
// for an hour.
func Token(tb testing.TB, user string) string {
	tb.Helper()
	tok, err := auth.NewConnectToken(Secret, user, time.Hour, nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}
