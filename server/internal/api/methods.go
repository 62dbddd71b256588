package api

import (
	"context"
	"net/http"
	"path"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/centrifugehq/centrifuge/server/internal/api/gen"
	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
)

// maxDisconnectReason is the longest reason a WebSocket close frame can carry.
const maxDisconnectReason = 123

// Each method below decodes its request, runs the method and answers HTTP 200
// with {"result": ...} or {"error": ...}; the lower-case twins do the work and
// are shared with batch. Their errors are *protocol.Error or Service errors.

// Publish implements gen.ServerInterface.
func (h *Handler) Publish(c echo.Context) error {
	var req gen.PublishRequest
	cl, err := h.begin(c, &req)
	if err != nil {
		return err
	}
	res, err := h.publish(c.Request().Context(), cl, &req)
	return writeJSON(c, http.StatusOK, gen.PublishResponse{Result: res, Error: h.methodError(cl, "publish", err)})
}

// Broadcast implements gen.ServerInterface.
func (h *Handler) Broadcast(c echo.Context) error {
	var req gen.BroadcastRequest
	cl, err := h.begin(c, &req)
	if err != nil {
		return err
	}
	res, err := h.broadcast(c.Request().Context(), cl, &req)
	return writeJSON(c, http.StatusOK, gen.BroadcastResponse{Result: res, Error: h.methodError(cl, "broadcast", err)})
}

// Subscribe implements gen.ServerInterface.
func (h *Handler) Subscribe(c echo.Context) error {
	var req gen.SubscribeRequest
	cl, err := h.begin(c, &req)
	if err != nil {
		return err
	}
	res, err := h.subscribe(c.Request().Context(), cl, &req)
	return writeJSON(c, http.StatusOK, gen.SubscribeResponse{Result: res, Error: h.methodError(cl, "subscribe", err)})
}

// Unsubscribe implements gen.ServerInterface.
func (h *Handler) Unsubscribe(c echo.Context) error {
	var req gen.UnsubscribeRequest
	cl, err := h.begin(c, &req)
	if err != nil {
		return err
	}
	res, err := h.unsubscribe(c.Request().Context(), cl, &req)
	return writeJSON(c, http.StatusOK, gen.UnsubscribeResponse{Result: res, Error: h.methodError(cl, "unsubscribe", err)})
}

// Disconnect implements gen.ServerInterface.
func (h *Handler) Disconnect(c echo.Context) error {
	var req gen.DisconnectRequest
	cl, err := h.begin(c, &req)
	if err != nil {
		return err
	}
	res, err := h.disconnect(c.Request().Context(), cl, &req)
	return writeJSON(c, http.StatusOK, gen.DisconnectResponse{Result: res, Error: h.methodError(cl, "disconnect", err)})
}

// Refresh implements gen.ServerInterface.
func (h *Handler) Refresh(c echo.Context) error {
	var req gen.RefreshRequest
	cl, err := h.begin(c, &req)
	if err != nil {
		return err
	}
	res, err := h.refresh(c.Request().Context(), cl, &req)
	return writeJSON(c, http.StatusOK, gen.RefreshResponse{Result: res, Error: h.methodError(cl, "refresh", err)})
}

// Presence implements gen.ServerInterface.
func (h *Handler) Presence(c echo.Context) error {
	var req gen.PresenceRequest
	cl, err := h.begin(c, &req)
	if err != nil {
		return err
	}
	res, err := h.presence(c.Request().Context(), cl, &req)
	return writeJSON(c, http.StatusOK, gen.PresenceResponse{Result: res, Error: h.methodError(cl, "presence", err)})
}

// PresenceStats implements gen.ServerInterface.
func (h *Handler) PresenceStats(c echo.Context) error {
	var req gen.PresenceStatsRequest
	cl, err := h.begin(c, &req)
	if err != nil {
		return err
	}
	res, err := h.presenceStats(c.Request().Context(), cl, &req)
	return writeJSON(c, http.StatusOK, gen.PresenceStatsResponse{Result: res, Error: h.methodError(cl, "presence_stats", err)})
}

// History implements gen.ServerInterface.
func (h *Handler) History(c echo.Context) error {
	var req gen.HistoryRequest
	cl, err := h.begin(c, &req)
	if err != nil {
		return err
	}
	res, err := h.history(c.Request().Context(), cl, &req)
	return writeJSON(c, http.StatusOK, gen.HistoryResponse{Result: res, Error: h.methodError(cl, "history", err)})
}

// HistoryRemove implements gen.ServerInterface.
func (h *Handler) HistoryRemove(c echo.Context) error {
	var req gen.HistoryRemoveRequest
	cl, err := h.begin(c, &req)
	if err != nil {
		return err
	}
	res, err := h.historyRemove(c.Request().Context(), cl, &req)
	return writeJSON(c, http.StatusOK, gen.HistoryRemoveResponse{Result: res, Error: h.methodError(cl, "history_remove", err)})
}

// Channels implements gen.ServerInterface.
func (h *Handler) Channels(c echo.Context) error {
	var req gen.ChannelsRequest
	cl, err := h.begin(c, &req)
	if err != nil {
		return err
	}
	res, err := h.channels(c.Request().Context(), cl, &req)
	return writeJSON(c, http.StatusOK, gen.ChannelsResponse{Result: res, Error: h.methodError(cl, "channels", err)})
}

// Info implements gen.ServerInterface.
func (h *Handler) Info(c echo.Context) error {
	var req gen.InfoRequest
	cl, err := h.begin(c, &req)
	if err != nil {
		return err
	}
	res, err := h.info(c.Request().Context(), cl, &req)
	return writeJSON(c, http.StatusOK, gen.InfoResponse{Result: res, Error: h.methodError(cl, "info", err)})
}

