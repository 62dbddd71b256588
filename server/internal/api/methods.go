package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/api/gen"
	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/node"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
)

// maxDisconnectReason is the longest reason a WebSocket close frame can carry.
const maxDisconnectReason = 123

// method is one server API method: its name (the path /api/<name>, the
// "method" of a line of /api, the key of a batch command) and how it runs on
// its raw JSON request. Its errors are *protocol.Error, *paramsError or
// Service errors.
type method struct {
	name string
	run  func(h *Handler, ctx context.Context, cl call, params []byte) (any, error)
	// bare: /api/<name> answers the result itself, not {"result": ...} (batch).
	bare bool
	// pro: a Centrifugo method (PRO, or rpc) known only to answer 104.
	pro bool
}

// def makes a method of fn, which gets its request decoded strictly into Req.
func def[Req, Res any](name string, fn func(*Handler, context.Context, call, *Req) (*Res, error)) method {
	return method{name: name, run: func(h *Handler, ctx context.Context, cl call, params []byte) (any, error) {
		var req Req
		if err := decodeParams(params, &req); err != nil {
			return nil, err
		}
		return fn(h, ctx, cl, &req)
	}}
}

// pro is a Centrifugo PRO method (cent has it): 104, as Centrifugo OSS answers.
func pro(name string) method {
	return unavailable(name, "a Centrifugo PRO method")
}

// unavailable is a Centrifugo method this server does not have: 104 saying what it is.
func unavailable(name, what string) method {
	return method{name: name, pro: true, run: func(*Handler, context.Context, call, []byte) (any, error) {
		return nil, protocol.ErrMethodNotFound.WithMessage(fmt.Sprintf("method not found: %s is %s, not available on this server", name, what))
	}}
}

// methods is the server API; init adds batch (which runs the others).
var methods = []method{
	def("publish", (*Handler).publish),
	def("broadcast", (*Handler).broadcast),
	def("subscribe", (*Handler).subscribe),
	def("unsubscribe", (*Handler).unsubscribe),
	def("disconnect", (*Handler).disconnect),
	def("refresh", (*Handler).refresh),
	def("presence", (*Handler).presence),
	def("presence_stats", (*Handler).presenceStats),
	def("history", (*Handler).history),
	def("history_remove", (*Handler).historyRemove),
	def("channels", (*Handler).channels),
	def("info", (*Handler).info),
	unavailable("rpc", "Centrifugo's server API RPC (its rpc proxy)"),
	pro("connections"), pro("update_user_status"), pro("get_user_status"), pro("delete_user_status"),
	pro("block_user"), pro("unblock_user"), pro("revoke_token"), pro("invalidate_user_tokens"),
	pro("device_register"), pro("device_update"), pro("device_remove"), pro("device_list"),
	pro("device_topic_list"), pro("device_topic_update"), pro("user_topic_list"), pro("user_topic_update"),
	pro("send_push_notification"), pro("update_push_status"), pro("cancel_push"), pro("rate_limit"),
}

func init() {
	batch := def("batch", (*Handler).batch)
	batch.bare = true
	methods = append(methods, batch)
}

// lookup returns the method named name, or nil.
func lookup(name string) *method {
	for i := range methods {
		if methods[i].name == name {
			return &methods[i]
		}
	}
	return nil
}

func badRequest(format string, args ...any) error {
	return protocol.ErrBadRequest.WithMessage(fmt.Sprintf(format, args...))
}

// unsupported refuses a field this server knows from Centrifugo but does not
// implement, unless it is absent or its zero value.
func unsupported(field string, raw json.RawMessage, why string) error {
	switch string(bytes.TrimSpace(raw)) {
	case "", "null", "0", `""`, "false", "[]", "{}":
		return nil
	}
	return badRequest("%s: not supported by this server (%s)", field, why)
}

// publishParams is a publish request with the Centrifugo fields refused.
type publishParams struct {
	gen.PublishRequest
	Version      json.RawMessage `json:"version"`
	VersionEpoch json.RawMessage `json:"version_epoch"`
}

