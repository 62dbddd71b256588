package centrifuge

import (
	"encoding/json"
	"time"

	"github.com/centrifugehq/centrifuge/sdk-go/gen"
)

// PublishOption sets an optional field of Publish and Broadcast.
type PublishOption func(*publishFields)

type publishFields struct {
	skipHistory    bool
	tags           map[string]string
	idempotencyKey string
}

// SkipHistory does not save the publication to the channel's history.
func SkipHistory() PublishOption {
	return func(f *publishFields) { f.skipHistory = true }
}

// WithTags attaches string tags to the publication.
func WithTags(tags map[string]string) PublishOption {
	return func(f *publishFields) { f.tags = tags }
}

// WithIdempotencyKey makes a repeated publish with the same key within 5
// minutes return the first result without publishing again.
func WithIdempotencyKey(key string) PublishOption {
	return func(f *publishFields) { f.idempotencyKey = key }
}

func publishOptions(opts []PublishOption) publishFields {
	var f publishFields
	for _, o := range opts {
		o(&f)
	}
	return f
}

// SubscribeOption sets an optional field of Subscribe: ForClient.
type SubscribeOption interface {
	applySubscribe(*gen.SubscribeRequest)
}

// UnsubscribeOption sets an optional field of Unsubscribe: ForClient.
type UnsubscribeOption interface {
	applyUnsubscribe(*gen.UnsubscribeRequest)
}

// DisconnectOption sets an optional field of Disconnect: ForClient,
// WithDisconnect.
type DisconnectOption interface {
	applyDisconnect(*gen.DisconnectRequest)
}

// RefreshOption sets an optional field of Refresh: ForClient, Expired,
// ExpireAt, WithInfo.
type RefreshOption interface {
	applyRefresh(*gen.RefreshRequest) error
}

// ClientFilter limits a connection method to one connection of the user; see
// ForClient.
type ClientFilter struct{ client string }

// ForClient limits Subscribe, Unsubscribe, Disconnect or Refresh to the
// connection with this client id (instead of every connection of the user).
func ForClient(client string) ClientFilter { return ClientFilter{client: client} }

func (o ClientFilter) applySubscribe(r *gen.SubscribeRequest)     { r.Client = o.client }
func (o ClientFilter) applyUnsubscribe(r *gen.UnsubscribeRequest) { r.Client = o.client }
func (o ClientFilter) applyDisconnect(r *gen.DisconnectRequest)   { r.Client = o.client }
func (o ClientFilter) applyRefresh(r *gen.RefreshRequest) error {
	r.Client = o.client
	return nil
}

type disconnectOption func(*gen.DisconnectRequest)

func (o disconnectOption) applyDisconnect(r *gen.DisconnectRequest) { o(r) }

// WithDisconnect closes the connections with this close code (3000–4999) and
// reason (at most 123 bytes) instead of 3503 "force disconnect". Codes
// 3000–3499 and 4000–4499 let clients reconnect; 3500–3999 and 4500–4999 do not.
func WithDisconnect(code uint32, reason string) DisconnectOption {
	return disconnectOption(func(r *gen.DisconnectRequest) {
		r.Disconnect = &gen.Disconnect{Code: code, Reason: reason}
	})
}

type refreshOption func(*gen.RefreshRequest) error

func (o refreshOption) applyRefresh(r *gen.RefreshRequest) error { return o(r) }

// Expired disconnects the connections at once with code 3005, so that their
// clients reconnect with a fresh token.
func Expired() RefreshOption {
	return refreshOption(func(r *gen.RefreshRequest) error {
		r.Expired = true
		return nil
	})
}

// ExpireAt sets the connections' new expiry; the zero time means never.
func ExpireAt(t time.Time) RefreshOption {
	return refreshOption(func(r *gen.RefreshRequest) error {
		r.ExpireAt = 0
		if !t.IsZero() {
			r.ExpireAt = t.Unix()
		}
		return nil
	})
}

// WithInfo replaces the connections' info (shown in presence and join/leave)
// with info encoded as JSON (a json.RawMessage or []byte is sent as is).
func WithInfo(info any) RefreshOption {
	return refreshOption(func(r *gen.RefreshRequest) error {
		raw, err := encodeJSON(info)
		if err != nil {
			return err
		}
		r.Info = raw
		return nil
	})
}

// HistoryOption sets an optional field of History.
type HistoryOption func(*gen.HistoryRequest)

// WithLimit returns at most n publications; n < 0 returns every kept one.
// Without it (or with 0) History returns only the stream position.
func WithLimit(n int) HistoryOption {
	return func(r *gen.HistoryRequest) { r.Limit = n }
}

// Since returns only the publications after pos (before it with Reverse).
func Since(pos StreamPosition) HistoryOption {
	return func(r *gen.HistoryRequest) { r.Since = &pos }
}

// Reverse returns the newest publications first.
func Reverse() HistoryOption {
	return func(r *gen.HistoryRequest) { r.Reverse = true }
}

// ChannelsOption sets an optional field of Channels.
type ChannelsOption func(*gen.ChannelsRequest)

// WithPattern lists only the channels matching pattern (Go path.Match
// syntax: `*`, `?`, `[...]`).
func WithPattern(pattern string) ChannelsOption {
	return func(r *gen.ChannelsRequest) { r.Pattern = pattern }
}

// encodeJSON encodes v as JSON; a json.RawMessage or []byte must already be
// JSON and is sent as is.
func encodeJSON(v any) (json.RawMessage, error) {
	switch b := v.(type) {
	case json.RawMessage:
		return checkJSON(b)
	case []byte:
		return checkJSON(b)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return b, nil
}

func checkJSON(b []byte) (json.RawMessage, error) {
	if !json.Valid(b) {
		return nil, errInvalidJSON
	}
	return json.RawMessage(b), nil
}