func (h *Handler) publish(ctx context.Context, cl call, req *gen.PublishRequest) (*gen.PublishResult, error) {
	if req.Channel == "" || len(req.Data) == 0 {
		return nil, protocol.ErrBadRequest
	}
	sp, err := h.svc.Publish(ctx, cl.project, req.Channel, req.Data, PublishOptions{
		SkipHistory:    req.SkipHistory,
		Tags:           req.Tags,
		IdempotencyKey: req.IdempotencyKey,
	})
	if err != nil {
		return nil, err
	}
	return &gen.PublishResult{Offset: sp.Offset, Epoch: sp.Epoch}, nil
}

// broadcast publishes into every channel; one channel's failure is its own
// response and does not fail the others.
func (h *Handler) broadcast(ctx context.Context, cl call, req *gen.BroadcastRequest) (*gen.BroadcastResult, error) {
	if len(req.Channels) == 0 || len(req.Data) == 0 {
		return nil, protocol.ErrBadRequest
	}
	responses := make([]gen.PublishResponse, len(req.Channels))
	channels := make([]string, 0, len(req.Channels))
	idx := make([]int, 0, len(req.Channels))
	for i, ch := range req.Channels {
		if ch == "" {
			responses[i].Error = h.methodError(cl, "broadcast", protocol.ErrBadRequest)
			continue
		}
		channels = append(channels, ch)
		idx = append(idx, i)
	}
	results := h.svc.Broadcast(ctx, cl.project, channels, req.Data, PublishOptions{
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

func (h *Handler) subscribe(ctx context.Context, cl call, req *gen.SubscribeRequest) (*gen.EmptyResult, error) {
	if req.User == "" || req.Channel == "" {
		return nil, protocol.ErrBadRequest
	}
	if err := h.svc.Subscribe(ctx, cl.project, req.User, req.Channel, req.Client); err != nil {
		return nil, err
	}
	return &gen.EmptyResult{}, nil
}

func (h *Handler) unsubscribe(ctx context.Context, cl call, req *gen.UnsubscribeRequest) (*gen.EmptyResult, error) {
	if req.User == "" || req.Channel == "" {
		return nil, protocol.ErrBadRequest
	}
	if err := h.svc.Unsubscribe(ctx, cl.project, req.User, req.Channel, req.Client); err != nil {
		return nil, err
	}
	return &gen.EmptyResult{}, nil
}

func (h *Handler) disconnect(ctx context.Context, cl call, req *gen.DisconnectRequest) (*gen.EmptyResult, error) {
	if req.User == "" {
		return nil, protocol.ErrBadRequest
	}
	d := protocol.DisconnectForceNoReconnect
	if req.Disconnect != nil {
		d = protocol.Disconnect{Code: req.Disconnect.Code, Reason: req.Disconnect.Reason}
		if d.Code < 3000 || d.Code > 4999 || len(d.Reason) > maxDisconnectReason {
			return nil, protocol.ErrBadRequest
		}
	}
	if err := h.svc.Disconnect(ctx, cl.project, req.User, req.Client, d); err != nil {
		return nil, err
	}
	return &gen.EmptyResult{}, nil
}

func (h *Handler) refresh(ctx context.Context, cl call, req *gen.RefreshRequest) (*gen.EmptyResult, error) {
	if req.User == "" || req.ExpireAt < 0 {
		return nil, protocol.ErrBadRequest
	}
	err := h.svc.Refresh(ctx, cl.project, req.User, req.Client, RefreshOptions{
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
		return nil, protocol.ErrBadRequest
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
		return nil, protocol.ErrBadRequest
	}
	stats, err := h.svc.PresenceStats(ctx, cl.project, req.Channel)
	if err != nil {
		return nil, err
	}
	return &gen.PresenceStatsResult{NumClients: stats.NumClients, NumUsers: stats.NumUsers}, nil
}

// history passes limit through (0: only the position, n > 0: at most n) and
// turns any negative limit into -1 (all).
func (h *Handler) history(ctx context.Context, cl call, req *gen.HistoryRequest) (*gen.HistoryResult, error) {
	if req.Channel == "" {
		return nil, protocol.ErrBadRequest
	}
	opts := engine.HistoryOptions{Limit: max(req.Limit, -1), Reverse: req.Reverse}
	if req.Since != nil {
		opts.Since = &engine.StreamPosition{Offset: req.Since.Offset, Epoch: req.Since.Epoch}
	}
	hr, err := h.svc.History(ctx, cl.project, req.Channel, opts)
	if err != nil {
		return nil, err
	}
	pubs := make([]gen.Publication, 0, len(hr.Publications))
	for _, p := range hr.Publications {
		if p == nil {
			continue
		}
		pub := gen.Publication{Data: p.Data, Offset: p.Offset, Tags: p.Tags}
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
		return nil, protocol.ErrBadRequest
	}
	if err := h.svc.HistoryRemove(ctx, cl.project, req.Channel); err != nil {
		return nil, err
	}
	return &gen.EmptyResult{}, nil
}

func (h *Handler) channels(ctx context.Context, cl call, req *gen.ChannelsRequest) (*gen.ChannelsResult, error) {
	if _, err := path.Match(req.Pattern, ""); err != nil {
		return nil, protocol.ErrBadRequest
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
		res.Nodes = append(res.Nodes, gen.NodeResult{
			UID:         n.UID,
			Name:        n.Name,
			Version:     n.Version,
			NumClients:  n.NumClients,
			NumUsers:    n.NumUsers,
			NumSubs:     n.NumSubs,
			NumChannels: n.NumChannels,
			Uptime:      int(n.Uptime / time.Second),
			Metrics:     n.Metrics,
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
