package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/centrifugehq/centrifuge/server/internal/api"
	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/node"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
)

// expectLines checks that the body is one JSON line per want, in order.
func (r reply) expectLines(t *testing.T, want ...string) {
	t.Helper()
	got := strings.Split(strings.TrimSuffix(r.body, "\n"), "\n")
	if len(got) != len(want) {
		t.Fatalf("%d reply lines, want %d:\n%s", len(got), len(want), r.body)
	}
	for i := range want {
		reply{status: r.status, header: r.header, body: got[i]}.expect(t, http.StatusOK, want[i])
	}
}

func TestLinesEndpoint(t *testing.T) {
	ts := newTestServer(t)
	ts.svc.position = engine.StreamPosition{Offset: 2, Epoch: "e"}
	ts.svc.channelErr = map[string]error{"nope:x": protocol.ErrUnknownChannel}
	body := strings.Join([]string{
		`{"method":"publish","params":{"channel":"a","data":{"n":1}}}`,
		``,
		`{"method":"publish","params":{"channel":"nope:x","data":{}}}`,
		`{"method":"rpc","params":{}}`,
		`{"method":"nosuch","params":{}}`,
		`not json`,
		`{"method":"publish","params":{"channel":"a","data":{},"colour":1}}`,
		`{"method":"publish","params":{"channel":"a"},"id":7}`,
		`{"method":"connections","params":{"user":"42"}}`,
		`{"method":"info"}`,
	}, "\n")
	r := ts.post(t, "/api", body, "Authorization", "apikey "+defaultKey)
	r.expectLines(t,
		`{"result":{"offset":2,"epoch":"e"}}`,
		`{"error":{"code":102,"message":"unknown channel"}}`,
		`{"error":{"code":104,"message":"method not found: rpc is Centrifugo's server API RPC (its rpc proxy), not available on this server"}}`,
		`{"error":{"code":104,"message":"method not found: \"nosuch\""}}`,
		`{"error":{"code":107,"message":"malformed JSON: invalid character 'o' in literal null (expecting 'u')"}}`,
		`{"error":{"code":107,"message":"unknown field \"colour\": not supported by this server"}}`,
		`{"error":{"code":107,"message":"unknown field \"id\": not supported by this server"}}`,
		`{"error":{"code":104,"message":"method not found: connections is a Centrifugo PRO method, not available on this server"}}`,
		`{"result":{"nodes":[]}}`,
	)
	ts.expectCalls(t,
		fakeCall{"publish", "default", []any{"a", `{"n":1}`, node.PublishOptions{}}},
		fakeCall{"publish", "default", []any{"nope:x", `{}`, node.PublishOptions{}}},
		fakeCall{"info", "", nil},
	)
}

func TestLinesEndpointPerProjectAndAuth(t *testing.T) {
	ts := newTestServer(t)
	cmd := `{"method":"publish","params":{"channel":"a","data":{}}}`
	ts.post(t, "/api/shop", cmd, "Authorization", "apikey "+shopKey).expectLines(t, `{"result":{}}`)
	ts.expectCalls(t, fakeCall{"publish", "shop", []any{"a", `{}`, node.PublishOptions{}}})

	if r := ts.post(t, "/api/shop", cmd, "Authorization", "apikey "+defaultKey); r.status != http.StatusUnauthorized {
		t.Errorf("another project's key: status %d, want 401", r.status)
	}
	if r := ts.post(t, "/api", cmd); r.status != http.StatusUnauthorized {
		t.Errorf("no key: status %d, want 401", r.status)
	}
	if r := ts.post(t, "/api/nosuch", cmd, "Authorization", "apikey "+defaultKey); r.status != http.StatusNotFound {
		t.Errorf("unknown project: status %d, want 404", r.status)
	}
	many := strings.Repeat("{}\n", api.MaxBatchCommands+1)
	if r := ts.post(t, "/api", many, "Authorization", "apikey "+defaultKey); r.status != http.StatusBadRequest {
		t.Errorf("%d lines: status %d, want 400", api.MaxBatchCommands+1, r.status)
	}
	if r := ts.post(t, "/api", "", "Authorization", "apikey "+defaultKey); r.status != http.StatusOK || r.body != "" {
		t.Errorf("no lines: status %d body %q, want 200 and no lines", r.status, r.body)
	}
}

func TestHistorySinceAnotherEpoch(t *testing.T) {
	ts := newTestServer(t)
	ts.svc.history = engine.HistoryResult{Position: engine.StreamPosition{Offset: 5, Epoch: "new"}}
	ts.call(t, "/api/history", `{"channel":"a","limit":-1,"since":{"offset":3,"epoch":"old"}}`).
		expect(t, http.StatusOK, `{"error":{"code":112,"message":"unrecoverable position: since.epoch \"old\" is not the stream's epoch \"new\" (the stream was lost)"}}`)
	ts.call(t, "/api/history", `{"channel":"a","limit":-1,"since":{"offset":3,"epoch":"new"}}`).
		expect(t, http.StatusOK, `{"result":{"publications":[],"offset":5,"epoch":"new"}}`)
}

func TestHistoryBinaryData(t *testing.T) {
	ts := newTestServer(t)
	ts.svc.history = engine.HistoryResult{Position: engine.StreamPosition{Offset: 2, Epoch: "e"}, Publications: []*engine.Publication{
		{Offset: 1, Data: engine.MarkBinary([]byte{0, 0xff, 0x80, 1})},
		{Offset: 2, Data: []byte(`{"a":1}`)},
	}}
	ts.call(t, "/api/history", `{"channel":"a","limit":-1}`).expect(t, http.StatusOK, `{"result":{"publications":[
		{"data":null,"b64data":"AP+AAQ==","offset":1},{"data":{"a":1},"offset":2}],"offset":2,"epoch":"e"}}`)
}

func TestUnsupportedMethodRoute(t *testing.T) {
	ts := newTestServer(t)
	ts.call(t, "/api/revoke_token", `{"uid":"x"}`).expect(t, http.StatusOK,
		`{"error":{"code":104,"message":"method not found: revoke_token is a Centrifugo PRO method, not available on this server"}}`)
}
