package app_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/config"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
	"github.com/centrifugehq/centrifuge/server/internal/redistest"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

// redisNodes starts n in-process nodes sharing the Redis at url.
func redisNodes(t *testing.T, n int, mutate func(*config.Config)) []*testServer {
	t.Helper()
	prefix := fmt.Sprintf("t%d", time.Now().UnixNano())
	out := make([]*testServer, n)
	for i := range out {
		out[i] = startServer(t, func(c *config.Config) {
			c.Name = fmt.Sprintf("node-%d", i)
			c.Engine.Type = config.EngineRedis
			c.Engine.RedisPrefix = prefix
			mutate(c)
		})
	}
	return out
}

func testAcrossNodes(t *testing.T, nodes []*testServer) {
	a, b := nodes[0], nodes[1]
	ca, _ := a.connect(t, "1")
	cb, _ := b.connect(t, "2")
	ra := ca.mustCall("subscribe", map[string]any{"channel": "chat:x"}).Subscribe
	cb.mustCall("subscribe", map[string]any{"channel": "chat:x"})

	// A publication through node B's API reaches the client on node A.
	res := b.publish("chat:x", `{"n":1}`)
	if p := ca.pub("chat:x"); p.Offset != 1 || res["epoch"] != ra.Epoch {
		t.Fatalf("offset %d epoch %v, subscribe epoch %s", p.Offset, res["epoch"], ra.Epoch)
	}
	cb.pub("chat:x")

	// Presence on either node lists both clients.
	p := ca.mustCall("presence", map[string]any{"channel": "chat:x"}).Presence.Presence
	if len(p) != 2 {
		t.Fatalf("presence %v", p)
	}
	// History written through A is read through B; recovery on B after a reconnect from A.
	ca.conn.Close()
	b.publish("chat:x", `{"n":2}`)
	a.publish("chat:x", `{"n":3}`)
	cb2, _ := b.connect(t, "1")
	r := cb2.mustCall("subscribe", map[string]any{"channel": "chat:x", "recover": true, "offset": 1, "epoch": ra.Epoch}).Subscribe
	if !r.Recovered || len(r.Publications) != 2 || r.Publications[1].Offset != 3 {
		t.Fatalf("recovery on another node %+v", r)
	}
	// Join pushed from one node to the other (force_push_join_leave on chat:).
	cb.push(func(p *protocol.Push) bool { return p.Join != nil && p.Join.Info.Client != "" && p.Channel == "chat:x" })

	// Disconnect through A closes the user's connection on B.
	a.api("disconnect", map[string]any{"user": "2"})
	cb.expectClose(3503)

	// Info on B lists both nodes (heartbeats every 2 s).
	deadline := time.Now().Add(6 * time.Second)
	for {
		_, out := b.api("info", map[string]any{})
		if nodes := out["result"].(map[string]any)["nodes"].([]any); len(nodes) == len(nodesNames(nodes)) && len(nodes) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("info does not list both nodes: %v", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Channels summed over nodes: cb2 on B is subscribed; subscribe one more on A.
	ca2, _ := a.connect(t, "3")
	ca2.mustCall("subscribe", map[string]any{"channel": "chat:x"})
	_, out := a.api("channels", map[string]any{"pattern": "chat:*"})
	chans := out["result"].(map[string]any)["channels"].(map[string]any)
	if c, _ := chans["chat:x"].(map[string]any); c == nil || c["num_clients"].(float64) != 2 {
		t.Fatalf("channels %v", out)
	}
}

func nodesNames(nodes []any) map[string]bool {
	m := map[string]bool{}
	for _, n := range nodes {
		m[n.(map[string]any)["name"].(string)] = true
	}
	return m
}

func TestRedisEngineNodesActAsOne(t *testing.T) {
	r := redistest.Start(t)
	nodes := redisNodes(t, 2, func(c *config.Config) { c.Engine.RedisURL = r.URL })
	testAcrossNodes(t, nodes)
}

func TestRedisClusterNodesActAsOne(t *testing.T) {
	cl := redistest.StartCluster(t, 3)
	url := "redis://" + cl.Addrs[0] + "?addr=" + strings.Join(cl.Addrs[1:], "&addr=")
	nodes := redisNodes(t, 2, func(c *config.Config) {
		c.Engine.RedisURL = url
		c.Engine.RedisCluster = true
	})
	testAcrossNodes(t, nodes)
}

// TestProjectChangesReachEveryNode changes projects on one node: another node
// serves the change within a second, and a node started later loads it from
// Redis rather than from its own configuration.
func TestProjectChangesReachEveryNode(t *testing.T) {
	r := redistest.Start(t)
	nodes := redisNodes(t, 2, func(c *config.Config) { c.Engine.RedisURL = r.URL })
	a, b := nodes[0], nodes[1]
	cb, _ := b.connect(t, "1")
	cb.callErr("subscribe", map[string]any{"channel": "live:x"}, 102)

	name := testConfig().Projects[0].Name
	if _, err := a.srv.Node().Store().Update(t.Context(), name, func(p *structure.Project) error {
		p.Namespaces = append(p.Namespaces, structure.Namespace{
			Name: "live", Options: structure.ChannelOptions{AllowSubscribeForClient: true, Presence: true},
		})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := a.srv.Node().ProjectsChanged(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The connection opened before the change sees it too.
	deadline := time.Now().Add(time.Second)
	for {
		r := cb.call("subscribe", map[string]any{"channel": "live:x"})
		if r.Error == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node B still refuses the new namespace after 1 s: %+v", r.Error)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A node started later with the old configuration serves the stored projects.
	later := startServer(t, func(c *config.Config) {
		c.Engine.Type = config.EngineRedis
		c.Engine.RedisURL = r.URL
		c.Engine.RedisPrefix = a.srv.Config().Engine.RedisPrefix
	})
	cl, _ := later.connect(t, "1")
	cl.mustCall("subscribe", map[string]any{"channel": "live:y"})

	// Invalid projects are refused and change nothing.
	if _, err := a.srv.Node().Store().Update(t.Context(), name, func(p *structure.Project) error {
		p.Namespaces[0].Name = "?"
		return nil
	}); err == nil {
		t.Fatal("invalid project accepted")
	}
	cl.mustCall("subscribe", map[string]any{"channel": "live:z"})
}

// A Redis restarted without persistence has lost the stored projects: the
// nodes must store theirs again, not take the empty store for every project
// deleted (which closed every connection with 3503 "project deleted").
func TestProjectsSurviveARedisRestartWithoutData(t *testing.T) {
	r := redistest.Start(t)
	nodes := redisNodes(t, 2, func(c *config.Config) { c.Engine.RedisURL = r.URL })
	a, b := nodes[0], nodes[1]
	ca, _ := a.connect(t, "1")
	cb, _ := b.connect(t, "2")
	r.Restart()
	// Both nodes poll the store every second; give them three polls.
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-ca.closed:
			t.Fatalf("node A closed its client after the Redis restart: %v", ca.close)
		case <-cb.closed:
			t.Fatalf("node B closed its client after the Redis restart: %v", cb.close)
		case <-time.After(100 * time.Millisecond):
		}
	}
	v, err := a.srv.Node().Store().Version(t.Context())
	if err != nil || v == 0 {
		t.Fatalf("the store was not seeded again: version %d, %v", v, err)
	}
	ps, err := b.srv.Node().Store().Load(t.Context())
	if err != nil || len(ps) == 0 {
		t.Fatalf("stored projects after the restart: %d, %v", len(ps), err)
	}
	// New connections are served on both nodes.
	a.connect(t, "3")
	b.connect(t, "4")
}

// A broadcast through one node's API to many channels (one message in Redis)
// reaches the subscribers of those channels on every node, once, and no one
// else.
func TestRedisBroadcastReachesEveryNode(t *testing.T) {
	r := redistest.Start(t)
	nodes := redisNodes(t, 2, func(c *config.Config) { c.Engine.RedisURL = r.URL })
	a, b := nodes[0], nodes[1]
	ca, _ := a.connect(t, "1")
	cb, _ := b.connect(t, "2")
	for _, ch := range []string{"bare:1", "bare:5"} {
		ca.mustCall("subscribe", map[string]any{"channel": ch})
	}
	cb.mustCall("subscribe", map[string]any{"channel": "bare:3"})
	cb.mustCall("subscribe", map[string]any{"channel": "bare:20"})
	channels := make([]string, 12)
	for i := range channels {
		channels[i] = fmt.Sprintf("bare:%d", i)
	}
	code, out := b.api("broadcast", map[string]any{"channels": channels, "data": map[string]any{"n": 1}})
	if code != 200 || out["error"] != nil {
		t.Fatalf("broadcast: %d %v", code, out)
	}
	for _, c := range []struct {
		c  *wsClient
		ch string
	}{{ca, "bare:1"}, {ca, "bare:5"}, {cb, "bare:3"}} {
		if p := c.c.pub(c.ch); string(p.Data) != `{"n":1}` {
			t.Fatalf("%s: %s", c.ch, p.Data)
		}
	}
	ca.noPush(200 * time.Millisecond)
	cb.noPush(0)
}
