package loadgen

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// channelNamer returns connection i's channel for a format with or without %d,
// and how many distinct channels that makes for n connections.
func channelNamer(format string, n int) (func(int) string, int) {
	if !strings.Contains(format, "%d") {
		return func(int) string { return format }, 1
	}
	return func(i int) string { return fmt.Sprintf(format, i) }, n
}

func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// runConns opens idle subscribed connections and measures the connect rate
// and the server's memory per connection.
func runConns(ctx context.Context, cfg *Config, r *Result) error {
	format := cfg.ChannelFormat
	if format == "" {
		format = "idle-%d"
	}
	chanFor, channels := channelNamer(format, cfg.Conns)
	r.Channels = channels
	if cfg.ServerPID > 0 {
		rss, err := ProcRSS(cfg.ServerPID)
		if err != nil {
			return fmt.Errorf("server RSS: %w", err)
		}
		r.RSSBeforeKB = rss
	}
	m := startMeter(cfg)
	// Read loops answer the server's pings, so the connections stay through a long Settle or Hold.
	o, lat := openAll(ctx, cfg, r, cfg.Conns, 0, chanFor, NewRecorder())
	m.stop(r, 0)
	r.ConnectLatMS = Summarize(lat.Merge())
	live := len(o.live())
	sleepCtx(ctx, cfg.Settle)
	if cfg.ServerPID > 0 && live > 0 {
		if rss, err := ProcRSS(cfg.ServerPID); err == nil {
			r.RSSAfterKB = rss
			r.RSSPerConnKB = round3(float64(r.RSSAfterKB-r.RSSBeforeKB) / float64(live))
		}
	}
	if cfg.APIAddr != "" && cfg.APIKey != "" {
		if api, err := NewAPI(cfg.APIAddr, cfg.APIKey, 1); err != nil {
			r.errorf("info: %v", err)
		} else if info, err := infoCatchUp(ctx, api, int64(live), 10*time.Second); err != nil {
			r.errorf("info: %v", err)
		} else {
			r.ServerInfo = &info
			if info.NumClients < int64(live) {
				r.errorf("server reports %d clients, %d connected", info.NumClients, live)
			}
		}
	}
	sleepCtx(ctx, cfg.Hold)
	o.closeAll(r)
	return nil
}

// infoCatchUp calls info until it counts at least clients connections or
// wait has passed, and returns the last reply. A server may count its clients
// when it publishes its node statistics, every few seconds (Centrifugo does),
// rather than at each call.
func infoCatchUp(ctx context.Context, api *API, clients int64, wait time.Duration) (Info, error) {
	deadline := time.Now().Add(wait)
	for {
		info, err := api.Info(ctx)
		if err != nil || info.NumClients >= clients || !time.Now().Before(deadline) || ctx.Err() != nil {
			return info, err
		}
		sleepCtx(ctx, 250*time.Millisecond)
	}
}

// runFanout publishes into one channel with cfg.Conns subscribers.
func runFanout(ctx context.Context, cfg *Config, r *Result) error {
	rec := NewRecorder()
	o, lat := openAll(ctx, cfg, r, cfg.Conns, 0, func(int) string { return cfg.Channel }, rec)
	r.ConnectLatMS = Summarize(lat.Merge())
	r.Channels = 1
	conns := o.live()
	api, err := NewAPI(cfg.APIAddr, cfg.APIKey, cfg.Publishers)
	if err != nil {
		o.closeAll(r)
		return err
	}
	pub := channelPublisher(cfg, api)
	r.Publications = cfg.Publications
	deliver(ctx, cfg, r, o, conns, pub, int64(cfg.Publications)*int64(len(conns)), func(ok int64) int64 { return ok * int64(len(conns)) })
	r.LatencyMS = Summarize(rec.Merge())
	return nil
}

