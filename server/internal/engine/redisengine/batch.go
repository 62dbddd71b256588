package redisengine

import (
	"context"
	"runtime"

	"github.com/redis/go-redis/v9"

	"github.com/centrifugehq/centrifuge/server/internal/engine"
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

var _ engine.ManyPublisher = (*Engine)(nil)

// PublishMany publishes data to each channel without history: the PUBLISH
// commands of one shard go out in pipelines of publishBatch, from the
// caller's goroutine, and this node's subscribers get each publication as its
// pipeline returns (as Publish does).
func (e *Engine) PublishMany(ctx context.Context, project string, channels []string, data []byte, opts engine.PublishOptions) []error {
	errs := make([]error, len(channels))
	if err := e.check(ctx); err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	type item struct {
		i   int
		ps  string
		msg []byte
	}
	byShard := make(map[*shard][]item, len(e.shards))
	for i, ch := range channels {
		sh := e.shardFor(project, ch)
		byShard[sh] = append(byShard[sh], item{i, e.pubsubChannel(project, ch), e.localPubMessage(project, ch, data, opts)})
	}
	ref := e.handler.Load()
	// One publication for every channel's delivery: the handler encodes it
	// and does not keep it.
	pub := &engine.Publication{Data: data, Info: opts.ClientInfo, Tags: opts.Tags}
	for sh, items := range byShard {
		for len(items) > 0 {
			chunk := items[:min(len(items), publishBatch)]
			items = items[len(chunk):]
			cmds, err := sh.client.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, it := range chunk {
					e.publishCmd(ctx, p, it.ps, it.msg)
				}
				return nil
			})
			var local []bool
			if ref != nil {
				local = sh.subs.wantedEach(len(chunk), func(k int) string { return chunk[k].ps })
			}
			for k, it := range chunk {
				cerr := err
				if k < len(cmds) {
					cerr = cmds[k].Err()
				}
				if cerr != nil {
					errs[it.i] = e.wrap(ctx, "publish", cerr)
					continue
				}
				if local != nil && local[k] {
					ref.h.HandlePublication(project, channels[it.i], pub, engine.StreamPosition{})
				}
			}
		}
	}
	return errs
}
