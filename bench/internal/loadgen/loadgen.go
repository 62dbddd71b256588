// Package loadgen is a load generator for servers that speak the Centrifugo
// client protocol v2 (JSON over WebSocket) and Centrifugo's HTTP server API.
// It runs one scenario (conns, fanout, personal, churn) and returns its Result,
// printed by cmd/loadgen as one JSON line.
//
// Every loop is bounded in count and in time: a scenario ends when its count is
// reached, its duration has passed, or Config.Timeout expires, whichever comes
// first.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Scenarios lists the scenario names.
var Scenarios = []string{"conns", "fanout", "personal", "churn"}

// Config of one run.
type Config struct {
	Scenario string
	// Label names the run in the result (a benchmark step, such as fanout-flat-5000).
	Label string
	// WSURL is the WebSocket endpoint (ws://127.0.0.1:8000/connection/websocket),
	// APIAddr the server's HTTP base, whose API sdk-go calls (http://127.0.0.1:8000).
	WSURL, APIAddr, APIKey string
	Tokens                 Tokens
	// Engine labels the result (memory, redis); the load generator does not use it.
	Engine string
	// ServerPID, when set, lets the run read the server's RSS and CPU time
	// from /proc (the server must run on this machine).
	ServerPID int
	// ServerCPUs, when set, are the CPUs the server is pinned to: the result
	// tells how busy they were, kernel network work included.
	ServerCPUs []int

	// Conns is the number of connections: idle ones (conns), subscribers
	// (fanout), personal channels (personal), steady subscribers (churn).
	Conns int
	// Channel is the channel of fanout and churn.
	Channel string
	// ChannelFormat names connection i's channel in conns and personal
	// (fmt verb %d); without a verb every connection shares that channel.
	ChannelFormat string
	// Publications is how many publications (fanout, churn) or broadcast
	// rounds (personal) to send at most.
	Publications int
	// Rate is publications (rounds) per second; 0 publishes flat-out.
	Rate float64
	// Duration bounds the publishing phase (and the churn).
	Duration time.Duration
	// Publishers is how many API calls may be in flight at once.
	Publishers int
	// Payload is the padding added to each publication's data, in bytes.
	Payload int
	// Method is how personal publishes: "broadcast" (Batch channels per call;
	// 0 = all) or "publish" (one call per channel).
	Method string
	Batch  int
	// Churners is how many goroutines connect, subscribe and disconnect in a
	// loop (churn); each keeps its connection for Hold.
	Churners int
	Hold     time.Duration
	// MaxCycles bounds the churn cycles (default 1,000,000).
	MaxCycles int64
	// Settle is how long conns waits after connecting before reading the
	// server's memory.
	Settle time.Duration
	// Drain is how long to wait for missing deliveries after the last progress.
	Drain time.Duration
	// DialConcurrency bounds connection attempts in flight; DialTimeout bounds one.
	DialConcurrency int
	DialTimeout     time.Duration
	// Timeout bounds the whole run.
	Timeout time.Duration
	// PublisherCmd, when set, runs the publishing (fanout) in a process of
	// its own: the command line of a load generator that calls RunPublisher
	// with this configuration and prints its PublisherResult (pubproc.go).
	PublisherCmd []string
	// Progress shows progress bars on Log when it is a terminal.
	Progress bool
	// Log receives progress bars and notes (default os.Stderr).
	Log io.Writer
}

func (c *Config) defaults() {
	if c.Log == nil {
		c.Log = os.Stderr
	}
	if c.Channel == "" {
		c.Channel = "bench"
	}
	if c.Publishers <= 0 {
		c.Publishers = 1
	}
	if c.DialConcurrency <= 0 {
		c.DialConcurrency = 32
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = 10 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Minute
	}
	if c.Duration <= 0 {
		c.Duration = time.Minute
	}
	if c.Drain <= 0 {
		c.Drain = 5 * time.Second
	}
	if c.MaxCycles <= 0 {
		c.MaxCycles = 1_000_000
	}
	if c.Method == "" {
		c.Method = "broadcast"
	}
}

