// Package engine defines the narrow interfaces where the hub meets a backend:
// Broker (PUB/SUB, history, control messages between nodes) and PresenceManager.
// memengine implements them for one node; a Redis engine implements them for many.
// Every implementation must pass enginetest.Run.
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Sentinel errors. Implementations wrap them with %w.
var (
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("engine closed")
	// ErrUnavailable means the backend cannot be reached; the caller must report
	// failure (never a silent success).
	ErrUnavailable = errors.New("engine unavailable")
)

// ClientInfo is the engine's view of a connection (user, client id, infos as raw JSON).
type ClientInfo struct {
	User     string `json:"user"`
	Client   string `json:"client"`
	ConnInfo []byte `json:"conn_info,omitempty"`
	ChanInfo []byte `json:"chan_info,omitempty"`
}

// Publication is one message in a channel's stream.
type Publication struct {
	// Offset is the publication's position in the channel's history stream
	// (1 for the first), 0 when the publication was not saved to history.
	Offset uint64            `json:"offset,omitempty"`
	Data   []byte            `json:"data"`
	Info   *ClientInfo       `json:"info,omitempty"`
	Tags   map[string]string `json:"tags,omitempty"`
}

// StreamPosition is a position in a channel's history stream. Offset grows by one
// for each publication; Epoch changes whenever the stream is lost (restart,
// expiry, removal), so a client holding an old epoch cannot silently skip.
type StreamPosition struct {
	Offset uint64 `json:"offset"`
	Epoch  string `json:"epoch"`
}

// PublishOptions tune one publication.
type PublishOptions struct {
	// HistorySize > 0 and HistoryTTL > 0 save the publication to history, keeping
	// at most HistorySize publications, each for at most HistoryTTL.
	HistorySize int
	HistoryTTL  time.Duration
	// HistoryMetaTTL is how long the stream position (offset and epoch) outlives
	// its last publication; 0 means the engine's default (a long time, at
	// least 30 days), so recovery after a long absence is refused, not silent.
	HistoryMetaTTL time.Duration
	// ClientInfo of the publisher, when a client published.
	ClientInfo *ClientInfo
	Tags       map[string]string
	// IdempotencyKey, when set, makes a repeated publish with the same key within
	// IdempotentResultTTL (default 5 minutes) return the first result and not
	// publish again.
	IdempotencyKey      string
	IdempotentResultTTL time.Duration
}

// HistoryOptions select publications from a stream.
type HistoryOptions struct {
	// Since, when set, returns publications after this position (with Reverse:
	// before it, newest first, to page backwards). If Since.Epoch is set and
	// differs from the stream's epoch the engine returns the current position and
	// no publications (the caller sees the epoch change).
	Since *StreamPosition
	// Limit: 0 returns no publications (only the stream position), -1 all,
	// n > 0 at most n.
	Limit int
	// Reverse returns newest first.
	Reverse bool
	// MetaTTL as in PublishOptions.HistoryMetaTTL.
	MetaTTL time.Duration
}

// HistoryResult is the answer to History.
type HistoryResult struct {
	Publications []*Publication
	// Position is the stream's current top: the offset of the latest publication
	// and the stream epoch.
	Position StreamPosition
}

// EventHandler receives what the broker delivers to this node. Calls for one
// channel arrive in publish order; handlers must not block for long.
type EventHandler interface {
	// HandlePublication is called for every publication in a channel this node
	// subscribed to. sp is the stream position after the publication
	// (Offset 0 when not saved to history).
	HandlePublication(project, channel string, pub *Publication, sp StreamPosition)
	HandleJoin(project, channel string, info *ClientInfo)
	HandleLeave(project, channel string, info *ClientInfo)
	// HandleControl receives control messages published by any node, this one included.
	HandleControl(data []byte)
	// HandleLost tells the node that publications of its subscribed channels
	// may have been lost (the broker's connection to other nodes dropped and
	// was re-established). The node makes subscribers of recoverable channels
	// recover; an engine that never loses deliveries never calls it.
	HandleLost()
}

