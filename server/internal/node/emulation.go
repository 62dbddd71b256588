package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Emulation: HTTP-streaming and SSE clients receive on a long-lived response
// and send their commands in separate POST /emulation requests that name their
// session and the node holding it (both from the connect reply). A request may
// land on any node behind a load balancer: one that does not hold the session
// forwards it through the engine's control channel to the node named, which
// handles the commands and answers (as a survey reply) once they are handled.

var (
	// ErrUnknownSession: no emulated session with that id on the node named.
	ErrUnknownSession = errors.New("unknown session")
	// ErrUnknownNode: the node named is not alive (restarted, or never was).
	ErrUnknownNode = errors.New("unknown node")
	// ErrEmulationTimeout: the node named did not answer in time.
	ErrEmulationTimeout = errors.New("no answer from the session's node")
)

// EmulationTimeout bounds how long a forwarded emulation request waits for
// the session's node.
const EmulationTimeout = 10 * time.Second

// EmulationSink handles one emulation request's data: a frame of one or more
// commands, as HandleFrame of a client takes it. It returns once they are
// handled.
type EmulationSink func(data []byte)

// emulatedSessions maps session ids to their sinks; the zero value is ready.
type emulatedSessions struct {
	mu sync.RWMutex
	m  map[string]EmulationSink
}

func (s *emulatedSessions) get(id string) EmulationSink {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.m[id]
}

// AddSession registers an emulated session of this node under id; the
// returned func removes it. Requests for id from any node reach sink.
func (n *Node) AddSession(id string, sink EmulationSink) (remove func()) {
	s := &n.cluster.sessions
	s.mu.Lock()
	if s.m == nil {
		s.m = map[string]EmulationSink{}
	}
	s.m[id] = sink
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.m, id)
		s.mu.Unlock()
	}
}

// emulationReply is the answer of the session's node.
type emulationReply struct {
	Error string `json:"error,omitempty"`
}

// Emulate delivers data to the emulated session named by an emulation request:
// here when the session is on this node, else through the control channel to
// nodeID, waiting for it to handle the data. Errors: ErrUnknownSession,
// ErrUnknownNode, ErrEmulationTimeout, or the engine's.
func (n *Node) Emulate(ctx context.Context, nodeID, session string, data []byte) error {
	if sink := n.cluster.sessions.get(session); sink != nil {
		sink(data)
		return nil
	}
	if nodeID == "" || nodeID == n.id {
		return ErrUnknownSession
	}
	if !n.waitLive(ctx, nodeID) {
		return ErrUnknownNode
	}
	payload, err := json.Marshal(string(data))
	if err != nil {
		return err
	}
	id := uuid.NewString()
	ch := make(chan surveyReply, 1)
	n.cluster.mu.Lock()
	n.cluster.surveys[id] = ch
	n.cluster.mu.Unlock()
	defer func() {
		n.cluster.mu.Lock()
		delete(n.cluster.surveys, id)
		n.cluster.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(ctx, EmulationTimeout)
	defer cancel()
	if err := n.sendControl(ctx, control{Op: "emulation", ID: id, Origin: n.id, Node: nodeID, Client: session, Data: payload}); err != nil {
		return err
	}
	for {
		select {
		case r := <-ch:
			if r.node != nodeID {
				continue
			}
			var rep emulationReply
			if err := json.Unmarshal(r.data, &rep); err != nil {
				return fmt.Errorf("emulation reply: %w", err)
			}
			switch rep.Error {
			case "":
				return nil
			case ErrUnknownSession.Error():
				return ErrUnknownSession
			default:
				return errors.New(rep.Error)
			}
		case <-ctx.Done():
			return ErrEmulationTimeout
		}
	}
}

// waitLive reports whether node id announced itself recently. A node that
// started less than a heartbeat interval ago may not have heard it yet: it
// waits for the announcement until then.
func (n *Node) waitLive(ctx context.Context, id string) bool {
	until := n.started.Add(heartbeatInterval + 500*time.Millisecond)
	for {
		n.cluster.mu.Lock()
		e, ok := n.cluster.nodes[id]
		n.cluster.mu.Unlock()
		if ok && time.Since(e.seen) <= heartbeatExpire {
			return true
		}
		if time.Now().After(until) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// handleEmulation applies an emulation request forwarded to this node and
// answers its origin once the data is handled.
func (n *Node) handleEmulation(c control) {
	if c.Node != n.id {
		return
	}
	var data string
	var rep emulationReply
	sink := n.cluster.sessions.get(c.Client)
	if err := json.Unmarshal(c.Data, &data); err != nil {
		rep.Error = "bad emulation data: " + err.Error()
		sink = nil
	} else if sink == nil {
		rep.Error = ErrUnknownSession.Error()
	}
	// Handling commands takes engine calls: not on the control channel's goroutine.
	go func() {
		if sink != nil {
			sink([]byte(data))
		}
		out, _ := json.Marshal(rep)
		ctx, cancel := context.WithTimeout(context.Background(), surveyTimeout)
		defer cancel()
		if err := n.sendControl(ctx, control{Op: "survey_reply", ID: c.ID, Origin: c.Origin, Node: n.id, Data: out}); err != nil {
			n.log.Warn("emulation reply", "err", err)
		}
	}()
}
