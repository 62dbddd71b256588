package node

import (
	"strconv"
	"sync"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/metrics"
)

// nodeMetrics are the node's hot-path metrics, created once.
type nodeMetrics struct {
	reg          *metrics.Registry
	publications *metrics.Counter // publications the broker delivered to this node
	deliveries   *metrics.Counter // frames queued to local subscribers
	broadcast    *metrics.Timer   // time to fan one publication out to local subscribers
	writeDelay   *metrics.Timer   // time from queueing a frame to a client to writing it
	writeBlocked *metrics.Counter // writes a client's socket could not take at once
	publishWaits *metrics.Timer   // server API publications held back while the writers caught up

	mu          sync.Mutex
	commands    map[string]*metrics.Timer
	disconnects map[uint32]*metrics.Counter
	published   map[string]*metrics.Counter
}

// Metrics returns the node's metrics registry.
func (n *Node) Metrics() *metrics.Registry { return n.m.reg }

func (n *Node) registerMetrics(reg *metrics.Registry) {
	if reg == nil {
		reg = metrics.New()
	}
	m := &nodeMetrics{
		reg:          reg,
		publications: reg.Counter("node.publications", "publications received from the broker for local subscribers"),
		deliveries:   reg.Counter("node.deliveries", "publication frames queued to local subscribers"),
		broadcast:    reg.Timer("node.broadcast", "time to fan one publication out to this node's subscribers"),
		writeDelay:   reg.Timer("client.write_delay", "delivery latency inside the node: from queueing a frame for a client to writing it to the connection"),
		writeBlocked: reg.Counter("client.write_blocked", "writes a client's socket could not take at once: the rest waited, on a goroutine of its own, for the client to read"),
		publishWaits: reg.Timer("api.publish_waits", "server API publish and broadcast calls held back while the node's writers were more than client.max_write_lag behind, and how long"),
		commands:     map[string]*metrics.Timer{},
		disconnects:  map[uint32]*metrics.Counter{},
		published:    map[string]*metrics.Counter{},
	}
	n.m = m
	count := func(f func() (int, int, int, int), i int) func() float64 {
		return func() float64 {
			a, b, c, d := f()
			return float64([]int{a, b, c, d}[i])
		}
	}
	reg.Gauge("node.clients", "connected clients", count(n.hub.counts, 0))
	reg.Gauge("node.users", "unique users connected", count(n.hub.counts, 1))
	reg.Gauge("node.subscriptions", "subscriptions", count(n.hub.counts, 2))
	reg.Gauge("node.channels", "channels with subscribers", count(n.hub.counts, 3))
	reg.Gauge("node.nodes", "live nodes in the cluster", func() float64 { return float64(n.numNodes()) })
	st := &n.stats
	for _, c := range []struct {
		name, help string
		v          interface{ Load() int64 }
	}{
		{"limits.connections_per_user", "connects refused with 3504", &st.ConnectionLimit},
		{"limits.subscriptions", "subscriptions refused with 3505", &st.SubscriptionLimit},
		{"limits.rate", "commands answered 111 (too many requests)", &st.RateLimited},
		{"limits.rate_disconnects", "connections closed with 3013", &st.RateDisconnects},
		{"limits.publication_size", "publications refused as too large (106)", &st.PublicationTooLarge},
		{"limits.frame_size", "frames over max_frame_size", &st.FrameTooLarge},
		{"proxy.failures", "proxy requests that failed or got a malformed reply", &st.ProxyFailures},
		{"proxy.refusals", "proxy replies that refused", &st.ProxyRefusals},
		{"conncheck.requests", "connection check requests answered", &st.ChecksSent},
		{"conncheck.failures", "connection check requests that failed", &st.CheckFailures},
		{"conncheck.inactive_users", "users the connection check named inactive", &st.InactiveUsers},
		{"conncheck.revoked_connects", "connects refused for a user named inactive", &st.RevokedConnects},
	} {
		v := c.v
		reg.CounterFunc(c.name, c.help, v.Load)
	}
	ps := n.proxy.Stats()
	reg.CounterFunc("proxy.requests", "requests made to the web app", ps.Requests.Load)
	reg.CounterFunc("proxy.retries", "proxy requests retried after a network failure", ps.Retries.Load)
	reg.CounterFunc("proxy.timeouts", "proxy requests that timed out", ps.Timeouts.Load)
}

// CommandTimer returns the duration timer of a client command method.
func (n *Node) CommandTimer(method string) *metrics.Timer {
	n.m.mu.Lock()
	defer n.m.mu.Unlock()
	t := n.m.commands[method]
	if t == nil {
		t = n.m.reg.Timer("client.command", "client command durations", "method", method)
		n.m.commands[method] = t
	}
	return t
}

// CountDisconnect counts a connection closed with code.
func (n *Node) CountDisconnect(code uint32) {
	n.m.mu.Lock()
	c := n.m.disconnects[code]
	if c == nil {
		c = n.m.reg.Counter("client.disconnects", "connections closed, by code", "code", strconv.FormatUint(uint64(code), 10))
		n.m.disconnects[code] = c
	}
	n.m.mu.Unlock()
	c.Inc(1)
}

func (n *Node) countPublished(project string) {
	n.m.mu.Lock()
	c := n.m.published[project]
	if c == nil {
		c = n.m.reg.Counter("api.publications", "publications accepted through the server API, by project", "project", project)
		n.m.published[project] = c
	}
	n.m.mu.Unlock()
	c.Inc(1)
}

func (n *Node) observeBroadcast(start time.Time, subscribers int) {
	n.m.publications.Inc(1)
	if subscribers > 0 {
		n.m.deliveries.Inc(int64(subscribers))
		n.m.broadcast.Since(start)
	}
}

// ObserveWriteDelay records that frames queued since since were written.
func (n *Node) ObserveWriteDelay(since time.Time) { n.m.writeDelay.Since(since) }

// CountWriteBlocked records a write a client's socket could not take at once.
func (n *Node) CountWriteBlocked() { n.m.writeBlocked.Inc(1) }
