// Command benchrun is `make bench`: it runs every load scenario against the
// server with the Memory engine, then with the Redis engine (on a
// redis-server it starts on a free port in a temporary directory), pinning
// the server (and Redis) to one CPU and the load generator to another when
// there are two, and writes into -out:
//
//	results.jsonl   one line per run (the load generator's results)
//	table.md        Memory and Redis side by side (also printed)
//	throughput.png/.svg, latency.png/.svg   charts against subscribers
//	run.json        the machine, how busy it was, versions and commands
//
// Each step gets a fresh server. With -smoke every scenario runs for about a
// second at small sizes (the `make test` harness check) and any lost message,
// failed connection or error fails the run.
package main

import (
	"bytes"
	"debug/buildinfo"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/centrifugehq/centrifuge/bench/internal/loadgen"
	"github.com/centrifugehq/centrifuge/bench/internal/report"
	"github.com/centrifugehq/centrifuge/bench/internal/runner"
)

type options struct {
	serverBin, loadgenBin, redisBin string
	out                             string
	engines                         []string
	smoke                           bool
	only                            *regexp.Regexp
	pin                             bool

	// serverKind is runner.KindCentrifuge (ours) or runner.KindCentrifugo
	// (the peer, built by make bench-peer-build).
	serverKind string
}

// Meta describes the run for RESULTS.md.
type Meta struct {
	Mode          string   `json:"mode"`
	ServerKind    string   `json:"server_kind"`
	Started       string   `json:"started"`
	Finished      string   `json:"finished"`
	CPUModel      string   `json:"cpu_model"`
	CPUs          []int    `json:"cpus"`
	MemTotal      string   `json:"mem_total"`
	Kernel        string   `json:"kernel"`
	GoVersion     string   `json:"go_version"`
	ServerVersion string   `json:"server_version"`
	RedisVersion  string   `json:"redis_version,omitempty"`
	ServerCPU     string   `json:"server_cpu"`
	LoadgenCPU    string   `json:"loadgen_cpu"`
	RedisCPU      string   `json:"redis_cpu"`
	IdleBeforePct float64  `json:"machine_idle_before_pct"`
	IdleAfterPct  float64  `json:"machine_idle_after_pct"`
	LoadAvgBefore string   `json:"loadavg_before"`
	LoadAvgAfter  string   `json:"loadavg_after"`
	TopBefore     []string `json:"top_processes_before"`
	Invocation    string   `json:"invocation"`
	ServerConfig  string   `json:"server_config"`
	Commands      []string `json:"commands"`
	Failures      []string `json:"failures,omitempty"`
}