// deliver runs pub against conns, waits for the deliveries (expected(ok calls)),
// closes the connections and fills r.
// most is the deliveries if every call succeeds (the progress bar's total).
func deliver(ctx context.Context, cfg *Config, r *Result, o *opened, conns []*Conn, pub *publisher, most int64, expected func(int64) int64) {
	r.Rate, r.Payload = cfg.Rate, cfg.Payload
	bar := newProgress(cfg, most, "deliveries")
	mctx, mstop := context.WithCancel(ctx)
	var mwg sync.WaitGroup
	if bar.bar != nil {
		mwg.Add(1)
		go func() {
			defer mwg.Done()
			t := time.NewTicker(200 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-mctx.Done():
					return
				case <-t.C:
					n, _ := delivered(conns)
					bar.set(n)
				}
			}
		}()
	}
	m := startMeter(cfg)
	ok, failed, firstErr, t0, pubDur := publish(ctx, cfg, pub)
	r.PublisherProcess = len(cfg.PublisherCmd) > 0
	r.APICalls, r.APIErrors = int(ok), int(failed)
	if firstErr != nil {
		r.errorf("%d API calls failed, first: %v", failed, firstErr)
	}
	r.Expected = expected(ok)
	n, last := waitDelivered(ctx, conns, r.Expected, cfg.Drain, nil)
	mstop()
	mwg.Wait()
	bar.finish()
	active := time.Duration(last - t0.UnixNano())
	if active < pubDur {
		active = pubDur
	}
	m.stop(r, active)
	r.Delivered = n
	if n < r.Expected {
		r.Lost = r.Expected - n
	} else {
		r.Extra = n - r.Expected
	}
	r.PublishS = round3(pubDur.Seconds())
	r.DurationS = round3(active.Seconds())
	if pubDur > 0 {
		r.PublishesPerS = round1(float64(ok) / pubDur.Seconds())
	}
	if active > 0 {
		r.DeliveriesPerS = round1(float64(n) / active.Seconds())
	}
	o.closeAll(r)
}

// runPersonal gives each of cfg.Conns connections its own channel and
// publishes into all of them, by broadcast or one publish per channel.
func runPersonal(ctx context.Context, cfg *Config, r *Result) error {
	format := cfg.ChannelFormat
	if format == "" {
		format = "user#%d"
	}
	if strings.Contains(format, "#") && !cfg.Tokens.UserLimited() {
		return fmt.Errorf("personal channels %q are user-limited: they need tokens signed per user (a token secret, not a fixed token)", format)
	}
	chanFor, channels := channelNamer(format, cfg.Conns)
	if channels != cfg.Conns {
		return fmt.Errorf("personal needs a channel format with %%d, got %q", format)
	}
	r.Channels, r.Method = channels, cfg.Method
	rec := NewRecorder()
	o, lat := openAll(ctx, cfg, r, cfg.Conns, 0, chanFor, rec)
	r.ConnectLatMS = Summarize(lat.Merge())
	// Publish only into the channels of connections that opened.
	var names []string
	for i, c := range o.conns {
		if c != nil {
			names = append(names, chanFor(i))
		}
	}
	conns := o.live()
	if len(names) == 0 {
		o.closeAll(r)
		r.errorf("no connection opened")
		return nil
	}
	api, err := NewAPI(cfg.APIAddr, cfg.APIKey, cfg.Publishers)
	if err != nil {
		o.closeAll(r)
		return err
	}
	var expectedN atomic.Int64
	r.Publications = cfg.Publications
	pub := &publisher{workers: cfg.Publishers}
	switch cfg.Method {
	case "broadcast":
		size := cfg.Batch
		if size <= 0 || size > len(names) {
			size = len(names)
		}
		var batches [][]string
		for i := 0; i < len(names); i += size {
			batches = append(batches, names[i:min(i+size, len(names))])
		}
		pub.total = cfg.Publications * len(batches)
		pub.perSec = cfg.Rate * float64(len(batches))
		pub.call = func(ctx context.Context, k int, buf []byte) ([]byte, error) {
			j := k % len(batches)
			buf = appendData(buf[:0], time.Now().UnixNano(), uint64(k/len(batches)), cfg.Payload)
			ok, err := api.Broadcast(ctx, batches[j], buf)
			expectedN.Add(int64(ok))
			return buf, err
		}
	case "publish":
		pub.total = cfg.Publications * len(names)
		pub.perSec = cfg.Rate * float64(len(names))
		pub.call = func(ctx context.Context, k int, buf []byte) ([]byte, error) {
			buf = appendData(buf[:0], time.Now().UnixNano(), uint64(k/len(names)), cfg.Payload)
			err := api.Publish(ctx, names[k%len(names)], buf)
			if err == nil {
				expectedN.Add(1)
			}
			return buf, err
		}
	default:
		o.closeAll(r)
		return fmt.Errorf("unknown method %q (broadcast or publish)", cfg.Method)
	}
	deliver(ctx, cfg, r, o, conns, pub, int64(cfg.Publications)*int64(len(names)), func(int64) int64 { return expectedN.Load() })
	r.LatencyMS = Summarize(rec.Merge())
	return nil
}

