package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrMalformed wraps every frame decoding failure.
var ErrMalformed = errors.New("malformed frame")

// MaxCommandsPerFrame bounds how many commands one frame may carry.
const MaxCommandsPerFrame = 256

// DecodeFrame splits a frame into commands: one or more JSON objects separated by
// '\n' (blank lines are ignored). Any malformed object fails the whole frame.
func DecodeFrame(data []byte) ([]*Command, error) {
	var cmds []*Command
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if len(cmds) >= MaxCommandsPerFrame {
			return nil, fmt.Errorf("%w: more than %d commands", ErrMalformed, MaxCommandsPerFrame)
		}
		if line[0] != '{' {
			return nil, fmt.Errorf("%w: a command must be a JSON object", ErrMalformed)
		}
		cmd := new(Command)
		if err := json.Unmarshal(line, cmd); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		cmds = append(cmds, cmd)
	}
	return cmds, nil
}

// Method returns the name of the command's method, "" for a pong (no method), or
// an error when several methods are set.
func (c *Command) Method() (string, error) {
	name := ""
	set := func(ok bool, n string) error {
		if !ok {
			return nil
		}
		if name != "" {
			return fmt.Errorf("%w: several methods in one command", ErrMalformed)
		}
		name = n
		return nil
	}
	for _, m := range []struct {
		ok   bool
		name string
	}{
		{c.Connect != nil, "connect"}, {c.Subscribe != nil, "subscribe"},
		{c.Unsubscribe != nil, "unsubscribe"}, {c.Publish != nil, "publish"},
		{c.Presence != nil, "presence"}, {c.PresenceStats != nil, "presence_stats"},
		{c.History != nil, "history"}, {c.Ping != nil, "ping"}, {c.Send != nil, "send"},
		{c.RPC != nil, "rpc"}, {c.Refresh != nil, "refresh"}, {c.SubRefresh != nil, "sub_refresh"},
	} {
		if err := set(m.ok, m.name); err != nil {
			return "", err
		}
	}
	return name, nil
}

// Encode marshals one reply or push. Replies hold only marshalable types, so an
// error here is a programming error and is returned for the caller to log.
func Encode(r *Reply) ([]byte, error) {
	return json.Marshal(r)
}

// EncodePush marshals a push frame.
func EncodePush(p *Push) ([]byte, error) {
	return json.Marshal(&Reply{Push: p})
}

// PingFrame is the server's ping and the client's pong.
var PingFrame = []byte("{}")
