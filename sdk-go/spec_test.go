package centrifuge_test

// The drift check between openapi.yaml and this SDK: every operation has a
// Client method (and, but batch, a Batch method) and nothing else does, and
// calling each with every option sends exactly the request properties the
// spec lists. A new operation or property in the spec fails this test until
// the facade (and the tables below) cover it.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	centrifuge "github.com/centrifugehq/centrifuge/sdk-go"
)

const specPath = "../openapi.yaml"

type spec struct {
	Paths map[string]struct {
		Post *struct {
			OperationID string `yaml:"operationId"`
			RequestBody struct {
				Content map[string]struct {
					Schema struct {
						Ref string `yaml:"$ref"`
					} `yaml:"schema"`
				} `yaml:"content"`
			} `yaml:"requestBody"`
		} `yaml:"post"`
	} `yaml:"paths"`
	Components struct {
		Schemas map[string]struct {
			Properties map[string]any `yaml:"properties"`
		} `yaml:"schemas"`
	} `yaml:"components"`
}

// operation is one server API method of the spec.
type operation struct {
	method string   // wire name: the path without "/", "presence_stats"
	goName string   // facade method: "PresenceStats"
	props  []string // properties of its request schema, sorted
}

func loadOperations(t *testing.T) map[string]operation {
	t.Helper()
	raw, err := os.ReadFile(specPath)
	if os.IsNotExist(err) {
		skipOutsideRepo(t, "openapi.yaml is not here (outside the repository)")
	}
	if err != nil {
		t.Fatal(err)
	}
	var s spec
	if err := yaml.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	ops := map[string]operation{}
	for path, item := range s.Paths {
		if strings.HasPrefix(path, "/admin/") {
			continue // the admin API (tag admin): not part of this client
		}
		if item.Post == nil {
			t.Fatalf("%s: no POST operation", path)
		}
		ref := item.Post.RequestBody.Content["application/json"].Schema.Ref
		schema, ok := s.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")]
		if !ok {
			t.Fatalf("%s: request schema %q not found", path, ref)
		}
		var props []string
		for p := range schema.Properties {
			props = append(props, p)
		}
		sort.Strings(props)
		id := item.Post.OperationID
		op := operation{method: strings.TrimPrefix(path, "/"), goName: strings.ToUpper(id[:1]) + id[1:], props: props}
		ops[op.method] = op
	}
	if len(ops) == 0 {
		t.Fatal("no operations in the spec")
	}
	return ops
}