// Result of one run: the JSON line cmd/loadgen prints. Fields a scenario does
// not measure are left out.
type Result struct {
	Scenario string `json:"scenario"`
	Label    string `json:"label,omitempty"`
	Engine   string `json:"engine,omitempty"`
	Time     string `json:"time"`
	OK       bool   `json:"ok"`
	// Errors lists what went wrong (failed connections, API errors, lost
	// messages are not errors: they are counted in Lost).
	Errors []string `json:"errors,omitempty"`

	Conns        int          `json:"conns"`
	Channels     int          `json:"channels,omitempty"`
	ConnectFail  int          `json:"connect_failures,omitempty"`
	ConnectS     float64      `json:"connect_s,omitempty"`
	ConnectRate  float64      `json:"connects_per_s,omitempty"`
	ConnectLatMS *Percentiles `json:"connect_latency_ms,omitempty"`

	RSSBeforeKB  int64   `json:"server_rss_before_kb,omitempty"`
	RSSAfterKB   int64   `json:"server_rss_after_kb,omitempty"`
	RSSPerConnKB float64 `json:"server_rss_per_conn_kb,omitempty"`
	ServerInfo   *Info   `json:"server_info,omitempty"`

	Method       string  `json:"method,omitempty"`
	Rate         float64 `json:"rate,omitempty"`
	Payload      int     `json:"payload_bytes,omitempty"`
	Publications int     `json:"publications,omitempty"`
	APICalls     int     `json:"api_calls,omitempty"`
	APIErrors    int     `json:"api_errors,omitempty"`
	Expected     int64   `json:"expected,omitempty"`
	Delivered    int64   `json:"delivered,omitempty"`
	// Messages is how many WebSocket messages carried the deliveries;
	// PubsPerMessage how many publications one carried on average.
	Messages       int64    `json:"messages,omitempty"`
	PubsPerMessage float64  `json:"pubs_per_message,omitempty"`
	Lost           int64    `json:"lost"`
	Extra          int64    `json:"extra,omitempty"`
	Disconnected   int      `json:"disconnected,omitempty"`
	DisconnectWhy  []string `json:"disconnect_reasons,omitempty"`
	Unsubscribed   int64    `json:"unsubscribed,omitempty"`
	PublishS       float64  `json:"publish_s,omitempty"`
	// PublisherProcess: the publications came from a process of their own.
	PublisherProcess bool         `json:"publisher_process,omitempty"`
	DurationS        float64      `json:"duration_s,omitempty"`
	PublishesPerS    float64      `json:"publishes_per_s,omitempty"`
	DeliveriesPerS   float64      `json:"deliveries_per_s,omitempty"`
	LatencyMS        *Percentiles `json:"latency_ms,omitempty"`

	Churners   int          `json:"churners,omitempty"`
	Cycles     int64        `json:"cycles,omitempty"`
	CycleFail  int64        `json:"cycle_failures,omitempty"`
	CyclesPerS float64      `json:"cycles_per_s,omitempty"`
	CycleLatMS *Percentiles `json:"cycle_connect_latency_ms,omitempty"`

	// CPU time used during the measured phase, and as a share of one core.
	ServerCPUS    float64 `json:"server_cpu_s,omitempty"`
	ServerCPUPct  float64 `json:"server_cpu_pct,omitempty"`
	LoadgenCPUS   float64 `json:"loadgen_cpu_s,omitempty"`
	LoadgenCPUPct float64 `json:"loadgen_cpu_pct,omitempty"`
	// How busy the server's and the load generator's CPUs were (all work on
	// them, kernel included), when each is pinned to known CPUs.
	ServerCoreBusyPct  float64 `json:"server_core_busy_pct,omitempty"`
	LoadgenCoreBusyPct float64 `json:"loadgen_core_busy_pct,omitempty"`

	// Filled by benchrun: the CPU that processes other than the server, Redis
	// and the load generator used during the run (other work on the machine),
	// as a share of one core, and the busiest of them.
	OtherCPUPct float64  `json:"other_processes_cpu_pct"`
	OtherTop    []string `json:"other_processes,omitempty"`
}

func (r *Result) errorf(format string, args ...any) {
	if len(r.Errors) < 20 {
		r.Errors = append(r.Errors, fmt.Sprintf(format, args...))
	}
}

// Run runs cfg.Scenario.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg.defaults()
	if cfg.Conns <= 0 {
		return nil, errors.New("conns must be > 0")
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	if _, err := RaiseNoFile(uint64(cfg.Conns + cfg.Churners + cfg.Publishers + 64)); err != nil {
		return nil, err
	}
	r := &Result{Scenario: cfg.Scenario, Label: cfg.Label, Engine: cfg.Engine, Time: time.Now().UTC().Format(time.RFC3339), Conns: cfg.Conns}
	var err error
	switch cfg.Scenario {
	case "conns":
		err = runConns(ctx, &cfg, r)
	case "fanout":
		err = runFanout(ctx, &cfg, r)
	case "personal":
		err = runPersonal(ctx, &cfg, r)
	case "churn":
		err = runChurn(ctx, &cfg, r)
	default:
		return nil, fmt.Errorf("unknown scenario %q (want one of %v)", cfg.Scenario, Scenarios)
	}
	if err != nil {
		return r, err
	}
	if ctx.Err() != nil {
		r.errorf("run timed out after %v", cfg.Timeout)
	}
	r.OK = len(r.Errors) == 0 && r.ConnectFail == 0 && r.Lost == 0 && r.Disconnected == 0
	return r, nil
}

