package redisengine

import (
	"context"
	"runtime"

	"github.com/redis/go-redis/v9"
)

// Publishing without history is one PUBLISH (SPUBLISH in a cluster) per
// publication. Sent one by one, each would cost a round trip and two system
// calls on both sides, which bounds a broadcast to many channels. A batcher
// per shard sends the PUBLISH commands of concurrent callers together, as one
// pipeline: while a pipeline is in flight the next one fills up.

// publishBatch bounds the commands of one pipeline.
const publishBatch = 2048

type pubReq struct {
	ctx  context.Context
	ch   string
	msg  []byte
	done chan error
}

type batcher struct {
	e      *Engine
	client redis.UniversalClient
	reqs   chan *pubReq
}

func newBatcher(e *Engine, client redis.UniversalClient) *batcher {
	return &batcher{e: e, client: client, reqs: make(chan *pubReq, publishBatch)}
}

// publish sends msg to ch with the next pipeline and waits for its reply.
func (b *batcher) publish(ctx context.Context, ch string, msg []byte) error {
	r := &pubReq{ctx: ctx, ch: ch, msg: msg, done: make(chan error, 1)}
	select {
	case b.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-b.e.ctx.Done():
		return errClosed
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-b.e.ctx.Done():
		return errClosed
	}
}

func (b *batcher) run() {
	batch := make([]*pubReq, 0, publishBatch)
	for {
		select {
		case r := <-b.reqs:
			batch = append(batch[:0], r)
		case <-b.e.ctx.Done():
			return
		}
		// Let the goroutines that are about to publish too (a broadcast's
		// workers) queue their commands before this pipeline leaves.
		runtime.Gosched()
	fill:
		for len(batch) < publishBatch {
			select {
			case r := <-b.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		b.exec(batch)
		clear(batch)
	}
}

func (b *batcher) exec(batch []*pubReq) {
	live := batch[:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- err // given up by the caller: not sent
			continue
		}
		live = append(live, r)
	}
	switch len(live) {
	case 0:
		return
	case 1:
		r := live[0]
		r.done <- b.e.publishCmd(r.ctx, b.client, r.ch, r.msg).Err()
		return
	}
	cmds, err := b.client.Pipelined(b.e.ctx, func(p redis.Pipeliner) error {
		for _, r := range live {
			b.e.publishCmd(r.ctx, p, r.ch, r.msg)
		}
		return nil
	})
	for i, r := range live {
		if i < len(cmds) {
			r.done <- cmds[i].Err()
		} else {
			r.done <- err
		}
	}
}

// publishCmd queues or runs a PUBLISH (SPUBLISH when clustered) on c.
func (e *Engine) publishCmd(ctx context.Context, c redis.Cmdable, ch string, msg []byte) *redis.IntCmd {
	if e.clustered {
		return c.SPublish(ctx, ch, msg)
	}
	return c.Publish(ctx, ch, msg)
}
