// Package node is one server process: its hub (Hub) keeps the connections
// and their subscriptions and fans publications out to local subscribers;
// Node implements the node's operations (the server API's Service and the
// engine's EventHandler), the cluster view, bans, the connection check and
// emulation routing.
package node

import (
	"hash/maphash"
	"sync"

	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
)

// Kind tells a Conn what a delivered frame is.
type Kind uint8

const (
	KindPublication Kind = iota
	KindJoin
	KindLeave
)

// ServerSubscription is what the server API's subscribe gives a connection:
// data for its subscribe push, its channel info, the position to recover
// from, and channel options replaced for this subscription.
type ServerSubscription struct {
	Data         []byte
	Info         []byte
	RecoverSince *engine.StreamPosition
	Override     ChannelOverride
}

// Conn is a client connection as the hub sees it. Every method must return
// quickly and never block on the network: the hub calls them while fanning out.
type Conn interface {
	ID() string
	User() string
	Project() string
	// Deliver queues an encoded push frame about channel. pos is the stream
	// position after a publication (zero for join/leave and publications not
	// saved to history).
	Deliver(channel string, frame []byte, pos engine.StreamPosition, kind Kind)
	// ServerSubscribe subscribes the connection to channel on the server's
	// initiative and tells the client with a subscribe push.
	ServerSubscribe(channel string, opts ServerSubscription)
	// ServerUnsubscribe removes a subscription and tells the client with an unsubscribe push.
	ServerUnsubscribe(channel string, code uint32, reason string)
	// Disconnect closes the connection with d.
	Disconnect(d protocol.Disconnect)
	// ServerRefresh changes the connection's expiry or info.
	ServerRefresh(opts RefreshOptions)
	// InsufficientState makes the connection's recoverable subscriptions
	// recover (publications may have been lost).
	InsufficientState()
}

type chanKey struct {
	project, channel string
}

type userKey struct {
	project, user string
}

const numShards = 64

type shard struct {
	// subMu orders subscribe and unsubscribe of the shard's channels in the broker.
	subMu sync.Mutex
	// mu guards channels; held only briefly, never while calling the broker.
	mu       sync.RWMutex
	channels map[chanKey]*subscribers
}

// subscribers are a channel's local subscribers: a slice to fan out over
// (iterating a map costs more than the delivery for small channels) and the
// position of each connection id in it, for O(1) removal.
type subscribers struct {
	conns []Conn
	index map[string]int
}

func (ss *subscribers) add(c Conn) {
	if _, ok := ss.index[c.ID()]; ok {
		return
	}
	ss.index[c.ID()] = len(ss.conns)
	ss.conns = append(ss.conns, c)
}

// remove reports whether c was a subscriber.
func (ss *subscribers) remove(id string) bool {
	i, ok := ss.index[id]
	if !ok {
		return false
	}
	last := len(ss.conns) - 1
	if i != last {
		moved := ss.conns[last]
		ss.conns[i] = moved
		ss.index[moved.ID()] = i
	}
	ss.conns[last] = nil
	ss.conns = ss.conns[:last]
	delete(ss.index, id)
	return true
}

// Hub indexes connections by id and user, and subscribers by channel.
type Hub struct {
	seed   maphash.Seed
	shards [numShards]shard

	mu    sync.RWMutex
	conns map[string]Conn
	users map[userKey]userConns
}

// userConns are one user's connections: a short slice while they are few
// (a map each cost every user about 300 bytes), a map beyond (anonymous
// connections are one "user").
type userConns struct {
	few  []Conn
	many map[string]Conn
}

// userConnsFew is how many connections a user has before a map holds them.
const userConnsFew = 16

func (u userConns) len() int { return len(u.few) + len(u.many) }

func (u userConns) add(c Conn) userConns {
	if u.many == nil && len(u.few) < userConnsFew {
		u.few = append(u.few, c)
		return u
	}
	if u.many == nil {
		u.many = make(map[string]Conn, 2*userConnsFew)
		for _, o := range u.few {
			u.many[o.ID()] = o
		}
		u.few = nil
	}
	u.many[c.ID()] = c
	return u
}

func (u userConns) remove(id string) userConns {
	if u.many != nil {
		delete(u.many, id)
		return u
	}
	for i, o := range u.few {
		if o.ID() == id {
			last := len(u.few) - 1
			u.few[i], u.few[last] = u.few[last], nil
			u.few = u.few[:last]
			break
		}
	}
	return u
}

func (u userConns) appendTo(out []Conn) []Conn {
	out = append(out, u.few...)
	for _, c := range u.many {
		out = append(out, c)
	}
	return out
}

func newHub() *Hub {
	h := &Hub{
		seed:  maphash.MakeSeed(),
		conns: map[string]Conn{},
		users: map[userKey]userConns{},
	}
	for i := range h.shards {
		h.shards[i].channels = map[chanKey]*subscribers{}
	}
	return h
}