func (p *publishParams) check() error {
	if err := unsupported("version", p.Version, "versioned publications"); err != nil {
		return err
	}
	return unsupported("version_epoch", p.VersionEpoch, "versioned publications")
}

// payload returns the publication data: data or the decoded b64data, exactly
// one of them (data null counts as absent).
func payload(data json.RawMessage, b64 string) ([]byte, error) {
	hasData := len(data) > 0 && !isNull(data)
	switch {
	case hasData && b64 != "":
		return nil, badRequest("data and b64data are both set: send one of them")
	case b64 != "":
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, badRequest("b64data: not valid base64: %v", err)
		}
		// Bytes that are JSON travel as data; others are marked binary
		// once here, so no delivery has to validate them again.
		return engine.MarkBinary(raw), nil
	case hasData:
		return data, nil
	}
	return nil, badRequest("data or b64data required")
}

// jsonPayload is payload for fields that reach clients as embedded JSON
// (subscribe's data and info): the decoded base64 must be JSON. Both absent
// is nil.
func jsonPayload(field string, data json.RawMessage, b64 string) ([]byte, error) {
	if (len(data) == 0 || isNull(data)) && b64 == "" {
		return nil, nil
	}
	hasData := len(data) > 0 && !isNull(data)
	if hasData && b64 != "" {
		return nil, badRequest("%s and b64%s are both set: send one of them", field, field)
	}
	if hasData {
		return data, nil
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, badRequest("b64%s: not valid base64: %v", field, err)
	}
	if !json.Valid(raw) {
		return nil, badRequest("b64%s: the decoded bytes must be JSON (clients speak JSON here)", field)
	}
	return raw, nil
}

func (h *Handler) publish(ctx context.Context, cl call, req *publishParams) (*gen.PublishResult, error) {
	if req.Channel == "" {
		return nil, badRequest("channel required")
	}
	if err := req.check(); err != nil {
		return nil, err
	}
	data, err := payload(req.Data, req.B64Data)
	if err != nil {
		return nil, err
	}
	sp, err := h.svc.Publish(ctx, cl.project, req.Channel, data, node.PublishOptions{
		SkipHistory:    req.SkipHistory,
		Tags:           req.Tags,
		IdempotencyKey: req.IdempotencyKey,
	})
	if err != nil {
		return nil, err
	}
	return &gen.PublishResult{Offset: sp.Offset, Epoch: sp.Epoch}, nil
}

// broadcastParams is a broadcast request with the Centrifugo fields refused.
type broadcastParams struct {
	gen.BroadcastRequest
	Version      json.RawMessage `json:"version"`
	VersionEpoch json.RawMessage `json:"version_epoch"`
}

// broadcast publishes into every channel; one channel's failure is its own
// response and does not fail the others.
func (h *Handler) broadcast(ctx context.Context, cl call, req *broadcastParams) (*gen.BroadcastResult, error) {
	if len(req.Channels) == 0 {
		return nil, badRequest("channels required")
	}
	if err := (&publishParams{Version: req.Version, VersionEpoch: req.VersionEpoch}).check(); err != nil {
		return nil, err
	}
	data, err := payload(req.Data, req.B64Data)
	if err != nil {
		return nil, err
	}
	responses := make([]gen.PublishResponse, len(req.Channels))
	channels := make([]string, 0, len(req.Channels))
	idx := make([]int, 0, len(req.Channels))
	for i, ch := range req.Channels {
		if ch == "" {
			responses[i].Error = h.methodError(cl, "broadcast", badRequest("channel required"))
			continue
		}
		channels = append(channels, ch)
		idx = append(idx, i)
	}
	results := h.svc.Broadcast(ctx, cl.project, channels, data, node.PublishOptions{
		SkipHistory:    req.SkipHistory,
		Tags:           req.Tags,
		IdempotencyKey: req.IdempotencyKey,
	})
	for k, r := range results {
		resp := &responses[idx[k]]
		if r.Err != nil {
			resp.Error = h.methodError(cl, "broadcast", r.Err)
			continue
		}
		resp.Result = &gen.PublishResult{Offset: r.Position.Offset, Epoch: r.Position.Epoch}
	}
	return &gen.BroadcastResult{Responses: responses}, nil
}

