package protocol_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/centrifugehq/centrifuge/server/internal/protocol"
)

func TestDecodeFrameSeveralCommands(t *testing.T) {
	frame := []byte("{\"id\":1,\"connect\":{\"token\":\"t\"}}\n\n  {\"id\":2,\"subscribe\":{\"channel\":\"news\",\"recover\":true,\"offset\":5,\"epoch\":\"e\"}}\r\n{}")
	cmds, err := protocol.DecodeFrame(frame)
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) != 3 {
		t.Fatalf("got %d commands, want 3", len(cmds))
	}
	if m, _ := cmds[0].Method(); m != "connect" || cmds[0].Connect.Token != "t" {
		t.Fatalf("first command: %q %+v", m, cmds[0])
	}
	s := cmds[1].Subscribe
	if m, _ := cmds[1].Method(); m != "subscribe" || s.Channel != "news" || !s.Recover || s.Offset != 5 || s.Epoch != "e" {
		t.Fatalf("second command: %q %+v", m, s)
	}
	if m, err := cmds[2].Method(); m != "" || err != nil || cmds[2].ID != 0 {
		t.Fatalf("pong: %q %v", m, err)
	}
}

func TestDecodeFrameErrors(t *testing.T) {
	for name, frame := range map[string]string{
		"not json":      "hello",
		"array":         "[1,2]",
		"wrong type":    `{"id":"one","connect":{}}`,
		"bad data":      `{"id":1,"publish":{"channel":"a","data":{"x":}}}`,
		"second broken": "{\"id\":1,\"connect\":{}}\n{",
		"negative id":   `{"id":-1,"connect":{}}`,
	} {
		if _, err := protocol.DecodeFrame([]byte(frame)); !errors.Is(err, protocol.ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

func TestMethodSeveralIsError(t *testing.T) {
	cmds, err := protocol.DecodeFrame([]byte(`{"id":1,"connect":{},"subscribe":{"channel":"a"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cmds[0].Method(); !errors.Is(err, protocol.ErrMalformed) {
		t.Fatalf("err = %v", err)
	}
}

func TestRawDataPassesThrough(t *testing.T) {
	cmds, err := protocol.DecodeFrame([]byte(`{"id":3,"publish":{"channel":"a","data":{"text":"hi","n":[1,2]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(cmds[0].Publish.Data); got != `{"text":"hi","n":[1,2]}` {
		t.Fatalf("data = %s", got)
	}
	out, err := protocol.EncodePush(&protocol.Push{Channel: "a", Pub: &protocol.Publication{Data: cmds[0].Publish.Data, Offset: 7}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"push":{"channel":"a","pub":{"data":{"text":"hi","n":[1,2]},"offset":7}}}`
	if string(out) != want {
		t.Fatalf("push = %s\nwant   %s", out, want)
	}
}

func TestCodesRegistry(t *testing.T) {
	seen := map[uint32]bool{}
	for _, e := range protocol.Errors {
		if seen[e.Code] || e.Code < 100 || e.Code > 112 {
			t.Errorf("bad or duplicate error code %d", e.Code)
		}
		seen[e.Code] = true
	}
	if len(seen) != 13 {
		t.Errorf("%d error codes, want 13", len(seen))
	}
	for _, d := range protocol.Disconnects {
		if seen[d.Code] {
			t.Errorf("duplicate code %d", d.Code)
		}
		seen[d.Code] = true
		if len(d.Reason) >= 123 {
			t.Errorf("reason of %d too long for a close frame", d.Code)
		}
		if want := d.Code < 3500; d.Reconnect() != want {
			t.Errorf("%d reconnect = %v", d.Code, d.Reconnect())
		}
	}
	b, _ := json.Marshal(protocol.ErrInternal)
	if string(b) != `{"code":100,"message":"internal server error","temporary":true}` {
		t.Errorf("error json = %s", b)
	}
}

func FuzzDecodeFrame(f *testing.F) {
	for _, s := range []string{
		`{"id":1,"connect":{"token":"x","subs":{"a":{"recover":true}}}}`,
		"{\"id\":1,\"subscribe\":{\"channel\":\"a\"}}\n{\"id\":2,\"publish\":{\"channel\":\"a\",\"data\":1}}",
		`{}`, ``, "\n\n", `{"id":4294967295,"history":{"channel":"a","limit":-1,"since":{"offset":1,"epoch":"x"}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cmds, err := protocol.DecodeFrame(data)
		if err != nil {
			if !errors.Is(err, protocol.ErrMalformed) {
				t.Fatalf("error not ErrMalformed: %v", err)
			}
			return
		}
		if len(cmds) > protocol.MaxCommandsPerFrame {
			t.Fatalf("%d commands", len(cmds))
		}
		for _, c := range cmds {
			_, _ = c.Method()
		}
	})
}
