package node

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Nodes find each other through the engine's control channel: each node
// announces itself every heartbeatInterval and is forgotten heartbeatExpire
// after its last announcement (at once when it says it leaves). With the
// Memory engine the only node heard is this one.
const (
	heartbeatInterval = 2 * time.Second
	heartbeatExpire   = 3 * heartbeatInterval
	surveyTimeout     = 2 * time.Second
)

// nodeWire is a node's announcement.
type nodeWire struct {
	UID         string `json:"uid"`
	Name        string `json:"name"`
	Version     string `json:"version"`
	NumClients  int    `json:"num_clients"`
	NumUsers    int    `json:"num_users"`
	NumSubs     int    `json:"num_subs"`
	NumChannels int    `json:"num_channels"`
	UptimeSec   int64  `json:"uptime"`
	// Metrics are the node's aggregates (metrics.Registry.Snapshot).
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

type nodeEntry struct {
	info NodeInfo
	seen time.Time
}

// cluster tracks live nodes and pending surveys.
type cluster struct {
	mu      sync.Mutex
	nodes   map[string]nodeEntry
	surveys map[string]chan surveyReply
	// sessions are the emulated sessions on this node (emulation.go).
	sessions emulatedSessions
}

type surveyReply struct {
	node string
	data json.RawMessage
}

func newCluster() *cluster {
	return &cluster{nodes: map[string]nodeEntry{}, surveys: map[string]chan surveyReply{}}
}

func (n *Node) announce(ctx context.Context, op string) {
	info := n.localInfo()
	w := nodeWire{
		UID: info.UID, Name: info.Name, Version: info.Version, NumClients: info.NumClients,
		NumUsers: info.NumUsers, NumSubs: info.NumSubs, NumChannels: info.NumChannels,
		UptimeSec: int64(info.Uptime / time.Second), Metrics: info.Metrics,
	}
	data, _ := json.Marshal(w)
	if err := n.sendControl(ctx, control{Op: op, Origin: n.id, Data: data}); err != nil {
		n.log.Warn("node heartbeat", "err", err)
	}
}

func (n *Node) heartbeatLoop() {
	defer n.wg.Done()
	t := time.NewTicker(heartbeatInterval)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), heartbeatInterval)
		n.announce(ctx, "node")
		cancel()
		select {
		case <-n.done:
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			n.announce(ctx, "node_leave")
			cancel()
			return
		case <-t.C:
		}
	}
}

// handleClusterControl handles node announcements and surveys; it reports
// whether c was one of them.
func (n *Node) handleClusterControl(c control) bool {
	switch c.Op {
	case "node", "node_leave":
		var w nodeWire
		if err := json.Unmarshal(c.Data, &w); err != nil || w.UID == "" {
			n.log.Warn("bad node announcement", "err", err)
			return true
		}
		n.cluster.mu.Lock()
		if c.Op == "node_leave" {
			delete(n.cluster.nodes, w.UID)
		} else {
			n.cluster.nodes[w.UID] = nodeEntry{seen: time.Now(), info: NodeInfo{
				UID: w.UID, Name: w.Name, Version: w.Version, NumClients: w.NumClients, NumUsers: w.NumUsers,
				NumSubs: w.NumSubs, NumChannels: w.NumChannels, Uptime: time.Duration(w.UptimeSec) * time.Second,
				Metrics: w.Metrics,
			}}
		}
		n.cluster.mu.Unlock()
		return true
	case "survey_channels":
		data, _ := json.Marshal(n.hub.channels(c.Project))
		ctx, cancel := context.WithTimeout(context.Background(), surveyTimeout)
		defer cancel()
		if err := n.sendControl(ctx, control{Op: "survey_reply", ID: c.ID, Origin: c.Origin, Node: n.id, Data: data}); err != nil {
			n.log.Warn("survey reply", "err", err)
		}
		return true
	case "emulation":
		n.handleEmulation(c)
		return true
	case "survey_reply":
		if c.Origin != n.id {
			return true
		}
		n.cluster.mu.Lock()
		ch := n.cluster.surveys[c.ID]
		n.cluster.mu.Unlock()
		if ch != nil {
			select {
			case ch <- surveyReply{node: c.Node, data: c.Data}:
			default:
			}
		}
		return true
	}
	return false
}

// numNodes counts the nodes heard from recently, this one included.
func (n *Node) numNodes() int {
	now := time.Now()
	num := 1
	n.cluster.mu.Lock()
	defer n.cluster.mu.Unlock()
	for id, e := range n.cluster.nodes {
		if id != n.id && now.Sub(e.seen) <= heartbeatExpire {
			num++
		}
	}
	return num
}

// liveNodes returns the nodes heard from recently; this one always included.
func (n *Node) liveNodes() []NodeInfo {
	now := time.Now()
	self := n.localInfo()
	out := []NodeInfo{self}
	n.cluster.mu.Lock()
	for id, e := range n.cluster.nodes {
		if now.Sub(e.seen) > heartbeatExpire {
			delete(n.cluster.nodes, id)
			continue
		}
		if id != n.id {
			out = append(out, e.info)
		}
	}
	n.cluster.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name+out[i].UID < out[j].Name+out[j].UID })
	return out
}

// survey asks every live node for its share of something (op) and returns
// the replies received before ctx ends or every live node answered.
func (n *Node) survey(ctx context.Context, op, project string) ([]json.RawMessage, error) {
	want := len(n.liveNodes())
	id := uuid.NewString()
	ch := make(chan surveyReply, want+8)
	n.cluster.mu.Lock()
	n.cluster.surveys[id] = ch
	n.cluster.mu.Unlock()
	defer func() {
		n.cluster.mu.Lock()
		delete(n.cluster.surveys, id)
		n.cluster.mu.Unlock()
	}()
	if err := n.sendControl(ctx, control{Op: op, ID: id, Origin: n.id, Project: project}); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, surveyTimeout)
	defer cancel()
	seen := map[string]bool{}
	var out []json.RawMessage
	for len(seen) < want {
		select {
		case r := <-ch:
			if !seen[r.node] {
				seen[r.node] = true
				out = append(out, r.data)
			}
		case <-ctx.Done():
			if len(out) == 0 {
				return nil, ctx.Err()
			}
			n.log.Warn("survey incomplete", "op", op, "answered", len(seen), "nodes", want)
			return out, nil
		}
	}
	return out, nil
}
