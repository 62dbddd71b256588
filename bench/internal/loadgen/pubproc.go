package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"time"
)

// The publisher in a process of its own.
//
// In one Go process, the publishing goroutines share the scheduler with one
// reading goroutine per connection: when a fan-out makes thousands of them
// runnable at once, a publisher whose API reply has arrived waits behind all
// of them, and the load generator's core, not the server, sets the
// publication rate (fan-out to 5,000: the load generator's core 97-98% busy,
// the server's 84-86%). As a process of its own the publisher is scheduled
// by the kernel beside the readers, and it needs little of the core.

// PublisherResult is what a publisher process did (its standard output, one
// JSON line).
type PublisherResult struct {
	// StartNS and EndNS are when publishing started and ended (unix ns).
	StartNS int64  `json:"start_ns"`
	EndNS   int64  `json:"end_ns"`
	OK      int64  `json:"ok"`
	Failed  int64  `json:"failed"`
	Err     string `json:"err,omitempty"`
}

// RunPublisher runs the publishing of cfg's scenario alone: the body of a
// publisher process (fanout only).
func RunPublisher(ctx context.Context, cfg Config) (*PublisherResult, error) {
	cfg.defaults()
	if cfg.Scenario != "fanout" {
		return nil, fmt.Errorf("a publisher process runs the fanout scenario only, not %q", cfg.Scenario)
	}
	api, err := NewAPI(cfg.APIAddr, cfg.APIKey, cfg.Publishers)
	if err != nil {
		return nil, err
	}
	pub := channelPublisher(&cfg, api)
	start := time.Now()
	pub.deadline = start.Add(cfg.Duration)
	ok, failed, firstErr := pub.run(ctx)
	res := &PublisherResult{StartNS: start.UnixNano(), EndNS: time.Now().UnixNano(), OK: ok, Failed: failed}
	if firstErr != nil {
		res.Err = firstErr.Error()
	}
	return res, nil
}

// channelPublisher publishes cfg.Publications into cfg.Channel (fanout, churn).
func channelPublisher(cfg *Config, api *API) *publisher {
	return &publisher{
		workers: cfg.Publishers,
		total:   cfg.Publications,
		perSec:  cfg.Rate,
		call: func(ctx context.Context, k int, buf []byte) ([]byte, error) {
			buf = appendData(buf[:0], time.Now().UnixNano(), uint64(k), cfg.Payload)
			return buf, api.Publish(ctx, cfg.Channel, buf)
		},
	}
}

// publish runs pub, in the process cfg.PublisherCmd when set: it returns the
// calls that succeeded and failed, the first error, and when publishing
// started and how long it took.
func publish(ctx context.Context, cfg *Config, pub *publisher) (ok, failed int64, firstErr error, start time.Time, took time.Duration) {
	if len(cfg.PublisherCmd) == 0 {
		start = time.Now()
		pub.deadline = start.Add(cfg.Duration)
		ok, failed, firstErr = pub.run(ctx)
		return ok, failed, firstErr, start, time.Since(start)
	}
	start = time.Now()
	cmd := exec.CommandContext(ctx, cfg.PublisherCmd[0], cfg.PublisherCmd[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var res PublisherResult
	if err == nil {
		lines := bytes.Split(bytes.TrimSpace(stdout.Bytes()), []byte{'\n'})
		err = json.Unmarshal(lines[len(lines)-1], &res)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("publisher process: %w: %s", err, bytes.TrimSpace(stderr.Bytes())), start, time.Since(start)
	}
	if res.Err != "" {
		firstErr = errors.New(res.Err)
	}
	return res.OK, res.Failed, firstErr, time.Unix(0, res.StartNS), time.Duration(res.EndNS - res.StartNS)
}
