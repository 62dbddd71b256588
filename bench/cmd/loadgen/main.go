// Command loadgen runs one load scenario against a server that speaks the
// Centrifugo client protocol v2 (JSON over WebSocket) and prints its result as
// one JSON line on standard output.
//
//	loadgen -scenario fanout -server ws://127.0.0.1:8000/connection/websocket \
//	        -api http://127.0.0.1:8000/api -api-key KEY -secret SECRET -conns 1000 -publications 2000
//
// Scenarios: conns (idle subscribed connections: connect rate, server memory
// per connection), fanout (one channel, many subscribers), personal (a channel
// per connection, published by broadcast), churn (connect/subscribe/disconnect
// while publishing). Every loop is bounded by a count and a time; -timeout
// bounds the run.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/centrifugehq/centrifuge/bench/internal/loadgen"
)

func main() {
	exit := 0
	defer func() { os.Exit(exit) }()
	var cfg loadgen.Config
	var out string
	flag.StringVar(&cfg.Scenario, "scenario", "fanout", "scenario: "+strings.Join(loadgen.Scenarios, ", "))
	flag.StringVar(&cfg.WSURL, "server", "ws://127.0.0.1:8000/connection/websocket", "WebSocket endpoint of the server")
	flag.StringVar(&cfg.APIAddr, "api", "http://127.0.0.1:8000", "server HTTP base URL (the API is under /api)")
	flag.StringVar(&cfg.APIKey, "api-key", "", "server API key (X-API-Key)")
	flag.StringVar(&cfg.Tokens.Secret, "secret", "", "project secret: the load generator signs an HS256 connection token per connection (user id = its index)")
	flag.StringVar(&cfg.Tokens.Fixed, "token", "", "one connection token for every connection (instead of -secret)")
	flag.StringVar(&cfg.Label, "label", "", "name of the run in the result")
	flag.StringVar(&cfg.Engine, "engine", "", "label of the server's engine in the result (memory, redis)")
	flag.IntVar(&cfg.ServerPID, "server-pid", 0, "server process id, to read its RSS and CPU time from /proc (same machine)")
	flag.IntVar(&cfg.Conns, "conns", 1000, "connections: idle (conns), subscribers (fanout), personal channels (personal), steady subscribers (churn)")
	flag.StringVar(&cfg.Channel, "channel", "bench", "channel of fanout and churn")
	flag.StringVar(&cfg.ChannelFormat, "channel-format", "", "channel of connection i in conns (default idle-%d) and personal (default user#%d)")
	flag.IntVar(&cfg.Publications, "publications", 1000, "publications (fanout, churn) or broadcast rounds (personal), at most")
	flag.Float64Var(&cfg.Rate, "rate", 0, "publications (rounds) per second; 0 = flat-out")
	flag.DurationVar(&cfg.Duration, "duration", time.Minute, "longest publishing phase (and churn)")
	flag.IntVar(&cfg.Publishers, "publishers", 2, "API calls in flight at once")
	flag.IntVar(&cfg.Payload, "payload", 64, "padding bytes in each publication's data")
	flag.StringVar(&cfg.Method, "method", "broadcast", "personal: broadcast or publish")
	flag.IntVar(&cfg.Batch, "batch", 0, "personal broadcast: channels per call (0 = all)")
	flag.IntVar(&cfg.Churners, "churners", 8, "churn: goroutines connecting and disconnecting in a loop")
	flag.DurationVar(&cfg.Hold, "hold", 0, "churn: how long a churner stays connected; conns: how long to stay after measuring")
	flag.Int64Var(&cfg.MaxCycles, "max-cycles", 1_000_000, "churn: most connect/disconnect cycles")
	flag.DurationVar(&cfg.Settle, "settle", 3*time.Second, "conns: wait after connecting before reading the server's memory")
	flag.DurationVar(&cfg.Drain, "drain", 5*time.Second, "give up on missing deliveries after this long without one")
	flag.IntVar(&cfg.DialConcurrency, "dial-concurrency", 32, "connection attempts in flight")
	flag.DurationVar(&cfg.DialTimeout, "dial-timeout", 10*time.Second, "bound of one connection attempt")
	flag.DurationVar(&cfg.Timeout, "timeout", 10*time.Minute, "bound of the whole run")
	flag.BoolVar(&cfg.Progress, "progress", true, "progress bars on standard error when it is a terminal")
	flag.StringVar(&out, "out", "", "also append the result line to this file")
	serverCPU := flag.Int("server-cpu", -1, "CPU the server is pinned to, to report how busy it was (the kernel's network work included)")
	cpuprofile := flag.String("cpuprofile", "", "write the load generator's CPU profile to this file")
	pubProcess := flag.Bool("publisher-process", true, "fanout: publish from a process of its own, so that the readers of thousands of connections do not delay the publishers in one Go scheduler")
	role := flag.String("role", "", `"publisher": only publish, as the publisher process of a fanout run with the same flags, and print what it did (internal)`)
	flag.Parse()
	if *role == "publisher" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		res, err := loadgen.RunPublisher(ctx, cfg)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen publisher:", err)
			os.Exit(1)
		}
		line, _ := json.Marshal(res)
		fmt.Println(string(line))
		return
	} else if *role != "" {
		fmt.Fprintf(os.Stderr, "loadgen: unknown -role %q\n", *role)
		os.Exit(2)
	}
	if *pubProcess && cfg.Scenario == "fanout" {
		self, err := os.Executable()
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(2)
		}
		// The same flags; the last of a repeated flag wins.
		cfg.PublisherCmd = append(append([]string{self}, os.Args[1:]...), "-role=publisher", "-cpuprofile=", "-out=", "-progress=false")
	}
	if *serverCPU >= 0 {
		cfg.ServerCPUs = []int{*serverCPU}
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(2)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(2)
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	if cfg.Tokens.Secret == "" && cfg.Tokens.Fixed == "" {
		fmt.Fprintln(os.Stderr, "loadgen: -secret or -token is required")
		os.Exit(2)
	}
	if cfg.Scenario != "conns" && cfg.APIKey == "" {
		fmt.Fprintln(os.Stderr, "loadgen: -api-key is required")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := loadgen.Run(ctx, cfg)
	if res != nil {
		line, _ := json.Marshal(res)
		fmt.Println(string(line))
		if out != "" {
			if f, ferr := os.OpenFile(out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); ferr == nil {
				_, _ = f.Write(append(line, '\n'))
				_ = f.Close()
			} else {
				fmt.Fprintln(os.Stderr, "loadgen:", ferr)
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		exit = 1
	}
}