// Broker moves publications between nodes and keeps history.
//
// Delivery guarantee: at most once to every node subscribed at publish time;
// history (when enabled) is written atomically with the publish, so a client that
// missed a publication finds it through recovery or learns that it cannot.
type Broker interface {
	// Run starts delivering events to h. It is called once before any other method.
	Run(h EventHandler) error
	// Subscribe makes this node receive the channel's publications, join and leave.
	Subscribe(project, channel string) error
	// Unsubscribe stops it.
	Unsubscribe(project, channel string) error
	// Publish sends data to every subscribed node and appends it to history per opts.
	// It returns the stream position of the publication and whether it was
	// suppressed as an idempotent repeat.
	Publish(ctx context.Context, project, channel string, data []byte, opts PublishOptions) (StreamPosition, bool, error)
	PublishJoin(ctx context.Context, project, channel string, info *ClientInfo) error
	PublishLeave(ctx context.Context, project, channel string, info *ClientInfo) error
	// PublishControl sends a control message to every node, this one included.
	PublishControl(ctx context.Context, data []byte) error
	History(ctx context.Context, project, channel string, opts HistoryOptions) (HistoryResult, error)
	// RemoveHistory drops the channel's publications; the stream position is kept.
	RemoveHistory(ctx context.Context, project, channel string) error
	// Close stops delivery and releases resources.
	Close(ctx context.Context) error
}

// ManyPublisher is implemented by brokers that publish one message to many
// channels for less than a Publish each (the Redis engine: pipelines instead
// of a round trip per channel).
type ManyPublisher interface {
	// PublishMany publishes data to each of project's channels without saving
	// it to history; opts.HistorySize and opts.IdempotencyKey must be unset.
	// errs[i] is the result for channels[i] (nil: published).
	PublishMany(ctx context.Context, project string, channels []string, data []byte, opts PublishOptions) (errs []error)
}

// PresenceStats counts a channel's connections and unique users.
type PresenceStats struct {
	NumClients int
	NumUsers   int
}

// PresenceManager keeps who is in a channel. Entries expire after the expiry given
// to AddPresence unless refreshed by another AddPresence.
type PresenceManager interface {
	Presence(ctx context.Context, project, channel string) (map[string]*ClientInfo, error)
	PresenceStats(ctx context.Context, project, channel string) (PresenceStats, error)
	AddPresence(ctx context.Context, project, channel, clientID string, info *ClientInfo, expire time.Duration) error
	RemovePresence(ctx context.Context, project, channel, clientID, user string) error
}

// Engine is a Broker and a PresenceManager together.
type Engine interface {
	Broker
	PresenceManager
	// Name is shown in info and the admin UI ("memory", "redis").
	Name() string
}

// Pinger is implemented by engines with a backend to reach (Redis): the
// readiness check (/health) asks it.
type Pinger interface {
	Ping(ctx context.Context) error
}

// binaryMark starts the Data of a publication whose payload is not JSON
// (published with the server API's b64data). No JSON text starts with a NUL
// byte, so the mark tells binary from JSON with one comparison, wherever the
// publication went (history, another node), instead of validating the JSON
// of every publication on every delivery.
const binaryMark = 0

// MarkBinary returns the Data of a publication for payload: payload itself
// when it is JSON, else payload behind the binary mark.
func MarkBinary(payload []byte) []byte {
	if json.Valid(payload) {
		return payload
	}
	out := make([]byte, 1+len(payload))
	out[0] = binaryMark
	copy(out[1:], payload)
	return out
}

// SplitBinary returns the payload of a publication's Data and whether it is
// binary (not JSON): see MarkBinary.
func SplitBinary(data []byte) (payload []byte, binary bool) {
	if len(data) > 0 && data[0] == binaryMark {
		return data[1:], true
	}
	return data, false
}
