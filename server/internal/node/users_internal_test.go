package node

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// A user's connections stay exact through adds and removes in any order,
// as they move from the short slice to the map past userConnsFew (and stay
// there); a user without connections is forgotten.
func TestUserConnsAddRemove(t *testing.T) {
	h := newHub()
	want := map[string]bool{}
	r := rand.New(rand.NewPCG(3, 4))
	for step := range 20000 {
		// Phases of mostly adds and mostly removes, so that the count crosses
		// userConnsFew both ways.
		addBias := 3
		if step/500%2 == 1 {
			addBias = 1
		}
		id := fmt.Sprintf("c%d", r.IntN(3*userConnsFew))
		if r.IntN(4) < addBias {
			if !h.addConn(idConn(id), 0) {
				t.Fatalf("step %d: add refused", step)
			}
			want[id] = true
		} else {
			h.removeConn(idConn(id))
			delete(want, id)
		}
		var got []string
		for _, c := range h.userConns("", "", "") {
			got = append(got, c.ID())
		}
		slices.Sort(got)
		var ids []string
		for id := range want {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		if !slices.Equal(got, ids) {
			t.Fatalf("step %d: user's connections %v, want %v", step, got, ids)
		}
		if _, ok := h.users[userKey{}]; ok != (len(want) > 0) || len(h.conns) != len(want) {
			t.Fatalf("step %d: user listed %v, %d conns, want %d", step, ok, len(h.conns), len(want))
		}
	}
}

// The per-user limit counts the connections wherever they are held.
func TestUserConnsLimit(t *testing.T) {
	h := newHub()
	for i := range userConnsFew + 4 {
		if !h.addConn(userConn{idConn(fmt.Sprint(i))}, userConnsFew+4) {
			t.Fatalf("connection %d refused", i)
		}
	}
	if h.addConn(userConn{idConn("over")}, userConnsFew+4) {
		t.Fatal("a connection over the limit was added")
	}
}

// userConn is an idConn of user "u".
type userConn struct{ idConn }

func (userConn) User() string { return "u" }