// runChurn keeps cfg.Conns steady subscribers on cfg.Channel while
// cfg.Churners goroutines connect, subscribe to the same channel and
// disconnect in a loop, and a publisher publishes at cfg.Rate.
func runChurn(ctx context.Context, cfg *Config, r *Result) error {
	rec := NewRecorder()
	o, lat := openAll(ctx, cfg, r, cfg.Conns, 0, func(int) string { return cfg.Channel }, rec)
	r.ConnectLatMS = Summarize(lat.Merge())
	r.Channels, r.Churners = 1, cfg.Churners
	conns := o.live()
	api, err := NewAPI(cfg.APIAddr, cfg.APIKey, cfg.Publishers)
	if err != nil {
		o.closeAll(r)
		return err
	}
	pub := channelPublisher(cfg, api)

	// The churners run while the publisher does (deliver returns after it and the drain).
	cycleLat := NewRecorder()
	var cycles, cycleFail, lastCycle atomic.Int64
	var errMu sync.Mutex
	errs := map[string]int{}
	stop := make(chan struct{})
	var cwg sync.WaitGroup
	d := NewDialer(cfg.WSURL, cfg.DialTimeout)
	churnStart := time.Now()
	end := churnStart.Add(cfg.Duration)
	for w := 0; w < cfg.Churners; w++ {
		cwg.Add(1)
		go func(w int) {
			defer cwg.Done()
			b := cycleLat.NewBatch(w)
			defer b.Flush()
			tok, err := cfg.Tokens.For(cfg.Conns + w)
			if err != nil {
				cycleFail.Add(1)
				return
			}
			for ctx.Err() == nil && time.Now().Before(end) && cycles.Load()+cycleFail.Load() < cfg.MaxCycles {
				select {
				case <-stop:
					return
				default:
				}
				t0 := time.Now()
				dctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
				c, err := d.Open(dctx, tok, cfg.Channel)
				cancel()
				if err != nil {
					cycleFail.Add(1)
					errMu.Lock()
					errs[err.Error()]++
					errMu.Unlock()
					sleepCtx(ctx, 10*time.Millisecond)
					continue
				}
				b.Add(int64(time.Since(t0)))
				sleepCtx(ctx, cfg.Hold)
				c.Disconnect()
				cycles.Add(1)
				lastCycle.Store(time.Now().UnixNano())
			}
		}(w)
	}
	r.Publications = cfg.Publications
	deliver(ctx, cfg, r, o, conns, pub, int64(cfg.Publications)*int64(len(conns)), func(ok int64) int64 { return ok * int64(len(conns)) })
	close(stop)
	cwg.Wait()
	churnDur := time.Duration(lastCycle.Load() - churnStart.UnixNano())
	r.LatencyMS = Summarize(rec.Merge())
	r.Cycles, r.CycleFail = cycles.Load(), cycleFail.Load()
	if churnDur > 0 {
		r.CyclesPerS = round1(float64(r.Cycles) / churnDur.Seconds())
	}
	r.CycleLatMS = Summarize(cycleLat.Merge())
	for e, k := range errs {
		r.errorf("churn cycle failed %d times: %s", k, e)
	}
	return nil
}

// Disconnect closes the connection the way a client does: a close frame
// (1000), then the socket.
func (c *Conn) Disconnect() {
	c.closedByUs.Store(true)
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	_ = c.ws.Close()
}
