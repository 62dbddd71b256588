package redistest_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/centrifugehq/centrifuge/server/internal/redistest"
)

func TestStartStopRestart(t *testing.T) {
	ctx := context.Background()
	s := redistest.Start(t, redistest.WithArgs("--maxmemory", "10mb"))
	opts, err := redis.ParseURL(s.URL)
	if err != nil {
		t.Fatalf("ParseURL(%q): %v", s.URL, err)
	}
	opts.MaxRetries = -1
	c := redis.NewClient(opts)
	defer c.Close()

	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	if got, err := c.ConfigGet(ctx, "maxmemory").Result(); err != nil || got["maxmemory"] != "10485760" {
		t.Fatalf("CONFIG GET maxmemory: %v %v; WithArgs not applied", got, err)
	}

	s.Stop()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING succeeded after Stop")
	}
	s.Restart()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after Restart: %v", err)
	}
	if n, err := c.Exists(ctx, "k").Result(); err != nil || n != 0 {
		t.Fatalf("EXISTS k after Restart: %d %v; want fresh data", n, err)
	}
}

func TestPauseResume(t *testing.T) {
	ctx := context.Background()
	s := redistest.Start(t)
	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, ReadTimeout: 200 * time.Millisecond})
	defer c.Close()
	s.Pause()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING answered while paused")
	}
	s.Resume()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after Resume: %v", err)
	}
}

func TestStartSentinel(t *testing.T) {
	ctx := context.Background()
	m := redistest.Start(t)
	s := redistest.StartSentinel(t, m, "mymaster")
	c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: s.MasterName, SentinelAddrs: []string{s.Addr}})
	defer c.Close()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET through the sentinel: %v", err)
	}
	direct := redis.NewClient(&redis.Options{Addr: m.Addr})
	defer direct.Close()
	if got, err := direct.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("GET on the master: %q %v", got, err)
	}
}

func TestStartCluster(t *testing.T) {
	ctx := context.Background()
	cl := redistest.StartCluster(t, 3)
	if len(cl.Addrs) != 3 {
		t.Fatalf("Addrs %v, want 3", cl.Addrs)
	}
	opts, err := redis.ParseClusterURL(cl.URL)
	if err != nil {
		t.Fatalf("ParseClusterURL(%q): %v", cl.URL, err)
	}
	if len(opts.Addrs) != 3 {
		t.Fatalf("cluster URL %q names %d nodes, want 3", cl.URL, len(opts.Addrs))
	}
	c := redis.NewClusterClient(opts)
	defer c.Close()

	// Keys spread over every master.
	for i := range 100 {
		if err := c.Set(ctx, "key"+strconv.Itoa(i), i, 0).Err(); err != nil {
			t.Fatalf("SET key%d: %v", i, err)
		}
	}
	// ForEachMaster calls the function concurrently.
	var masters atomic.Int32
	err = c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		n, err := m.DBSize(ctx).Result()
		if err != nil {
			return err
		}
		if n == 0 {
			t.Errorf("master %s holds no key", m.Options().Addr)
		}
		masters.Add(1)
		return nil
	})
	if err != nil {
		t.Fatalf("ForEachMaster: %v", err)
	}
	if n := masters.Load(); n != 3 {
		t.Fatalf("%d masters, want 3", n)
	}
}
