package wstransport

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/centrifugehq/centrifuge/server/internal/client"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
)

// On Linux a connection on a socket is written with send(2) by the
// flusher: TryWrite takes what the socket buffer takes, says ErrWouldBlock
// for the rest, WriteRest finishes that message, and the peer reads every
// message whole and in order.
func TestTryWriteThenWriteRest(t *testing.T) {
	st, cc := pair(t, 10*time.Second)
	dt, ok := clientTransport(st).(directTransport)
	if !ok {
		t.Fatal("a TCP connection must get the direct (send(2)) writer on Linux")
	}
	var _ client.DirectWriter = dt
	var sent [][]byte
	partial := false
	for i := 0; i < 10000 && !partial; i++ {
		frame := []byte(fmt.Sprintf(`{"n":%d,"p":"%s"}`, i, bytes.Repeat([]byte{'x'}, 4000)))
		msg := dt.AppendMessage(nil, [][]byte{frame})
		n, err := dt.TryWrite(msg)
		sent = append(sent, frame)
		switch {
		case errors.Is(err, client.ErrWouldBlock):
			partial = true
			if n >= len(msg) {
				t.Fatalf("ErrWouldBlock with the whole message written (%d of %d)", n, len(msg))
			}
			// Until the message is finished nothing else may be written.
			if _, err := dt.TryWrite(dt.AppendMessage(nil, [][]byte{[]byte(`{}`)})); err == nil {
				t.Fatal("TryWrite accepted a message while one was partial")
			}
			if err := dt.writeControl(websocket.PingMessage, nil); err == nil {
				t.Fatal("a control frame was written inside a partial message")
			}
			done := make(chan error, 1)
			go func() { done <- dt.WriteRest(msg[n:]) }()
			for j := range sent {
				_ = cc.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, got, err := cc.ReadMessage()
				if err != nil {
					t.Fatalf("message %d: %v", j, err)
				}
				if !bytes.Equal(got, sent[j]) {
					t.Fatalf("message %d differs (%d bytes, want %d)", j, len(got), len(sent[j]))
				}
			}
			if err := <-done; err != nil {
				t.Fatalf("WriteRest: %v", err)
			}
		case err != nil:
			t.Fatal(err)
		case n != len(msg):
			t.Fatalf("TryWrite wrote %d of %d without ErrWouldBlock", n, len(msg))
		}
	}
	if !partial {
		t.Fatal("the socket never filled up")
	}
	// After the rest, writes go on normally.
	if _, err := dt.TryWrite(dt.AppendMessage(nil, [][]byte{[]byte(`{"after":1}`)})); err != nil {
		t.Fatal(err)
	}
	if _, got, err := cc.ReadMessage(); err != nil || string(got) != `{"after":1}` {
		t.Fatalf("after the rest: %q %v", got, err)
	}
	if err := dt.Close(protocol.DisconnectNormal); err != nil {
		t.Fatal(err)
	}
	if _, err := dt.TryWrite([]byte("x")); err == nil {
		t.Fatal("TryWrite after Close succeeded")
	}
}