func (h *Hub) shard(k chanKey) *shard {
	var mh maphash.Hash
	mh.SetSeed(h.seed)
	mh.WriteString(k.project)
	mh.WriteByte(0)
	mh.WriteString(k.channel)
	return &h.shards[mh.Sum64()%numShards]
}

// addConn registers c, unless its user (not anonymous) already has max
// connections (max 0: no limit).
func (h *Hub) addConn(c Conn, max int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	uk := userKey{c.Project(), c.User()}
	m := h.users[uk]
	if max > 0 && uk.user != "" && m.len() >= max {
		return false
	}
	if _, ok := h.conns[c.ID()]; ok {
		return true // added already
	}
	h.conns[c.ID()] = c
	h.users[uk] = m.add(c)
	return true
}

func (h *Hub) removeConn(c Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.conns, c.ID())
	uk := userKey{c.Project(), c.User()}
	m := h.users[uk].remove(c.ID())
	if m.len() == 0 {
		delete(h.users, uk)
	} else {
		h.users[uk] = m
	}
}

// userConns returns the connections of user in project; when client is set only that one.
func (h *Hub) userConns(project, user, client string) []Conn {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if client != "" {
		c, ok := h.conns[client]
		if !ok || c.Project() != project || (user != "" && c.User() != user) {
			return nil
		}
		return []Conn{c}
	}
	m := h.users[userKey{project, user}]
	return m.appendTo(make([]Conn, 0, m.len()))
}

func (h *Hub) allConns() []Conn {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]Conn, 0, len(h.conns))
	for _, c := range h.conns {
		out = append(out, c)
	}
	return out
}

// addSub adds c to channel's subscribers. first is called when c is the
// channel's first subscriber on this node (to subscribe the node in the broker);
// if it fails the subscription is not added. first runs under the channel's
// subscription lock, never under the lock fan-out takes, so a broker may deliver
// while it subscribes.
func (h *Hub) addSub(project, channel string, c Conn, first func() error) error {
	k := chanKey{project, channel}
	s := h.shard(k)
	s.subMu.Lock()
	defer s.subMu.Unlock()
	s.mu.RLock()
	_, exists := s.channels[k]
	s.mu.RUnlock()
	if !exists {
		if err := first(); err != nil {
			return err
		}
	}
	s.mu.Lock()
	ss := s.channels[k]
	if ss == nil {
		ss = &subscribers{index: map[string]int{}}
		s.channels[k] = ss
	}
	ss.add(c)
	s.mu.Unlock()
	return nil
}

// removeSub removes c from channel's subscribers; last is called, under the
// channel's subscription lock, when no subscriber remains on this node.
func (h *Hub) removeSub(project, channel string, c Conn, last func()) {
	k := chanKey{project, channel}
	s := h.shard(k)
	s.subMu.Lock()
	defer s.subMu.Unlock()
	s.mu.Lock()
	ss := s.channels[k]
	if ss == nil || !ss.remove(c.ID()) {
		s.mu.Unlock()
		return
	}
	empty := len(ss.conns) == 0
	if empty {
		delete(s.channels, k)
	}
	s.mu.Unlock()
	if empty {
		last()
	}
}

// broadcast calls encode once, if the channel has local subscribers, and
// delivers the frame to each of them; it returns how many there were.
func (h *Hub) broadcast(project, channel string, pos engine.StreamPosition, kind Kind, encode func() ([]byte, error)) (int, error) {
	k := chanKey{project, channel}
	s := h.shard(k)
	s.mu.RLock()
	defer s.mu.RUnlock()
	ss := s.channels[k]
	if ss == nil || len(ss.conns) == 0 {
		return 0, nil
	}
	frame, err := encode()
	if err != nil {
		return 0, err
	}
	for _, c := range ss.conns {
		c.Deliver(channel, frame, pos, kind)
	}
	return len(ss.conns), nil
}

// numSubscribers returns how many local subscribers channel has.
func (h *Hub) numSubscribers(project, channel string) int {
	k := chanKey{project, channel}
	s := h.shard(k)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if ss := s.channels[k]; ss != nil {
		return len(ss.conns)
	}
	return 0
}

// channels returns project's channels with their local subscriber counts.
func (h *Hub) channels(project string) map[string]int {
	out := map[string]int{}
	for i := range h.shards {
		s := &h.shards[i]
		s.mu.RLock()
		for k, ss := range s.channels {
			if k.project == project {
				out[k.channel] = len(ss.conns)
			}
		}
		s.mu.RUnlock()
	}
	return out
}

// counts returns the number of connections, unique users, subscriptions and channels.
func (h *Hub) counts() (clients, users, subs, channels int) {
	h.mu.RLock()
	clients, users = len(h.conns), len(h.users)
	h.mu.RUnlock()
	for i := range h.shards {
		s := &h.shards[i]
		s.mu.RLock()
		channels += len(s.channels)
		for _, ss := range s.channels {
			subs += len(ss.conns)
		}
		s.mu.RUnlock()
	}
	return
}