// meter measures the server's and the load generator's CPU time over a phase.
type meter struct {
	pid        int
	serverCPUs []int
	start      time.Time
	srv, self  time.Duration
	cores      map[int][2]int64
}

func startMeter(cfg *Config) *meter {
	pid := cfg.ServerPID
	m := &meter{pid: pid, serverCPUs: cfg.ServerCPUs, start: time.Now(), self: SelfCPU(), cores: cpuTimes()}
	if pid > 0 {
		m.srv, _ = ProcCPU(pid)
	}
	return m
}

// stop records the CPU used since start, as a share of active (the phase's
// busy part; 0 = everything since start).
func (m *meter) stop(r *Result, active time.Duration) {
	if active <= 0 {
		active = time.Since(m.start)
	}
	wall := active.Seconds()
	cores := cpuTimes()
	meanBusy := func(cpus []int) float64 {
		sum := 0.0
		for _, c := range cpus {
			b := busyPct(m.cores, cores, c)
			if b < 0 {
				return 0
			}
			sum += b
		}
		return round1(sum / float64(len(cpus)))
	}
	if len(m.serverCPUs) > 0 {
		r.ServerCoreBusyPct = meanBusy(m.serverCPUs)
	}
	if own := AllowedCPUs(); len(own) == 1 {
		r.LoadgenCoreBusyPct = meanBusy(own)
	}
	self := (SelfCPU() - m.self).Seconds()
	r.LoadgenCPUS = round3(self)
	r.LoadgenCPUPct = round1(100 * self / wall)
	if m.pid > 0 {
		if srv, err := ProcCPU(m.pid); err == nil {
			s := (srv - m.srv).Seconds()
			r.ServerCPUS = round3(s)
			r.ServerCPUPct = round1(100 * s / wall)
		}
	}
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }

// progress is a progress bar on a terminal, or nothing.
type progress struct{ bar *progressbar.ProgressBar }

func newProgress(cfg *Config, max int64, desc string) *progress {
	f, ok := cfg.Log.(*os.File)
	if !cfg.Progress || !ok || !term.IsTerminal(int(f.Fd())) {
		return &progress{}
	}
	return &progress{bar: progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(f),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("it"),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetWidth(30),
	)}
}

func (p *progress) set(n int64) {
	if p.bar != nil {
		_ = p.bar.Set64(n)
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		_ = p.bar.Close()
	}
}

// opened is a set of connections with their read loops.
type opened struct {
	conns []*Conn
	wg    sync.WaitGroup
}

// openAll opens n connections, at most cfg.DialConcurrency at a time: i-th with
// token tokens.For(first+i) on channel chanFor(i). Connections that fail are
// counted in r. With rec set each connection's read loop starts at once.
// It returns the connections (nil where they failed) and the connect latencies.
func openAll(ctx context.Context, cfg *Config, r *Result, n, first int, chanFor func(int) string, rec *Recorder) (*opened, *Recorder) {
	d := NewDialer(cfg.WSURL, cfg.DialTimeout)
	o := &opened{conns: make([]*Conn, n)}
	lat := NewRecorder()
	bar := newProgress(cfg, int64(n), "connecting")
	defer bar.finish()
	var next, done, failed atomic.Int64
	var errMu sync.Mutex
	var errs = map[string]int{}
	var wg sync.WaitGroup
	workers := min(cfg.DialConcurrency, n)
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			b := lat.NewBatch(w)
			defer b.Flush()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				tok, err := cfg.Tokens.For(first + i)
				var c *Conn
				t0 := time.Now()
				if err == nil {
					dctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
					c, err = d.Open(dctx, tok, chanFor(i))
					cancel()
				}
				if err != nil {
					failed.Add(1)
					errMu.Lock()
					errs[err.Error()]++
					errMu.Unlock()
				} else {
					b.Add(int64(time.Since(t0)))
					o.conns[i] = c
					if rec != nil {
						o.wg.Add(1)
						go func(c *Conn, i int) {
							defer o.wg.Done()
							c.Run(rec.NewBatch(i))
						}(c, i)
					}
				}
				bar.set(done.Add(1))
			}
		}(w)
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	ok := int(int64(n) - failed.Load())
	r.ConnectFail += int(failed.Load())
	r.ConnectS = round3(el)
	if el > 0 {
		r.ConnectRate = round1(float64(ok) / el)
	}
	if int(done.Load()) < n {
		r.errorf("connecting stopped after %d of %d: %v", done.Load(), n, ctx.Err())
		r.ConnectFail += n - int(done.Load())
	}
	for e, k := range errs {
		r.errorf("connect failed %d times: %s", k, e)
	}
	return o, lat
}

