package node

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
)

type idConn string

func (c idConn) ID() string                                          { return string(c) }
func (c idConn) User() string                                        { return "" }
func (c idConn) Project() string                                     { return "" }
func (c idConn) Deliver(string, []byte, engine.StreamPosition, Kind) {}
func (c idConn) ServerSubscribe(string, ServerSubscription)          {}
func (c idConn) ServerUnsubscribe(string, uint32, string)            {}
func (c idConn) Disconnect(protocol.Disconnect)                      {}
func (c idConn) ServerRefresh(RefreshOptions)                        {}
func (c idConn) InsufficientState()                                  {}

// The slice and the index stay consistent through any order of adds and
// removes, with every subscriber listed once.
func TestSubscribersAddRemove(t *testing.T) {
	ss := &subscribers{index: map[string]int{}}
	want := map[string]bool{}
	r := rand.New(rand.NewPCG(1, 2))
	for step := range 20000 {
		id := fmt.Sprintf("c%d", r.IntN(300))
		if r.IntN(2) == 0 {
			ss.add(idConn(id))
			want[id] = true
		} else if got := ss.remove(id); got != want[id] {
			t.Fatalf("step %d: remove(%s) = %v, want %v", step, id, got, want[id])
		} else {
			delete(want, id)
		}
		if len(ss.conns) != len(want) || len(ss.index) != len(want) {
			t.Fatalf("step %d: %d conns, %d indexed, want %d", step, len(ss.conns), len(ss.index), len(want))
		}
	}
	var ids []string
	for i, c := range ss.conns {
		if ss.index[c.ID()] != i || !want[c.ID()] {
			t.Fatalf("conn %s at %d, index says %d, wanted %v", c.ID(), i, ss.index[c.ID()], want[c.ID()])
		}
		ids = append(ids, c.ID())
	}
	slices.Sort(ids)
	if len(slices.Compact(ids)) != len(want) {
		t.Fatal("a subscriber is listed twice")
	}
}
