package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/centrifugehq/centrifuge/server/internal/api/gen"
	"github.com/centrifugehq/centrifuge/server/internal/parallel"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
)

// concurrency bounds the goroutines of one broadcast or parallel batch. It
// is high because with the Redis engine each goroutine waits for a PUBLISH,
// and the concurrent ones go out in one pipeline: 1,024 at a time made a
// broadcast to 10,000 channels 2.4 times as fast as 32 (bench/RESULTS.md).
const concurrency = 1024

// Batch implements gen.ServerInterface: it runs every command (concurrently
// with parallel: true) and answers {"replies": [...]}, one reply per command in
// the commands' order.
func (h *Handler) Batch(c echo.Context) error {
	var req gen.BatchRequest
	cl, err := h.begin(c, &req)
	if err != nil {
		return err
	}
	if len(req.Commands) > MaxBatchCommands {
		return echo.NewHTTPError(http.StatusBadRequest,
			fmt.Sprintf("batch has %d commands, at most %d are allowed", len(req.Commands), MaxBatchCommands))
	}
	ctx := c.Request().Context()
	budget := responseBudget{left: h.maxResp}
	replies := make([]json.RawMessage, len(req.Commands))
	forEach(len(req.Commands), req.Parallel, func(i int) {
		replies[i] = budget.reply(func() gen.Reply { return h.command(ctx, cl, &req.Commands[i]) })
	})
	return c.JSONBlob(http.StatusOK, joinReplies(replies))
}

// responseBudget bounds the response of one batch: each reply is encoded as
// soon as its command has run, and counted; once the replies would exceed
// the budget, the command at hand and every later one get error 106 and the
// later ones do not run. The response (and the memory it takes) is thus at
// most the budget plus what the commands running at that moment return.
type responseBudget struct {
	mu   sync.Mutex
	left int64
	over bool
}

func (b *responseBudget) reply(run func() gen.Reply) json.RawMessage {
	b.mu.Lock()
	over := b.over
	b.mu.Unlock()
	if over {
		return b.tooLarge()
	}
	out, err := json.Marshal(run())
	if err != nil {
		out, _ = json.Marshal(gen.Reply{Error: &gen.Error{Code: protocol.ErrInternal.Code, Message: protocol.ErrInternal.Message}})
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.over || int64(len(out)) > b.left {
		b.over = true
		return b.tooLarge()
	}
	b.left -= int64(len(out))
	return out
}

func (b *responseBudget) tooLarge() json.RawMessage {
	return json.RawMessage(`{"error":{"code":106,"message":"response too large: the batch's replies exceed http.api_max_response_size"}}`)
}

// joinReplies writes {"replies": [...]}, the encoding of gen.BatchResponse.
func joinReplies(replies []json.RawMessage) []byte {
	n := len(`{"replies":[]}`) + 1 + len(replies)
	for _, r := range replies {
		n += len(r)
	}
	out := make([]byte, 0, n)
	out = append(out, `{"replies":[`...)
	for i, r := range replies {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, r...)
	}
	return append(out, "]}\n"...)
}

// command runs the one method set in cmd: none is 104 method not found, more
// than one is 107 bad request.
func (h *Handler) command(ctx context.Context, cl call, cmd *gen.Command) gen.Reply {
	var (
		reply  gen.Reply
		method string
		run    func() error
		n      int
	)
	set := func(name string, f func() error) {
		n++
		method, run = name, f
	}
	if req := cmd.Publish; req != nil {
		set("publish", func() (err error) { reply.Publish, err = h.publish(ctx, cl, req); return err })
	}
	if req := cmd.Broadcast; req != nil {
		set("broadcast", func() (err error) { reply.Broadcast, err = h.broadcast(ctx, cl, req); return err })
	}
	if req := cmd.Subscribe; req != nil {
		set("subscribe", func() (err error) { reply.Subscribe, err = h.subscribe(ctx, cl, req); return err })
	}
	if req := cmd.Unsubscribe; req != nil {
		set("unsubscribe", func() (err error) { reply.Unsubscribe, err = h.unsubscribe(ctx, cl, req); return err })
	}
	if req := cmd.Disconnect; req != nil {
		set("disconnect", func() (err error) { reply.Disconnect, err = h.disconnect(ctx, cl, req); return err })
	}
	if req := cmd.Refresh; req != nil {
		set("refresh", func() (err error) { reply.Refresh, err = h.refresh(ctx, cl, req); return err })
	}
	if req := cmd.Presence; req != nil {
		set("presence", func() (err error) { reply.Presence, err = h.presence(ctx, cl, req); return err })
	}
	if req := cmd.PresenceStats; req != nil {
		set("presence_stats", func() (err error) { reply.PresenceStats, err = h.presenceStats(ctx, cl, req); return err })
	}
	if req := cmd.History; req != nil {
		set("history", func() (err error) { reply.History, err = h.history(ctx, cl, req); return err })
	}
	if req := cmd.HistoryRemove; req != nil {
		set("history_remove", func() (err error) { reply.HistoryRemove, err = h.historyRemove(ctx, cl, req); return err })
	}
	if req := cmd.Channels; req != nil {
		set("channels", func() (err error) { reply.Channels, err = h.channels(ctx, cl, req); return err })
	}
	if req := cmd.Info; req != nil {
		set("info", func() (err error) { reply.Info, err = h.info(ctx, cl, req); return err })
	}
	switch n {
	case 0:
		reply.Error = h.methodError(cl, "", protocol.ErrMethodNotFound)
	case 1:
		reply.Error = h.methodError(cl, method, run())
	default:
		reply.Error = h.methodError(cl, "", protocol.ErrBadRequest)
	}
	return reply
}

// forEach calls fn for 0 <= i < n: in order, or concurrently (at most
// concurrency at a time) when parallel. A panic in fn is re-raised in the
// caller's goroutine, where Echo's Recover middleware can handle it.
func forEach(n int, concurrent bool, fn func(i int)) {
	limit := 1
	if concurrent {
		limit = concurrency
	}
	parallel.ForEach(n, limit, fn)
}
