package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/centrifugehq/centrifuge/bench/internal/loadgen"
	"github.com/centrifugehq/centrifuge/bench/internal/report"
)

// step is one load generator run, repeated for each engine on a fresh server.
type step struct {
	Label    string
	Title    string
	Scenario string
	Conns    int
	Args     []string
	Timeout  time.Duration
	Rows     []report.Row
}

func itoa(n int) string { return strconv.Itoa(n) }

// Metric getters for the table and charts.
var (
	deliveriesPerS = func(r *loadgen.Result) (float64, bool) { return r.DeliveriesPerS, r.Delivered > 0 }
	lost           = func(r *loadgen.Result) (float64, bool) { return float64(r.Lost), true }
	// A core's busy share counts the kernel's network work too; without pinning
	// the process's own CPU share is shown.
	serverCPU = func(r *loadgen.Result) (float64, bool) {
		if r.ServerCoreBusyPct > 0 {
			return r.ServerCoreBusyPct, true
		}
		return r.ServerCPUPct, r.ServerCPUS > 0
	}
	loadgenCPU = func(r *loadgen.Result) (float64, bool) {
		if r.LoadgenCoreBusyPct > 0 {
			return r.LoadgenCoreBusyPct, true
		}
		return r.LoadgenCPUPct, r.LoadgenCPUS > 0
	}
)

func connectLat(pick func(*loadgen.Percentiles) float64) func(*loadgen.Result) (float64, bool) {
	return func(r *loadgen.Result) (float64, bool) {
		if r.ConnectLatMS == nil {
			return 0, false
		}
		return pick(r.ConnectLatMS), true
	}
}

func latency(pick func(*loadgen.Percentiles) float64) func(*loadgen.Result) (float64, bool) {
	return func(r *loadgen.Result) (float64, bool) {
		if r.LatencyMS == nil {
			return 0, false
		}
		return pick(r.LatencyMS), true
	}
}

var (
	p50 = latency(func(p *loadgen.Percentiles) float64 { return p.P50 })
	p95 = latency(func(p *loadgen.Percentiles) float64 { return p.P95 })
	p99 = latency(func(p *loadgen.Percentiles) float64 { return p.P99 })
	pMx = latency(func(p *loadgen.Percentiles) float64 { return p.Max })
)

// latencyRows are a step's delivery latency p50/p95/p99 rows (target on
// p99), then how busy the server's and the load generator's cores were: a
// throughput gain that costs latency, or a load generator at its limit,
// shows in every step.
func latencyRows(label, title string, digits int, p99Target string) []report.Row {
	return []report.Row{
		{Label: label, Title: title, Metric: "latency p50 (ms)", Digits: digits, Get: p50},
		{Label: label, Title: title, Metric: "latency p95 (ms)", Digits: digits, Get: p95},
		{Label: label, Title: title, Metric: "latency p99 (ms)", Digits: digits, Target: p99Target, Get: p99},
		{Label: label, Title: title, Metric: "server core busy (%)", Digits: 0, Get: serverCPU},
		{Label: label, Title: title, Metric: "loadgen core busy (%)", Digits: 0, Get: loadgenCPU},
	}
}