func main() {
	var o options
	var engines, only string
	flag.StringVar(&o.serverKind, "server-kind", runner.KindCentrifuge, "server under test: "+runner.KindCentrifuge+" (ours) or "+runner.KindCentrifugo+" (the peer, Centrifugo v6: make bench-peer-build)")
	flag.StringVar(&o.serverBin, "server-bin", "", "server binary (default ../bin/centrifuge, make build; with -server-kind centrifugo ../bin/peer/centrifugo)")
	flag.StringVar(&o.loadgenBin, "loadgen-bin", "../bin/loadgen", "load generator binary (go build ./cmd/loadgen)")
	flag.StringVar(&o.redisBin, "redis-bin", "redis-server", "redis-server binary")
	flag.StringVar(&o.out, "out", "results", "directory for results, table and charts")
	flag.StringVar(&engines, "engines", "memory,redis", "engines to run, in order")
	flag.BoolVar(&o.smoke, "smoke", false, "a few seconds of every scenario at small sizes; any loss or error fails")
	flag.StringVar(&only, "only", "", "run only the steps whose label matches this regular expression")
	flag.BoolVar(&o.pin, "pin", true, "pin server and load generator to different CPUs (taskset) when there are two")
	flag.Parse()
	o.engines = strings.Split(engines, ",")
	if o.serverBin == "" {
		o.serverBin = map[string]string{runner.KindCentrifuge: "../bin/centrifuge", runner.KindCentrifugo: "../bin/peer/centrifugo"}[o.serverKind]
	}
	if only != "" {
		o.only = regexp.MustCompile(only)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "benchrun:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if _, _, err := (runner.ServerConfig{Kind: o.serverKind}).Render(); err != nil {
		return err
	}
	for _, b := range []*string{&o.serverBin, &o.loadgenBin} {
		abs, err := filepath.Abs(*b)
		if err != nil {
			return err
		}
		if _, err := os.Stat(abs); err != nil {
			return fmt.Errorf("%s: %w (run make build, or make bench-peer-build for the peer, first)", abs, err)
		}
		*b = abs
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "centrifuge-bench-")
	if err != nil {
		return err
	}
	keepWork := false
	defer func() {
		if keepWork {
			fmt.Fprintf(os.Stderr, "logs kept in %s\n", work)
		} else {
			os.RemoveAll(work)
		}
	}()

	s, mode := full, "full"
	if o.smoke {
		s, mode = smoke, "smoke"
	}
	steps := plan(s)
	if o.only != nil {
		var kept []step
		for _, st := range steps {
			if o.only.MatchString(st.Label) {
				kept = append(kept, st)
			}
		}
		steps = kept
	}

	meta := Meta{Mode: mode, ServerKind: o.serverKind, Started: time.Now().UTC().Format(time.RFC3339), GoVersion: runtime.Version(),
		Invocation: strings.Join(append([]string{"benchrun"}, os.Args[1:]...), " ")}
	for _, eng := range o.engines {
		text, _, _ := runner.ServerConfig{Kind: o.serverKind, Engine: eng, RedisURL: "redis://127.0.0.1:$PORT", Secret: "$SECRET", APIKey: "$API_KEY", MaxQueueSize: maxQueueSize}.Render()
		meta.ServerConfig += text + "\n---\n"
	}
	fillMachine(&meta, o.serverBin)
	serverPin, loadgenPin := runner.Pin{}, runner.Pin{}
	if cpus := meta.CPUs; o.pin && len(cpus) >= 2 {
		if _, err := exec.LookPath("taskset"); err == nil {
			serverPin = runner.Pin{CPU: cpus[0], On: true}
			loadgenPin = runner.Pin{CPU: cpus[1], On: true}
		} else {
			fmt.Fprintln(os.Stderr, "benchrun: taskset not found: running unpinned")
		}
	}
	meta.ServerCPU, meta.LoadgenCPU, meta.RedisCPU = serverPin.String(), loadgenPin.String(), serverPin.String()
	if !o.smoke {
		meta.IdleBeforePct = round1(100 * runner.IdleShare(2*time.Second))
		meta.LoadAvgBefore = loadavg()
		meta.TopBefore = topProcesses()
		fmt.Fprintf(os.Stderr, "machine idle %.0f%% over 2 s before the run; load average %s\n", meta.IdleBeforePct, meta.LoadAvgBefore)
	}
	fmt.Fprintf(os.Stderr, "server (and redis) on CPU %s, load generator on CPU %s\n", serverPin, loadgenPin)

	var results []loadgen.Result
	var failures []string
	for _, eng := range o.engines {
		var redisURL string
		redisPID := 0
		if eng == "redis" {
			dir := filepath.Join(work, "redis")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			r, err := runner.StartRedis(o.redisBin, dir, serverPin)
			if err != nil {
				return fmt.Errorf("redis: %w", err)
			}
			defer r.Stop(5 * time.Second)
			meta.RedisVersion = r.Version
			redisURL = "redis://" + r.Addr
			redisPID = r.PID()
		} else if eng != "memory" {
			return fmt.Errorf("unknown engine %q", eng)
		}
		for _, st := range steps {
			res, cmdline, err := runStep(o, work, eng, redisURL, redisPID, st, serverPin, loadgenPin)
			meta.Commands = append(meta.Commands, cmdline)
			if err != nil {
				keepWork = true
				failures = append(failures, fmt.Sprintf("%s %s: %v", eng, st.Label, err))
				fmt.Fprintf(os.Stderr, "[%s] %s: FAILED: %v\n", eng, st.Label, err)
			}
			if res == nil {
				continue
			}
			results = append(results, *res)
			fmt.Fprintf(os.Stderr, "[%s] %s\n", eng, summary(res))
			if o.smoke && !res.OK {
				keepWork = true
				failures = append(failures, fmt.Sprintf("%s %s: not ok: lost %d, connect failures %d, disconnected %d %v, errors %v",
					eng, st.Label, res.Lost, res.ConnectFail, res.Disconnected, res.DisconnectWhy, res.Errors))
			}
		}
	}
	meta.Failures = failures
	meta.Finished = time.Now().UTC().Format(time.RFC3339)
	if !o.smoke {
		meta.IdleAfterPct = round1(100 * runner.IdleShare(2*time.Second))
		meta.LoadAvgAfter = loadavg()
	}

	// Results, table, charts, meta.
	var jl bytes.Buffer
	for i := range results {
		b, _ := json.Marshal(&results[i])
		jl.Write(append(b, '\n'))
	}
	if err := os.WriteFile(filepath.Join(o.out, "results.jsonl"), jl.Bytes(), 0o644); err != nil {
		return err
	}
	var rows []report.Row
	for _, st := range steps {
		rows = append(rows, st.Rows...)
	}
	table := report.Table(results, rows, o.engines, true)
	var noise []report.Row
	for _, st := range steps {
		noise = append(noise, report.Row{Label: st.Label, Title: st.Title, Metric: "other processes' CPU (% of a core)", Digits: 0,
			Get: func(r *loadgen.Result) (float64, bool) { return r.OtherCPUPct, true }})
	}
	table += "\nOther work on the machine during each step (other engineers' builds and tests share it):\n\n" +
		report.Table(results, noise, o.engines, false)
	if err := os.WriteFile(filepath.Join(o.out, "table.md"), []byte(table), 0o644); err != nil {
		return err
	}
	fmt.Println()
	fmt.Print(table)
	for _, c := range charts(o.engines) {
		files, err := c.Draw(results, o.out)
		if err != nil {
			return err
		}
		if len(files) == 0 && o.smoke {
			failures = append(failures, "chart "+c.File+": no points")
		}
		for _, f := range files {
			fmt.Fprintln(os.Stderr, "wrote", f)
		}
	}
	mb, _ := json.MarshalIndent(meta, "", "  ")
	if err := os.WriteFile(filepath.Join(o.out, "run.json"), append(mb, '\n'), 0o644); err != nil {
		return err
	}
	if len(failures) > 0 {
		return fmt.Errorf("%d failures:\n  %s", len(failures), strings.Join(failures, "\n  "))
	}
	return nil
}