// subscribeParams is a subscribe request, with gocent v3's booleans (the
// older spelling of override) and Centrifugo's session refused.
type subscribeParams struct {
	gen.SubscribeRequest
	Presence  *bool           `json:"presence"`
	JoinLeave *bool           `json:"join_leave"`
	Position  *bool           `json:"position"`
	Recover   *bool           `json:"recover"`
	Session   json.RawMessage `json:"session"`
	ExpireAt  json.RawMessage `json:"expire_at"`
}

// mergeOverride returns the override of field: o's value or gocent's flag;
// both with different values is 107.
func mergeOverride(field string, o *gen.BoolValue, flag *bool, flagName string) (*bool, error) {
	switch {
	case o != nil && flag != nil && o.Value != *flag:
		return nil, badRequest("override.%s and %s contradict each other", field, flagName)
	case o != nil:
		v := o.Value
		return &v, nil
	}
	return flag, nil
}

func (h *Handler) subscribe(ctx context.Context, cl call, req *subscribeParams) (*gen.EmptyResult, error) {
	if req.User == "" || req.Channel == "" {
		return nil, badRequest("user and channel required")
	}
	if err := unsupported("session", req.Session, "sessions are not tracked: use client"); err != nil {
		return nil, err
	}
	if err := unsupported("expire_at", req.ExpireAt, "server-side subscriptions do not expire"); err != nil {
		return nil, err
	}
	info, err := jsonPayload("info", req.Info, req.B64Info)
	if err != nil {
		return nil, err
	}
	data, err := jsonPayload("data", req.Data, req.B64Data)
	if err != nil {
		return nil, err
	}
	opts := node.SubscribeOptions{Client: req.Client, Info: info, Data: data}
	if req.RecoverSince != nil {
		opts.RecoverSince = &engine.StreamPosition{Offset: req.RecoverSince.Offset, Epoch: req.RecoverSince.Epoch}
	}
	var o gen.ChannelOptionsOverride
	if req.Override != nil {
		o = *req.Override
	}
	if opts.Override.Presence, err = mergeOverride("presence", o.Presence, req.Presence, "presence"); err != nil {
		return nil, err
	}
	if opts.Override.JoinLeave, err = mergeOverride("join_leave", o.JoinLeave, req.JoinLeave, "join_leave"); err != nil {
		return nil, err
	}
	if opts.Override.ForcePositioning, err = mergeOverride("force_positioning", o.ForcePositioning, req.Position, "position"); err != nil {
		return nil, err
	}
	if opts.Override.ForceRecovery, err = mergeOverride("force_recovery", o.ForceRecovery, req.Recover, "recover"); err != nil {
		return nil, err
	}
	if opts.Override.ForcePushJoinLeave, err = mergeOverride("force_push_join_leave", o.ForcePushJoinLeave, nil, ""); err != nil {
		return nil, err
	}
	if err := h.svc.Subscribe(ctx, cl.project, req.User, req.Channel, opts); err != nil {
		return nil, err
	}
	return &gen.EmptyResult{}, nil
}

type unsubscribeParams struct {
	gen.UnsubscribeRequest
	Session json.RawMessage `json:"session"`
}

func (h *Handler) unsubscribe(ctx context.Context, cl call, req *unsubscribeParams) (*gen.EmptyResult, error) {
	if req.User == "" || req.Channel == "" {
		return nil, badRequest("user and channel required")
	}
	if err := unsupported("session", req.Session, "sessions are not tracked: use client"); err != nil {
		return nil, err
	}
	if err := h.svc.Unsubscribe(ctx, cl.project, req.User, req.Channel, req.Client); err != nil {
		return nil, err
	}
	return &gen.EmptyResult{}, nil
}

// disconnectParams is a disconnect request, with gocent v3's spellings
// (ClientWhitelist, disconnect.reconnect) and Centrifugo's session refused.
type disconnectParams struct {
	gen.DisconnectRequest
	Disconnect      *disconnectObject `json:"disconnect"`
	ClientWhitelist []string          `json:"ClientWhitelist"`
	Session         json.RawMessage   `json:"session"`
}