// rows joins row lists.
func rows(parts ...[]report.Row) []report.Row {
	var out []report.Row
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// sizes of a plan.
type sizes struct {
	idle     int
	fanout   []int // flat-out fan-out
	rated    []int // fan-out at 100 publications/s
	flatPubs func(subs int) int
	ratePubs int
	personal int
	rounds   int
	// personal channels at a fixed rate: rateRounds rounds of broadcasts of
	// rateBatch channels each, personalRate rounds per second.
	personalRate float64
	rateBatch    int
	rateRounds   int
	churnConns   int
	churners     int
	churnPubs    int
	churnRate    int
	duration     time.Duration
	settle       time.Duration
	drain        time.Duration
	timeout      time.Duration
	targets      bool

	// personal channels at a higher fixed rate, one both servers carry (the
	// peer's flat-out personal rate is several times lower than ours):
	// highRate rounds per second, highRounds rounds, of rateBatch channels.
	highRate   float64
	highRounds int
}

var full = sizes{
	idle:   10000,
	fanout: []int{100, 1000, 2500, 5000, 10000},
	// 100 publications/s to 3,000 subscribers is 300,000 deliveries/s: past
	// what the server delivered flat-out in the first runs, so the chart
	// shows the knee; 1,000 is the target.
	rated: []int{100, 300, 1000, 3000},
	flatPubs: func(subs int) int {
		// 2 to 5 million deliveries a run.
		return map[int]int{100: 20000, 1000: 4000, 2500: 2000, 5000: 1000, 10000: 500}[subs]
	},
	ratePubs: 1000, // 10 s at 100/s
	personal: 10000,
	rounds:   50,
	// 2 rounds/s to 10,000 channels: 20,000 deliveries/s, 200 broadcasts of
	// 100 channels a second, for 10 s.
	personalRate: 2,
	rateBatch:    100,
	rateRounds:   20,
	churnConns:   1000,
	churners:     8,
	churnPubs:    200, // 10 s at 20/s: a light load, so the churn is what is measured
	churnRate:    20,
	duration:     120 * time.Second,
	settle:       5 * time.Second,
	drain:        10 * time.Second,
	timeout:      5 * time.Minute,
	targets:      true,

	// 3 rounds/s: 30,000 deliveries/s, 300 broadcasts of 100 channels a
	// second, for 10 s. The peer (Centrifugo v6.9.1) carried at most about
	// 37,000/s of these broadcasts here (offered 60,000/s, its core at 99%).
	highRate:   3,
	highRounds: 30,
}

var smoke = sizes{
	idle:     50,
	fanout:   []int{10, 50},
	rated:    []int{10, 50},
	flatPubs: func(int) int { return 100 },
	ratePubs: 30,
	personal: 50,
	rounds:   10,
	// 10 rounds/s of 5 broadcasts of 10 channels, for 1 s.
	personalRate: 10,
	rateBatch:    10,
	rateRounds:   10,
	churnConns:   20,
	churners:     2,
	churnPubs:    100, // 1 s at 100/s
	churnRate:    100,
	duration:     10 * time.Second,
	settle:       200 * time.Millisecond,
	drain:        3 * time.Second,
	timeout:      60 * time.Second,

	// 20 rounds/s of 5 broadcasts of 10 channels, for 1 s.
	highRate:   20,
	highRounds: 20,
}

func target(s sizes, t string) string {
	if !s.targets {
		return ""
	}
	return t
}

// plan lists the steps: idle connections, fan-out flat-out and at 100
// publications/s for several subscriber counts, personal channels by
// broadcast, and churn.
func plan(s sizes) []step {
	var steps []step
	common := []string{"-drain", s.drain.String(), "-duration", s.duration.String()}

	label := fmt.Sprintf("conns-%d", s.idle)
	title := fmt.Sprintf("conns: %s idle subscribed", fmtInt(s.idle))
	steps = append(steps, step{
		Label: label, Title: title, Scenario: "conns", Conns: s.idle, Timeout: s.timeout,
		Args: append([]string{"-settle", s.settle.String()}, common...),
		Rows: []report.Row{
			{Label: label, Title: title, Metric: "server RSS per connection (KB)", Digits: 1, Target: target(s, "< 24 KB"),
				Get: func(r *loadgen.Result) (float64, bool) { return r.RSSPerConnKB, r.RSSAfterKB > 0 }},
			{Label: label, Title: title, Metric: "server RSS (MB)", Digits: 1,
				Get: func(r *loadgen.Result) (float64, bool) { return float64(r.RSSAfterKB) / 1024, r.RSSAfterKB > 0 }},
			{Label: label, Title: title, Metric: "connects/s", Digits: 0, Get: func(r *loadgen.Result) (float64, bool) { return r.ConnectRate, r.ConnectRate > 0 }},
			{Label: label, Title: title, Metric: "connect latency p50 (ms)", Digits: 1, Get: connectLat(func(p *loadgen.Percentiles) float64 { return p.P50 })},
			{Label: label, Title: title, Metric: "connect latency p95 (ms)", Digits: 1, Get: connectLat(func(p *loadgen.Percentiles) float64 { return p.P95 })},
			{Label: label, Title: title, Metric: "connect latency p99 (ms)", Digits: 1, Get: connectLat(func(p *loadgen.Percentiles) float64 { return p.P99 })},
			{Label: label, Title: title, Metric: "server core busy (%)", Digits: 0, Get: serverCPU},
			{Label: label, Title: title, Metric: "loadgen core busy (%)", Digits: 0, Get: loadgenCPU},
		},
	})

	for _, subs := range s.fanout {
		label := fmt.Sprintf("fanout-flat-%d", subs)
		title := fmt.Sprintf("fanout flat-out: %s subscribers", fmtInt(subs))
		dt := ""
		if subs == 5000 {
			dt = target(s, "≥ 480,000 (Memory)")
		}
		steps = append(steps, step{
			Label: label, Title: title, Scenario: "fanout", Conns: subs, Timeout: s.timeout,
			Args: append([]string{"-publications", itoa(s.flatPubs(subs)), "-rate", "0", "-publishers", "2"}, common...),
			Rows: rows(
				[]report.Row{{Label: label, Title: title, Metric: "deliveries/s", Digits: 0, Target: dt, Get: deliveriesPerS}},
				latencyRows(label, title, 1, ""),
				[]report.Row{
					{Label: label, Title: title, Metric: "publications per WebSocket message", Digits: 1,
						Get: func(r *loadgen.Result) (float64, bool) { return r.PubsPerMessage, r.Messages > 0 }},
					{Label: label, Title: title, Metric: "lost", Digits: 0, Target: target(s, "0"), Get: lost},
				}),
		})
	}
	for _, subs := range s.rated {
		label := fmt.Sprintf("fanout-rate100-%d", subs)
		title := fmt.Sprintf("fanout 100 pub/s: %s subscribers", fmtInt(subs))
		pt := ""
		if subs == 1000 {
			pt = target(s, "< 15 ms")
		}
		steps = append(steps, step{
			Label: label, Title: title, Scenario: "fanout", Conns: subs, Timeout: s.timeout,
			Args: append([]string{"-publications", itoa(s.ratePubs), "-rate", "100", "-publishers", "4"}, common...),
			Rows: rows(
				[]report.Row{{Label: label, Title: title, Metric: "deliveries/s", Digits: 0, Get: deliveriesPerS}},
				latencyRows(label, title, 2, pt),
				[]report.Row{
					{Label: label, Title: title, Metric: "latency max (ms)", Digits: 1, Get: pMx},
					{Label: label, Title: title, Metric: "lost", Digits: 0, Target: target(s, "0"), Get: lost},
				}),
		})
	}

	label = fmt.Sprintf("personal-%d", s.personal)
	title = fmt.Sprintf("personal: %s channels, broadcast", fmtInt(s.personal))
	steps = append(steps, step{
		Label: label, Title: title, Scenario: "personal", Conns: s.personal, Timeout: s.timeout,
		Args: append([]string{"-publications", itoa(s.rounds), "-rate", "0", "-method", "broadcast", "-publishers", "2"}, common...),
		Rows: rows(
			[]report.Row{{Label: label, Title: title, Metric: "deliveries/s", Digits: 0, Target: target(s, "≥ 70,000"), Get: deliveriesPerS}},
			latencyRows(label, title, 1, ""),
			[]report.Row{{Label: label, Title: title, Metric: "lost", Digits: 0, Target: target(s, "0"), Get: lost}}),
	})

	// The same flat-out, in broadcasts of rateBatch channels (the issue's
	// peer comparison): a call queues little, so what a publication waits for
	// is the server's backlog, not its own broadcast's length.
	label = fmt.Sprintf("personal-b%d-%d", s.rateBatch, s.personal)
	title = fmt.Sprintf("personal: %s channels, broadcasts of %d, flat-out", fmtInt(s.personal), s.rateBatch)
	steps = append(steps, step{
		Label: label, Title: title, Scenario: "personal", Conns: s.personal, Timeout: s.timeout,
		Args: append([]string{"-publications", itoa(s.rounds), "-rate", "0", "-method", "broadcast",
			"-batch", itoa(s.rateBatch), "-publishers", "4"}, common...),
		Rows: rows(
			[]report.Row{{Label: label, Title: title, Metric: "deliveries/s", Digits: 0, Get: deliveriesPerS}},
			latencyRows(label, title, 1, ""),
			[]report.Row{
				{Label: label, Title: title, Metric: "latency max (ms)", Digits: 1, Get: pMx},
				{Label: label, Title: title, Metric: "lost", Digits: 0, Target: target(s, "0"), Get: lost},
			}),
	})

	// The same channels at fixed offered rates: what a publication's
	// latency is when the server is not saturated.
	steps = append(steps,
		personalRateStep(s, fmt.Sprintf("personal-rate-%d", s.personal), s.personalRate, s.rateRounds, common),
		personalRateStep(s, fmt.Sprintf("personal-high-%d", s.personal), s.highRate, s.highRounds, common))

	label = fmt.Sprintf("churn-%d", s.churnConns)
	title = fmt.Sprintf("churn: %s steady + %d churners, %d pub/s", fmtInt(s.churnConns), s.churners, s.churnRate)
	steps = append(steps, step{
		Label: label, Title: title, Scenario: "churn", Conns: s.churnConns, Timeout: s.timeout,
		Args: append([]string{"-publications", itoa(s.churnPubs), "-rate", itoa(s.churnRate), "-churners", itoa(s.churners), "-publishers", "4"}, common...),
		Rows: []report.Row{
			{Label: label, Title: title, Metric: "connect+subscribe+disconnect/s", Digits: 0,
				Get: func(r *loadgen.Result) (float64, bool) { return r.CyclesPerS, r.Cycles > 0 }},
			{Label: label, Title: title, Metric: "connect+subscribe p99 (ms)", Digits: 1,
				Get: func(r *loadgen.Result) (float64, bool) {
					if r.CycleLatMS == nil {
						return 0, false
					}
					return r.CycleLatMS.P99, true
				}},
			{Label: label, Title: title, Metric: "steady latency p50 (ms)", Digits: 1, Get: p50},
			{Label: label, Title: title, Metric: "steady latency p95 (ms)", Digits: 1, Get: p95},
			{Label: label, Title: title, Metric: "steady latency p99 (ms)", Digits: 1, Get: p99},
			{Label: label, Title: title, Metric: "server core busy (%)", Digits: 0, Get: serverCPU},
			{Label: label, Title: title, Metric: "loadgen core busy (%)", Digits: 0, Get: loadgenCPU},
			{Label: label, Title: title, Metric: "lost (steady subscribers)", Digits: 0, Target: target(s, "0"), Get: lost},
		},
	})
	return steps
}

// personalRateStep broadcasts to s.personal personal channels in batches of
// s.rateBatch channels, rate rounds per second, rounds rounds.
func personalRateStep(s sizes, label string, rate float64, rounds int, common []string) step {
	title := fmt.Sprintf("personal: %s channels, %s deliveries/s (broadcasts of %d)", fmtInt(s.personal), fmtInt(int(rate*float64(s.personal))), s.rateBatch)
	return step{
		Label: label, Title: title, Scenario: "personal", Conns: s.personal, Timeout: s.timeout,
		Args: append([]string{"-publications", itoa(rounds), "-rate", strconv.FormatFloat(rate, 'f', -1, 64),
			"-method", "broadcast", "-batch", itoa(s.rateBatch), "-publishers", "4"}, common...),
		Rows: rows(
			[]report.Row{{Label: label, Title: title, Metric: "deliveries/s", Digits: 0, Get: deliveriesPerS}},
			latencyRows(label, title, 2, ""),
			[]report.Row{
				{Label: label, Title: title, Metric: "latency max (ms)", Digits: 1, Get: pMx},
				{Label: label, Title: title, Metric: "lost", Digits: 0, Target: target(s, "0"), Get: lost},
			}),
	}
}

// charts: throughput and latency against subscribers, per engine.
func charts(engines []string) []report.Chart {
	tp := report.Chart{File: "throughput", Title: "Fan-out flat-out: deliveries per second", YLabel: "deliveries/s"}
	lat := report.Chart{File: "latency", Title: "Fan-out at 100 publications/s: delivery latency", YLabel: "latency (ms)", LogY: true}
	for _, e := range engines {
		tp.Series = append(tp.Series, report.Series{Name: titleCase(e), Engine: e, Prefix: "fanout-flat-", Get: deliveriesPerS})
		lat.Series = append(lat.Series,
			report.Series{Name: titleCase(e) + " p50", Engine: e, Prefix: "fanout-rate100-", Get: p50, Dashed: true},
			report.Series{Name: titleCase(e) + " p99", Engine: e, Prefix: "fanout-rate100-", Get: p99},
		)
	}
	return []report.Chart{tp, lat}
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func fmtInt(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
