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

// manyMin is the fewest channels of one shard that PublishMany sends as one
// broadcast message rather than a PUBLISH each: every node receives every
// broadcast message, whichever channels it has, so a few channels go one by
// one, only to the nodes that have them.
const manyMin = 8

// PublishMany publishes data to each channel without history, publishBatch
// channels of one shard at a time from the caller's goroutine. Outside a
// cluster, publishBatch (or at least manyMin) channels are one broadcast
// message: one PUBLISH to the shard's broadcast channel, which every node
// receives and hands to the channels it has, where a PUBLISH per channel
// made Redis parse, route and send each. In a cluster (a shared PUB/SUB
// channel would not keep a channel's order with its own SPUBLISHes, which
// come from another master) and for fewer channels, each channel gets its
// PUBLISH, pipelined. This node's subscribers get each publication when its
// command returns (as Publish does).
func (e *Engine) PublishMany(ctx context.Context, project string, channels []string, data []byte, opts engine.PublishOptions) []error {
	errs := make([]error, len(channels))
	if err := e.check(ctx); err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	byShard := make(map[*shard][]int, len(e.shards))
	for i, ch := range channels {
		sh := e.shardFor(project, ch)
		byShard[sh] = append(byShard[sh], i)
	}
	ref := e.handler.Load()
	// One publication for every channel's delivery: the handler encodes it
	// and does not keep it.
	pub := &engine.Publication{Data: data, Info: opts.ClientInfo, Tags: opts.Tags}
	for sh, idx := range byShard {
		for len(idx) > 0 {
			chunk := idx[:min(len(idx), publishBatch)]
			idx = idx[len(chunk):]
			var local []bool
			if e.broadcast != "" && len(chunk) >= manyMin {
				local = e.publishManyMessage(ctx, sh, project, channels, chunk, data, opts, errs, ref != nil)
			} else {
				local = e.publishEach(ctx, sh, project, channels, chunk, data, opts, errs, ref != nil)
			}
			for k, i := range chunk {
				if errs[i] == nil && local != nil && local[k] {
					ref.h.HandlePublication(project, channels[i], pub, engine.StreamPosition{})
				}
			}
		}
	}
	return errs
}

// publishManyMessage publishes data to channels[chunk] of shard sh as one
// broadcast message, sets errs[chunk] on failure and, when wantLocal, reports
// which of those channels this node wants.
func (e *Engine) publishManyMessage(ctx context.Context, sh *shard, project string, channels []string, chunk []int, data []byte, opts engine.PublishOptions, errs []error, wantLocal bool) []bool {
	size := 64 + len(project) + len(data)
	for _, i := range chunk {
		size += 2 + len(channels[i])
	}
	msg := appendManyHead(make([]byte, 0, size), e.origin, project, data, opts.ClientInfo, opts.Tags, len(chunk))
	for _, i := range chunk {
		msg = appendString(msg, channels[i])
	}
	if err := e.publishCmd(ctx, sh.client, e.broadcast, msg).Err(); err != nil {
		err = e.wrap(ctx, "publish", err)
		for _, i := range chunk {
			errs[i] = err
		}
		return nil
	}
	if !wantLocal {
		return nil
	}
	local := make([]bool, len(chunk))
	escProject := escape(project)
	name := make([]byte, 0, 128)
	for k, i := range chunk {
		name = appendPubsubName(name[:0], e.prefix, escProject, channels[i])
		local[k] = sh.subs.wantedName(name)
	}
	return local
}

// publishEach publishes data to channels[chunk] of shard sh with a PUBLISH
// each, in one pipeline, sets errs[chunk] of those that failed and, when
// wantLocal, reports which of the channels this node wants.
func (e *Engine) publishEach(ctx context.Context, sh *shard, project string, channels []string, chunk []int, data []byte, opts engine.PublishOptions, errs []error, wantLocal bool) []bool {
	names := make([]string, len(chunk))
	for k, i := range chunk {
		names[k] = e.pubsubChannel(project, channels[i])
	}
	cmds, err := sh.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for k, i := range chunk {
			e.publishCmd(ctx, p, names[k], e.localPubMessage(project, channels[i], data, opts))
		}
		return nil
	})
	for k, i := range chunk {
		cerr := err
		if k < len(cmds) {
			cerr = cmds[k].Err()
		}
		if cerr != nil {
			errs[i] = e.wrap(ctx, "publish", cerr)
		}
	}
	if !wantLocal {
		return nil
	}
	return sh.subs.wantedEach(len(chunk), func(k int) string { return names[k] })
}