type disconnectObject struct {
	gen.Disconnect
	// Reconnect is Centrifugo v2's advice, which the code now carries; gocent
	// v3 always sends it (false when unset), so only true is checked.
	Reconnect *bool `json:"reconnect"`
}

// terminal reports whether a client does not reconnect after code.
func terminal(code uint32) bool {
	return (code >= 3500 && code < 4000) || code >= 4500
}

func (h *Handler) disconnect(ctx context.Context, cl call, req *disconnectParams) (*gen.EmptyResult, error) {
	if req.User == "" {
		return nil, badRequest("user required")
	}
	if err := unsupported("session", req.Session, "sessions are not tracked: use client"); err != nil {
		return nil, err
	}
	whitelist := req.Whitelist
	if len(req.ClientWhitelist) > 0 {
		if len(whitelist) > 0 {
			return nil, badRequest("whitelist and ClientWhitelist are both set: send one of them")
		}
		whitelist = req.ClientWhitelist
	}
	if req.Client != "" && slices.Contains(whitelist, req.Client) {
		return nil, badRequest("client %q is in the whitelist: nothing to disconnect", req.Client)
	}
	d := protocol.DisconnectForceNoReconnect
	if req.Disconnect != nil {
		d = protocol.Disconnect{Code: req.Disconnect.Code, Reason: req.Disconnect.Reason}
		if d.Code < 3000 || d.Code > 4999 {
			return nil, badRequest("disconnect.code must be within 3000-4999")
		}
		if len(d.Reason) > maxDisconnectReason {
			return nil, badRequest("disconnect.reason longer than %d bytes", maxDisconnectReason)
		}
		if r := req.Disconnect.Reconnect; r != nil && *r && terminal(d.Code) {
			return nil, badRequest("disconnect.reconnect is true but code %d is terminal (3500-3999, 4500-4999): clients do not reconnect", d.Code)
		}
	}
	if err := h.svc.Disconnect(ctx, cl.project, req.User, req.Client, d, whitelist); err != nil {
		return nil, err
	}
	return &gen.EmptyResult{}, nil
}

type refreshParams struct {
	gen.RefreshRequest
	Session json.RawMessage `json:"session"`
}

func (h *Handler) refresh(ctx context.Context, cl call, req *refreshParams) (*gen.EmptyResult, error) {
	if req.User == "" {
		return nil, badRequest("user required")
	}
	if req.ExpireAt < 0 {
		return nil, badRequest("expire_at must not be negative")
	}
	if req.Expired && req.ExpireAt > 0 {
		return nil, badRequest("expired and expire_at contradict each other: send one of them")
	}
	if err := unsupported("session", req.Session, "sessions are not tracked: use client"); err != nil {
		return nil, err
	}
	err := h.svc.Refresh(ctx, cl.project, req.User, req.Client, node.RefreshOptions{
		Expired:  req.Expired,
		ExpireAt: req.ExpireAt,
		Info:     req.Info,
	})
	if err != nil {
		return nil, err
	}
	return &gen.EmptyResult{}, nil
}

func (h *Handler) presence(ctx context.Context, cl call, req *gen.PresenceRequest) (*gen.PresenceResult, error) {
	if req.Channel == "" {
		return nil, badRequest("channel required")
	}
	clients, err := h.svc.Presence(ctx, cl.project, req.Channel)
	if err != nil {
		return nil, err
	}
	presence := make(map[string]gen.ClientInfo, len(clients))
	for id, info := range clients {
		if info != nil {
			presence[id] = clientInfo(info)
		}
	}
	return &gen.PresenceResult{Presence: presence}, nil
}

func (h *Handler) presenceStats(ctx context.Context, cl call, req *gen.PresenceStatsRequest) (*gen.PresenceStatsResult, error) {
	if req.Channel == "" {
		return nil, badRequest("channel required")
	}
	stats, err := h.svc.PresenceStats(ctx, cl.project, req.Channel)
	if err != nil {
		return nil, err
	}
	return &gen.PresenceStatsResult{NumClients: stats.NumClients, NumUsers: stats.NumUsers}, nil
}