// live returns the connections that opened.
func (o *opened) live() []*Conn {
	out := make([]*Conn, 0, len(o.conns))
	for _, c := range o.conns {
		if c != nil {
			out = append(out, c)
		}
	}
	return out
}

// closeAll closes every connection and waits (bounded) for the read loops.
// Connections that the server closed before are counted in r.
func (o *opened) closeAll(r *Result) {
	why := map[string]int{}
	for _, c := range o.conns {
		if c == nil {
			continue
		}
		c.Close()
	}
	done := make(chan struct{})
	go func() { o.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		r.errorf("read loops still running 30s after close")
		return
	}
	for _, c := range o.conns {
		if c == nil {
			continue
		}
		r.Unsubscribed += c.Unsubscribed.Load()
		r.Messages += c.Messages.Load()
		if c.Err != nil {
			r.Disconnected++
			why[DescribeErr(c.Err)]++
		}
	}
	if r.Messages > 0 {
		var n int64
		for _, c := range o.conns {
			if c != nil {
				n += c.Received.Load()
			}
		}
		r.PubsPerMessage = round3(float64(n) / float64(r.Messages))
	}
	for w, k := range why {
		r.DisconnectWhy = append(r.DisconnectWhy, fmt.Sprintf("%d× %s", k, w))
	}
}

// delivered sums the publications received by conns and returns the latest receipt time.
func delivered(conns []*Conn) (int64, int64) {
	var n, last int64
	for _, c := range conns {
		n += c.Received.Load()
		if l := c.LastRecv.Load(); l > last {
			last = l
		}
	}
	return n, last
}

// waitDelivered waits until conns have received expected publications, or no
// new one arrived for drain, or ctx ends. It returns the count and the time of
// the last receipt (unix ns). bar (may be nil) shows progress.
func waitDelivered(ctx context.Context, conns []*Conn, expected int64, drain time.Duration, bar *progress) (int64, int64) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	lastN, lastChange := int64(-1), time.Now()
	for {
		n, last := delivered(conns)
		if bar != nil {
			bar.set(n)
		}
		if n >= expected {
			return n, last
		}
		if n != lastN {
			lastN, lastChange = n, time.Now()
		} else if time.Since(lastChange) > drain {
			return n, last
		}
		select {
		case <-ctx.Done():
			n, last = delivered(conns)
			return n, last
		case <-tick.C:
		}
	}
}

// publisher runs API calls from several goroutines, paced or flat-out.
type publisher struct {
	workers  int
	total    int       // calls at most
	perSec   float64   // calls per second, 0 = flat-out
	deadline time.Time // no call starts after it
	maxErrs  int64     // stop after this many failed calls
	call     func(ctx context.Context, k int, buf []byte) ([]byte, error)
}

// run makes the calls and returns how many succeeded and failed, and the first error.
func (p *publisher) run(ctx context.Context) (ok, failed int64, firstErr error) {
	var next, okN, failN atomic.Int64
	var errOnce sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	if p.maxErrs <= 0 {
		p.maxErrs = 100
	}
	for w := 0; w < p.workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for {
				k := int(next.Add(1) - 1)
				if k >= p.total || ctx.Err() != nil || failN.Load() >= p.maxErrs {
					return
				}
				if p.perSec > 0 {
					at := start.Add(time.Duration(float64(k) / p.perSec * float64(time.Second)))
					if d := time.Until(at); d > 0 {
						select {
						case <-time.After(d):
						case <-ctx.Done():
							return
						}
					}
				}
				if time.Now().After(p.deadline) {
					return
				}
				var err error
				buf, err = p.call(ctx, k, buf)
				if err != nil {
					failN.Add(1)
					errOnce.Do(func() { firstErr = err })
					continue
				}
				okN.Add(1)
			}
		}()
	}
	wg.Wait()
	return okN.Load(), failN.Load(), firstErr
}
