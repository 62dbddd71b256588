package redisstore_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/centrifugehq/centrifuge/server/internal/redistest"
	"github.com/centrifugehq/centrifuge/server/internal/store"
	"github.com/centrifugehq/centrifuge/server/internal/store/redisstore"
	"github.com/centrifugehq/centrifuge/server/internal/store/storetest"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

func prefix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "t" + hex.EncodeToString(b)
}

func client(t *testing.T, url string) redis.UniversalClient {
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestConformance(t *testing.T) {
	r := redistest.Start(t)
	c := client(t, r.URL)
	storetest.Run(t, func(t *testing.T) store.Store { return redisstore.New(c, prefix(), "") })
}

func TestConformanceCluster(t *testing.T) {
	cl := redistest.StartCluster(t, 3)
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.Addrs})
	t.Cleanup(func() { c.Close() })
	storetest.Run(t, func(t *testing.T) store.Store { return redisstore.New(c, prefix(), "") })
}

// TestImportsLegacyList: servers before this store kept the project list as
// one JSON value; a cluster upgraded in place keeps serving those projects.
func TestImportsLegacyList(t *testing.T) {
	r := redistest.Start(t)
	c := client(t, r.URL)
	legacy := []structure.Project{storetest.Project("old")}
	data, _ := json.Marshal(legacy)
	if err := c.Set(t.Context(), "centrifuge.projects", data, 0).Err(); err != nil {
		t.Fatal(err)
	}
	s := redisstore.New(c, "centrifuge", "centrifuge.projects")
	ok, err := s.Seed(t.Context(), []structure.Project{storetest.Project("fromconfig")})
	if err != nil || !ok {
		t.Fatalf("seed: %v %v", ok, err)
	}
	ps, err := s.Load(t.Context())
	if err != nil || len(ps) != 1 || ps[0].Name != "old" {
		t.Fatalf("after seed: %+v %v", ps, err)
	}
}
