package node

import "sync/atomic"

// Stats counts what the node refused or gave up, for the metrics exporter.
// The counters only grow; read them with Load.
type Stats struct {
	// Limits (PROTOCOL.md section 4 codes).
	ConnectionLimit     atomic.Int64 // connects refused with 3504: too many connections of one user
	SubscriptionLimit   atomic.Int64 // subscriptions refused: 3505 (client) or skipped (server side)
	RateLimited         atomic.Int64 // commands answered 111 (or dropped sends)
	RateDisconnects     atomic.Int64 // connections closed with 3013
	PublicationTooLarge atomic.Int64 // publish, rpc or send data refused with 106
	FrameTooLarge       atomic.Int64 // frames over max_frame_size (3501)

	// The web app.
	ProxyFailures    atomic.Int64 // proxy requests that timed out, failed or got a malformed reply
	ProxyRefusals    atomic.Int64 // proxy replies that refused (error or disconnect)
	ChecksSent       atomic.Int64 // connection check requests answered
	CheckFailures    atomic.Int64 // connection check requests that failed (retried later)
	InactiveUsers    atomic.Int64 // users the connection check named inactive (this node's checks)
	RevokedConnects  atomic.Int64 // connects refused because the token's user was named inactive
	InactiveCloses   atomic.Int64 // connections closed on this node because their user was named inactive
	RefreshProxyRuns atomic.Int64 // server-side refreshes asked of the refresh proxy
}

// Stats returns the node's counters.
func (n *Node) Stats() *Stats { return &n.stats }
