package api

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/centrifugehq/centrifuge/server/internal/parallel"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
)

// concurrency bounds the goroutines of one broadcast or parallel batch. It
// is high because with the Redis engine each goroutine waits for a PUBLISH,
// and the concurrent ones go out in one pipeline: 1,024 at a time made a
// broadcast to 10,000 channels 2.4 times as fast as 32 (bench/RESULTS.md).
const concurrency = 1024

// batchParams is a batch request; each command is {"<method>": {...}}.
type batchParams struct {
	Commands []map[string]json.RawMessage `json:"commands"`
	Parallel bool                         `json:"parallel"`
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

func (b *responseBudget) reply(run func() any) json.RawMessage {
	b.mu.Lock()
	over := b.over
	b.mu.Unlock()
	if over {
		return b.tooLarge()
	}
	out, err := json.Marshal(run())
	if err != nil {
		out, _ = json.Marshal(map[string]any{"error": protocol.ErrInternal})
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

// batchResult is {"replies": [...]}, one reply per command in the commands'
// order: {"<method>": result} or {"error": ...}.
type batchResult struct {
	Replies []json.RawMessage `json:"replies"`
}

// batch runs every command (concurrently with parallel: true). Too many
// commands is a paramsError (HTTP 400 on /api/batch).
func (h *Handler) batch(ctx context.Context, cl call, req *batchParams) (*batchResult, error) {
	if len(req.Commands) > MaxBatchCommands {
		return nil, &paramsError{msg: tooManyCommands(len(req.Commands))}
	}
	// Each reply is encoded as its command finishes and counted against the
	// response budget (http.api_max_response_size).
	budget := responseBudget{left: h.maxResp}
	replies := make([]json.RawMessage, len(req.Commands))
	forEach(len(req.Commands), req.Parallel, func(i int) {
		replies[i] = budget.reply(func() any { return h.command(ctx, cl, req.Commands[i]) })
	})
	return &batchResult{Replies: replies}, nil
}

// command runs the one method set in cmd: none (or an unknown one) is 104
// method not found, more than one is 107 bad request, a nested batch is 107.
func (h *Handler) command(ctx context.Context, cl call, cmd map[string]json.RawMessage) map[string]any {
	if len(cmd) > 1 {
		return map[string]any{"error": h.methodError(cl, "", badRequest("a batch command sets exactly one method, got %d", len(cmd)))}
	}
	for name, params := range cmd {
		m := lookup(name)
		if m == nil {
			return map[string]any{"error": h.methodError(cl, "", protocol.ErrMethodNotFound.WithMessage("method not found: "+name))}
		}
		if m.bare {
			return map[string]any{"error": h.methodError(cl, name, badRequest("a batch cannot contain a batch"))}
		}
		res, err := h.runTimed(ctx, m, cl, params)
		if err != nil {
			return map[string]any{"error": h.methodError(cl, name, err)}
		}
		return map[string]any{name: res}
	}
	return map[string]any{"error": h.methodError(cl, "", protocol.ErrMethodNotFound)}
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
