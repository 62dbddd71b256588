package centrifuge

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/centrifugehq/centrifuge/sdk-go/gen"
)

// PublishOption sets an optional field of Publish and Broadcast.
type PublishOption func(*publishFields)

type publishFields struct {
	skipHistory    bool
	tags           map[string]string
	idempotencyKey string
	delta          bool
}

// Binary is data that Publish and Broadcast send as bytes (the request's
// b64data) instead of encoding it as JSON. Subscribers and History get it
// back byte for byte: as JSON data when the bytes are JSON, otherwise base64
// in the publication's B64Data.
type Binary []byte

// WithDelta asks for delta compression towards subscribers that negotiated
// it (Centrifugo's delta); this server's subscribers get full publications.
func WithDelta() PublishOption {
	return func(f *publishFields) { f.delta = true }
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

// SubscribeOption sets an optional field of Subscribe: ForClient,
// WithSubscribeData, WithChannelInfo, RecoverSince, WithOverride.
type SubscribeOption interface {
	applySubscribe(*gen.SubscribeRequest) error
}

type subscribeOption func(*gen.SubscribeRequest) error

func (o subscribeOption) applySubscribe(r *gen.SubscribeRequest) error { return o(r) }

// WithSubscribeData sends data, encoded as JSON (a json.RawMessage or []byte
// as is), to the connections in their subscribe push.
func WithSubscribeData(data any) SubscribeOption {
	return subscribeOption(func(r *gen.SubscribeRequest) error {
		raw, err := encodeJSON(data)
		if err != nil {
			return fmt.Errorf("data: %w", err)
		}
		r.Data = raw
		return nil
	})
}

// WithChannelInfo sets the subscription's channel info (chan_info in
// presence, join/leave and publications), encoded as JSON.
func WithChannelInfo(info any) SubscribeOption {
	return subscribeOption(func(r *gen.SubscribeRequest) error {
		raw, err := encodeJSON(info)
		if err != nil {
			return fmt.Errorf("info: %w", err)
		}
		r.Info = raw
		return nil
	})
}

// RecoverSince sends the connections the publications after pos, right
// after their subscribe push (the channel must keep history).
func RecoverSince(pos StreamPosition) SubscribeOption {
	return subscribeOption(func(r *gen.SubscribeRequest) error {
		r.RecoverSince = &pos
		return nil
	})
}

// Override replaces channel options for one subscription; nil leaves the
// channel's own value.
type Override struct {
	Presence, JoinLeave, ForcePushJoinLeave, ForcePositioning, ForceRecovery *bool
}

// WithOverride subscribes with some channel options replaced.
func WithOverride(o Override) SubscribeOption {
	value := func(b *bool) *gen.BoolValue {
		if b == nil {
			return nil
		}
		return &gen.BoolValue{Value: *b}
	}
	return subscribeOption(func(r *gen.SubscribeRequest) error {
		r.Override = &gen.ChannelOptionsOverride{
			Presence: value(o.Presence), JoinLeave: value(o.JoinLeave), ForcePushJoinLeave: value(o.ForcePushJoinLeave),
			ForcePositioning: value(o.ForcePositioning), ForceRecovery: value(o.ForceRecovery),
		}
		return nil
	})
}

// UnsubscribeOption sets an optional field of Unsubscribe: ForClient.
type UnsubscribeOption interface {
	applyUnsubscribe(*gen.UnsubscribeRequest)
}

// DisconnectOption sets an optional field of Disconnect: ForClient,
// WithDisconnect, KeepClients.
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

func (o ClientFilter) applySubscribe(r *gen.SubscribeRequest) error {
	r.Client = o.client
	return nil
}
func (o ClientFilter) applyUnsubscribe(r *gen.UnsubscribeRequest) { r.Client = o.client }
func (o ClientFilter) applyDisconnect(r *gen.DisconnectRequest)   { r.Client = o.client }
func (o ClientFilter) applyRefresh(r *gen.RefreshRequest) error {
	r.Client = o.client
	return nil
}

type disconnectOption func(*gen.DisconnectRequest)

func (o disconnectOption) applyDisconnect(r *gen.DisconnectRequest) { o(r) }

// KeepClients leaves these connections of the user connected (the request's
// whitelist).
func KeepClients(clients ...string) DisconnectOption {
	return disconnectOption(func(r *gen.DisconnectRequest) { r.Whitelist = clients })
}

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