// maxQueueSize is client.max_queue_size: high, so flat-out fan-out measures
// throughput, not the slow-consumer protection.
const maxQueueSize = 256 << 20

// runStep starts a fresh server for one step, runs the load generator against
// it and stops the server.
func runStep(o options, work, eng, redisURL string, redisPID int, st step, serverPin, loadgenPin runner.Pin) (*loadgen.Result, string, error) {
	dir := filepath.Join(work, eng+"-"+st.Label)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	cfg := runner.ServerConfig{
		Kind: o.serverKind, Engine: eng, RedisURL: redisURL,
		Secret: runner.Secret(24), APIKey: runner.Secret(24),
		MaxQueueSize: maxQueueSize,
	}
	srv, err := runner.StartServer(o.serverBin, dir, cfg, serverPin)
	if err != nil {
		return nil, "", err
	}
	defer srv.Stop(20 * time.Second)
	args := []string{
		"-scenario", st.Scenario, "-label", st.Label, "-engine", eng,
		"-server", srv.WSURL(), "-api", srv.HTTPURL(),
		"-api-key", cfg.APIKey, "-secret", cfg.Secret,
		"-server-pid", fmt.Sprint(srv.PID()),
		"-conns", fmt.Sprint(st.Conns), "-timeout", st.Timeout.String(),
	}
	if serverPin.On {
		args = append(args, "-server-cpu", serverPin.String())
	}
	args = append(args, st.Args...)
	cmdline := commandLine(o.loadgenBin, args, loadgenPin, cfg)
	before, t0 := runner.SnapshotProcs(), time.Now()
	lgPID := 0
	line, err := runner.RunLoadgen(o.loadgenBin, args, loadgenPin, st.Timeout+30*time.Second, os.Stderr, func(pid int) { lgPID = pid })
	others, top := runner.Others(before, runner.SnapshotProcs(), os.Getpid(), srv.PID(), lgPID, redisPID)
	wall := time.Since(t0).Seconds()
	var res *loadgen.Result
	if len(line) > 0 {
		res = new(loadgen.Result)
		if jerr := json.Unmarshal(line, res); jerr != nil {
			return nil, cmdline, fmt.Errorf("result %q: %w", line, jerr)
		}
		res.OtherCPUPct = round1(100 * others / wall)
		res.OtherTop = top
	}
	if err != nil {
		return res, cmdline, fmt.Errorf("%w; server log: %s", err, srv.LogTail(500))
	}
	return res, cmdline, nil
}