// history passes limit through (0: only the position, n > 0: at most n) and
// turns any negative limit into -1 (all). A since position of another epoch
// is 112: the stream it points into is gone.
func (h *Handler) history(ctx context.Context, cl call, req *gen.HistoryRequest) (*gen.HistoryResult, error) {
	if req.Channel == "" {
		return nil, badRequest("channel required")
	}
	opts := engine.HistoryOptions{Limit: max(req.Limit, -1), Reverse: req.Reverse}
	if req.Since != nil {
		opts.Since = &engine.StreamPosition{Offset: req.Since.Offset, Epoch: req.Since.Epoch}
	}
	hr, err := h.svc.History(ctx, cl.project, req.Channel, opts)
	if err != nil {
		return nil, err
	}
	if req.Since != nil && req.Since.Epoch != "" && req.Since.Epoch != hr.Position.Epoch {
		return nil, protocol.ErrUnrecoverablePosition.WithMessage(fmt.Sprintf(
			"unrecoverable position: since.epoch %q is not the stream's epoch %q (the stream was lost)", req.Since.Epoch, hr.Position.Epoch))
	}
	pubs := make([]gen.Publication, 0, len(hr.Publications))
	for _, p := range hr.Publications {
		if p == nil {
			continue
		}
		pub := gen.Publication{Data: p.Data, Offset: p.Offset, Tags: p.Tags}
		if raw, binary := engine.SplitBinary(p.Data); binary {
			pub.Data, pub.B64Data = json.RawMessage("null"), base64.StdEncoding.EncodeToString(raw)
		}
		if p.Info != nil {
			info := clientInfo(p.Info)
			pub.Info = &info
		}
		pubs = append(pubs, pub)
	}
	return &gen.HistoryResult{Publications: pubs, Offset: hr.Position.Offset, Epoch: hr.Position.Epoch}, nil
}

func (h *Handler) historyRemove(ctx context.Context, cl call, req *gen.HistoryRemoveRequest) (*gen.EmptyResult, error) {
	if req.Channel == "" {
		return nil, badRequest("channel required")
	}
	if err := h.svc.HistoryRemove(ctx, cl.project, req.Channel); err != nil {
		return nil, err
	}
	return &gen.EmptyResult{}, nil
}

func (h *Handler) channels(ctx context.Context, cl call, req *gen.ChannelsRequest) (*gen.ChannelsResult, error) {
	if _, err := path.Match(req.Pattern, ""); err != nil {
		return nil, badRequest("bad pattern: %v", err)
	}
	counts, err := h.svc.Channels(ctx, cl.project, req.Pattern)
	if err != nil {
		return nil, err
	}
	channels := make(map[string]gen.ChannelInfo, len(counts))
	for name, n := range counts {
		channels[name] = gen.ChannelInfo{NumClients: n}
	}
	return &gen.ChannelsResult{Channels: channels}, nil
}

func (h *Handler) info(ctx context.Context, _ call, _ *gen.InfoRequest) (*gen.InfoResult, error) {
	nodes, err := h.svc.Info(ctx)
	if err != nil {
		return nil, err
	}
	res := &gen.InfoResult{Nodes: make([]gen.NodeResult, 0, len(nodes))}
	for _, n := range nodes {
		items := n.Metrics
		if items == nil {
			items = map[string]float64{}
		}
		res.Nodes = append(res.Nodes, gen.NodeResult{
			UID:         n.UID,
			Name:        n.Name,
			Version:     n.Version,
			NumClients:  n.NumClients,
			NumUsers:    n.NumUsers,
			NumSubs:     n.NumSubs,
			NumChannels: n.NumChannels,
			Uptime:      int(n.Uptime / time.Second),
			Metrics:     &gen.Metrics{Interval: n.MetricsInterval.Seconds(), Items: items},
		})
	}
	return res, nil
}

func clientInfo(info *engine.ClientInfo) gen.ClientInfo {
	return gen.ClientInfo{
		Client:   info.Client,
		User:     info.User,
		ConnInfo: info.ConnInfo,
		ChanInfo: info.ChanInfo,
	}
}