func exportedMethods(v any, except ...string) []string {
	var out []string
	typ := reflect.TypeOf(v)
	for i := range typ.NumMethod() {
		if name := typ.Method(i).Name; !slices.Contains(except, name) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func TestSpecOperationsHaveMethods(t *testing.T) {
	ops := loadOperations(t)
	var client, batch []string
	for _, op := range ops {
		client = append(client, op.goName)
		if op.method != "batch" {
			batch = append(batch, op.goName)
		}
	}
	sort.Strings(client)
	sort.Strings(batch)
	if got := exportedMethods(&centrifuge.Client{}); !slices.Equal(got, client) {
		t.Errorf("Client methods\n got %v\nwant %v (one per operation of openapi.yaml)", got, client)
	}
	if got := exportedMethods(&centrifuge.Batch{}, "Len", "Commands"); !slices.Equal(got, batch) {
		t.Errorf("Batch methods\n got %v\nwant %v", got, batch)
	}
}

// Every method called with every option, keyed by the wire method name.
var fullCalls = map[string]func(ctx context.Context, c *centrifuge.Client) error{
	"publish": func(ctx context.Context, c *centrifuge.Client) error {
		_, err := c.Publish(ctx, "ch", 1, centrifuge.SkipHistory(), centrifuge.WithTags(map[string]string{"a": "b"}), centrifuge.WithIdempotencyKey("k"), centrifuge.WithDelta())
		return err
	},
	"broadcast": func(ctx context.Context, c *centrifuge.Client) error {
		_, err := c.Broadcast(ctx, []string{"ch"}, 1, centrifuge.SkipHistory(), centrifuge.WithTags(map[string]string{"a": "b"}), centrifuge.WithIdempotencyKey("k"), centrifuge.WithDelta())
		return err
	},
	"subscribe": func(ctx context.Context, c *centrifuge.Client) error {
		return c.Subscribe(ctx, "u", "ch", fullSubscribe...)
	},
	"unsubscribe": func(ctx context.Context, c *centrifuge.Client) error {
		return c.Unsubscribe(ctx, "u", "ch", centrifuge.ForClient("c"))
	},
	"disconnect": func(ctx context.Context, c *centrifuge.Client) error {
		return c.Disconnect(ctx, "u", centrifuge.ForClient("c"), centrifuge.WithDisconnect(4000, "r"), centrifuge.KeepClients("k"))
	},
	"refresh": func(ctx context.Context, c *centrifuge.Client) error {
		return c.Refresh(ctx, "u", centrifuge.ForClient("c"), centrifuge.Expired(), centrifuge.ExpireAt(time.Now().Add(time.Hour)), centrifuge.WithInfo(1))
	},
	"presence": func(ctx context.Context, c *centrifuge.Client) error {
		_, err := c.Presence(ctx, "ch")
		return err
	},
	"presence_stats": func(ctx context.Context, c *centrifuge.Client) error {
		_, err := c.PresenceStats(ctx, "ch")
		return err
	},
	"history": func(ctx context.Context, c *centrifuge.Client) error {
		_, err := c.History(ctx, "ch", centrifuge.WithLimit(1), centrifuge.Since(centrifuge.StreamPosition{Offset: 1, Epoch: "e"}), centrifuge.Reverse())
		return err
	},
	"history_remove": func(ctx context.Context, c *centrifuge.Client) error {
		return c.HistoryRemove(ctx, "ch")
	},
	"channels": func(ctx context.Context, c *centrifuge.Client) error {
		_, err := c.Channels(ctx, centrifuge.WithPattern("*"))
		return err
	},
	"info": func(ctx context.Context, c *centrifuge.Client) error {
		_, err := c.Info(ctx)
		return err
	},
	"batch": func(ctx context.Context, c *centrifuge.Client) error {
		b := fullBatch()
		b.Parallel = true
		_, err := c.Batch(ctx, b)
		return err
	},
}

var yes = true

// fullSubscribe is every option of Subscribe.
var fullSubscribe = []centrifuge.SubscribeOption{
	centrifuge.ForClient("c"), centrifuge.WithSubscribeData(1), centrifuge.WithChannelInfo(2),
	centrifuge.RecoverSince(centrifuge.StreamPosition{Offset: 1, Epoch: "e"}), centrifuge.WithOverride(centrifuge.Override{Presence: &yes}),
}

// alternatives are request properties the SDK sends in place of others
// (never together): base64 forms of data and info. Binary data is b64data
// (TestBinarySendsB64Data); subscribe's data and info are JSON only.
var alternatives = map[string][]string{
	"publish":   {"b64data"},
	"broadcast": {"b64data"},
	"subscribe": {"b64data", "b64info"},
}

// sendable is the spec's properties of method less its alternatives.
func sendable(method string, props []string) []string {
	return slices.DeleteFunc(slices.Clone(props), func(p string) bool { return slices.Contains(alternatives[method], p) })
}

// fullBatch has one command per method, each with every option.
func fullBatch() *centrifuge.Batch {
	var b centrifuge.Batch
	b.Publish("ch", 1, centrifuge.SkipHistory(), centrifuge.WithTags(map[string]string{"a": "b"}), centrifuge.WithIdempotencyKey("k"), centrifuge.WithDelta())
	b.Broadcast([]string{"ch"}, 1, centrifuge.SkipHistory(), centrifuge.WithTags(map[string]string{"a": "b"}), centrifuge.WithIdempotencyKey("k"), centrifuge.WithDelta())
	b.Subscribe("u", "ch", fullSubscribe...)
	b.Unsubscribe("u", "ch", centrifuge.ForClient("c"))
	b.Disconnect("u", centrifuge.ForClient("c"), centrifuge.WithDisconnect(4000, "r"), centrifuge.KeepClients("k"))
	b.Refresh("u", centrifuge.ForClient("c"), centrifuge.Expired(), centrifuge.ExpireAt(time.Now().Add(time.Hour)), centrifuge.WithInfo(1))
	b.Presence("ch")
	b.PresenceStats("ch")
	b.History("ch", centrifuge.WithLimit(1), centrifuge.Since(centrifuge.StreamPosition{Offset: 1, Epoch: "e"}), centrifuge.Reverse())
	b.HistoryRemove("ch")
	b.Channels(centrifuge.WithPattern("*"))
	b.Info()
	return &b
}

func keys(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestSpecRequestProperties(t *testing.T) {
	ops := loadOperations(t)
	var names []string
	for name := range fullCalls {
		names = append(names, name)
	}
	var specNames []string
	for name := range ops {
		specNames = append(specNames, name)
	}
	sort.Strings(names)
	sort.Strings(specNames)
	if !slices.Equal(names, specNames) {
		t.Fatalf("fullCalls covers %v, the spec has %v", names, specNames)
	}

	bodies := map[string]map[string]json.RawMessage{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]json.RawMessage
		_ = json.NewDecoder(r.Body).Decode(&body)
		bodies[strings.TrimPrefix(r.URL.Path, "/api/")] = body
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"result":{},"replies":[]}`))
	}))
	defer srv.Close()
	c, err := centrifuge.New(centrifuge.Config{Addr: srv.URL, APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if err := fullCalls[name](context.Background(), c); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := keys(bodies[name]); !slices.Equal(got, sendable(name, ops[name].props)) {
			t.Errorf("%s sends %v, the spec's request has %v", name, got, ops[name].props)
		}
	}

	// Each batch command is {method: request} with the same properties.
	var commands []map[string]json.RawMessage
	if err := json.Unmarshal(bodies["batch"]["commands"], &commands); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, cmd := range commands {
		if len(cmd) != 1 {
			t.Fatalf("command %v has %d method keys", keys(cmd), len(cmd))
		}
		for method, raw := range cmd {
			var req map[string]json.RawMessage
			if err := json.Unmarshal(raw, &req); err != nil {
				t.Fatal(err)
			}
			if got := keys(req); !slices.Equal(got, sendable(method, ops[method].props)) {
				t.Errorf("batch %s sends %v, the spec's request has %v", method, got, ops[method].props)
			}
			seen[method] = true
		}
	}
	for name := range ops {
		if name != "batch" && !seen[name] {
			t.Errorf("no batch command for %s", name)
		}
	}
}

func TestBinarySendsB64Data(t *testing.T) {
	var body map[string]json.RawMessage
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewDecoder(r.Body).Decode(&body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"result":{}}`))
	}))
	defer srv.Close()
	c, err := centrifuge.New(centrifuge.Config{Addr: srv.URL, APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	for _, call := range []func() error{
		func() error { _, err := c.Publish(context.Background(), "ch", centrifuge.Binary{0, 1}); return err },
		func() error {
			_, err := c.Broadcast(context.Background(), []string{"ch"}, centrifuge.Binary{0, 1})
			return err
		},
	} {
		if err := call(); err != nil {
			t.Fatal(err)
		}
		if string(body["b64data"]) != `"AAE="` || body["data"] != nil {
			t.Errorf("binary data sent as %v", body)
		}
	}
}