// commandLine is the load generator's command for the record, secrets elided.
func commandLine(bin string, args []string, pin runner.Pin, cfg runner.ServerConfig) string {
	var parts []string
	if pin.On {
		parts = append(parts, "taskset", "-c", pin.String())
	}
	parts = append(parts, "bin/"+filepath.Base(bin))
	for _, a := range args {
		switch a {
		case cfg.APIKey:
			a = "$API_KEY"
		case cfg.Secret:
			a = "$SECRET"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

func summary(r *loadgen.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:", r.Label)
	if r.ConnectRate > 0 {
		fmt.Fprintf(&b, " %d conns at %.0f/s", r.Conns, r.ConnectRate)
	}
	if r.RSSAfterKB > 0 {
		fmt.Fprintf(&b, ", server RSS %.1f MB (%.1f KB/conn)", float64(r.RSSAfterKB)/1024, r.RSSPerConnKB)
	}
	if r.Expected > 0 {
		fmt.Fprintf(&b, ", %d/%d delivered (%.0f/s, %.1f a message)", r.Delivered, r.Expected, r.DeliveriesPerS, r.PubsPerMessage)
	}
	if r.LatencyMS != nil {
		fmt.Fprintf(&b, ", p50 %.2f p99 %.2f max %.1f ms", r.LatencyMS.P50, r.LatencyMS.P99, r.LatencyMS.Max)
	}
	if r.Cycles > 0 {
		fmt.Fprintf(&b, ", %d churn cycles (%.0f/s)", r.Cycles, r.CyclesPerS)
	}
	fmt.Fprintf(&b, ", lost %d, CPU: server process %.0f%% (core %.0f%%), loadgen process %.0f%% (core %.0f%%)",
		r.Lost, r.ServerCPUPct, r.ServerCoreBusyPct, r.LoadgenCPUPct, r.LoadgenCoreBusyPct)
	if r.OtherCPUPct >= 5 {
		fmt.Fprintf(&b, " [other processes used %.0f%% of a core: %v]", r.OtherCPUPct, r.OtherTop)
	}
	if !r.OK {
		fmt.Fprintf(&b, " [NOT OK: disconnected %d %v, errors %v]", r.Disconnected, r.DisconnectWhy, r.Errors)
	}
	return b.String()
}

func fillMachine(m *Meta, serverBin string) {
	m.CPUs = runner.AllowedCPUs()
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				m.CPUModel = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		l, _, _ := strings.Cut(string(b), "\n")
		m.MemTotal = strings.Join(strings.Fields(strings.TrimPrefix(l, "MemTotal:")), " ")
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if out, err := exec.Command(serverBin, "version").Output(); err == nil {
		m.ServerVersion = strings.TrimSpace(string(out))
	}
	// A binary built by go install (the peer) reports no version of its
	// own ("v0.0.0"); its build information names the module version.
	if bi, err := buildinfo.ReadFile(serverBin); err == nil && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		m.ServerVersion += " (" + bi.Main.Path + " " + bi.Main.Version + ")"
	}
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// topProcesses lists the processes that used CPU over one second (top), to
// show what else ran on the machine.
func topProcesses() []string {
	out, err := exec.Command("top", "-b", "-n", "2", "-d", "1", "-w", "200", "-o", "%CPU").Output()
	if err != nil {
		return nil
	}
	blocks := strings.Split(string(out), "\ntop - ")
	var procs []string
	inTable := false
	for _, l := range strings.Split(blocks[len(blocks)-1], "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && f[0] == "PID" {
			inTable = true
			continue
		}
		if !inTable || len(f) < 12 || f[8] == "0.0" {
			continue
		}
		procs = append(procs, fmt.Sprintf("%s%% %s", f[8], strings.Join(f[11:], " ")))
		if len(procs) == 8 {
			break
		}
	}
	return procs
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }
