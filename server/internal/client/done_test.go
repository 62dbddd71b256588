package client

import (
	"testing"
	"time"
)

// Done is closed when the client finishes, whether it was asked for before
// (the channel is made then) or after.
func TestDoneBeforeAndAfterFinish(t *testing.T) {
	n := newTestNode(t, nil)
	trEarly, _ := newTransport(false)
	trLate, _ := newTransport(false)
	early := connect(t, n, trEarly, "1")
	late := connect(t, n, trLate, "2")
	done := early.Done()
	select {
	case <-done:
		t.Fatal("done before the connection closed")
	default:
	}
	early.Closed()
	select {
	case <-done:
	case <-time.After(waitFor):
		t.Fatal("not done after closing")
	}
	late.Closed()
	deadline := time.Now().Add(waitFor)
	for {
		late.mu.Lock()
		finished, made := late.finished, late.done != nil
		late.mu.Unlock()
		if made {
			t.Fatal("done made before anyone asked")
		}
		if finished {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the client did not finish")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case <-late.Done():
	default:
		t.Fatal("Done asked after finishing is not closed")
	}
	if early.Done() != done {
		t.Fatal("Done returned another channel")
	}
}
