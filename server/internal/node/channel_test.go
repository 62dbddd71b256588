package node_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/config"
	"github.com/centrifugehq/centrifuge/server/internal/duration"
	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/node"
	"github.com/centrifugehq/centrifuge/server/internal/nodetest"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

// The node's operations on a resolved channel are the ones the server API
// reaches by name: a publication made through one is seen through the other,
// with its publisher, and both cap history reads alike.
func TestChannelOperations(t *testing.T) {
	ctx := context.Background()
	n := nodetest.New(t, nodetest.Options{
		Channels: structure.ChannelOptions{HistorySize: 10, HistoryTTL: duration.Duration(time.Minute)},
		Client:   func(c *config.Client) { c.HistoryMaxLimit = 2 },
	})
	p, err := n.Projects().Get("default")
	if err != nil {
		t.Fatal(err)
	}
	_, opts, err := p.ResolveChannel("room", 0)
	if err != nil {
		t.Fatal(err)
	}
	ch := n.Channel(p, "room", opts)
	publisher := &engine.ClientInfo{User: "42", Client: "c1"}
	for range 3 {
		if _, err := ch.Publish(ctx, []byte(`{}`), node.PublishOptions{ClientInfo: publisher}); err != nil {
			t.Fatal(err)
		}
	}
	hr, err := n.History(ctx, "default", "room", engine.HistoryOptions{Limit: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(hr.Publications) != 2 || hr.Position.Offset != 3 {
		t.Fatalf("history through the API: %d publications at offset %d, want 2 (capped) at 3", len(hr.Publications), hr.Position.Offset)
	}
	if info := hr.Publications[0].Info; info == nil || info.User != "42" || info.Client != "c1" {
		t.Fatalf("publisher: %+v, want user 42, client c1", info)
	}
	hr2, err := ch.History(ctx, engine.HistoryOptions{Limit: 100})
	if err != nil || len(hr2.Publications) != 2 {
		t.Fatalf("history on the channel: %d publications, %v; want 2 (capped)", len(hr2.Publications), err)
	}
	if _, err := ch.Presence(ctx); !errors.Is(err, protocol.ErrNotAvailable) {
		t.Fatalf("presence without the option: %v, want %v", err, protocol.ErrNotAvailable)
	}
	if _, err := n.PresenceStats(ctx, "default", "room"); !errors.Is(err, protocol.ErrNotAvailable) {
		t.Fatalf("presence stats without the option: %v, want %v", err, protocol.ErrNotAvailable)
	}
	if err := ch.HistoryRemove(ctx); err != nil {
		t.Fatal(err)
	}
	if hr, err := n.History(ctx, "default", "room", engine.HistoryOptions{Limit: -1}); err != nil || len(hr.Publications) != 0 {
		t.Fatalf("after HistoryRemove: %d publications, %v", len(hr.Publications), err)
	}
}
