package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/centrifugehq/centrifuge/server/internal/api"
	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/node"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
)

func TestBatch(t *testing.T) {
	for _, parallel := range []bool{false, true} {
		t.Run(fmt.Sprintf("parallel=%v", parallel), func(t *testing.T) {
			ts := newTestServer(t)
			ts.svc.position = engine.StreamPosition{Offset: 3, Epoch: "xyz"}
			ts.svc.stats = engine.PresenceStats{NumClients: 1, NumUsers: 1}
			ts.svc.channelErr = map[string]error{"nope:a": protocol.ErrUnknownChannel}
			body := fmt.Sprintf(`{"parallel":%v,"commands":[
				{"publish":{"channel":"news","data":{"text":"hello"}}},
				{"broadcast":{"channels":["a","nope:a"],"data":1}},
				{"subscribe":{"user":"42","channel":"news"}},
				{"unsubscribe":{"user":"42","channel":"news","client":"c1"}},
				{"disconnect":{"user":"42"}},
				{"refresh":{"user":"42","expire_at":10}},
				{"presence":{"channel":"news"}},
				{"presence_stats":{"channel":"news"}},
				{"history":{"channel":"news"}},
				{"history_remove":{"channel":"news"}},
				{"channels":{}},
				{"info":{}},
				{"publish":{"channel":"nope:a","data":{}}},
				{"publish":{"data":{}}},
				{},
				{"rpc":{"method":"x"}},
				{"publish":{"channel":"a","data":1},"presence":{"channel":"a"}}
			]}`, parallel)
			ts.call(t, "/api/batch", body).expect(t, http.StatusOK, `{"replies":[
				{"publish":{"offset":3,"epoch":"xyz"}},
				{"broadcast":{"responses":[{"result":{"offset":3,"epoch":"xyz"}},{"error":{"code":102,"message":"unknown channel"}}]}},
				{"subscribe":{}},
				{"unsubscribe":{}},
				{"disconnect":{}},
				{"refresh":{}},
				{"presence":{"presence":{}}},
				{"presence_stats":{"num_clients":1,"num_users":1}},
				{"history":{"publications":[],"offset":0,"epoch":""}},
				{"history_remove":{}},
				{"channels":{"channels":{}}},
				{"info":{"nodes":[]}},
				{"error":{"code":102,"message":"unknown channel"}},
				{"error":{"code":107,"message":"channel required"}},
				{"error":{"code":104,"message":"method not found"}},
				{"error":{"code":104,"message":"method not found: rpc is Centrifugo's server API RPC (its rpc proxy), not available on this server"}},
				{"error":{"code":107,"message":"a batch command sets exactly one method, got 2"}}
			]}`)

			calls := map[string]int{}
			for _, c := range ts.svc.Calls() {
				calls[c.Method]++
			}
			want := map[string]int{"publish": 4, "subscribe": 1, "unsubscribe": 1, "disconnect": 1, "refresh": 1,
				"presence": 1, "presence_stats": 1, "history": 1, "history_remove": 1, "channels": 1, "info": 1}
			if fmt.Sprint(calls) != fmt.Sprint(want) {
				t.Errorf("calls = %v, want %v", calls, want)
			}
		})
	}
}

func TestBatchSequentialOrder(t *testing.T) {
	ts := newTestServer(t)
	var cmds []string
	for i := range 50 {
		cmds = append(cmds, fmt.Sprintf(`{"publish":{"channel":"c%d","data":%d}}`, i, i))
	}
	r := ts.post(t, "/api/shop/batch", `{"commands":[`+strings.Join(cmds, ",")+`]}`, "Authorization", "apikey "+shopKey)
	if r.status != http.StatusOK {
		t.Fatalf("status = %d, body %s", r.status, r.body)
	}
	calls := ts.svc.Calls()
	if len(calls) != 50 {
		t.Fatalf("%d calls, want 50", len(calls))
	}
	for i, c := range calls {
		want := fakeCall{"publish", "shop", []any{fmt.Sprintf("c%d", i), fmt.Sprint(i), node.PublishOptions{}}}
		if fmt.Sprint(c) != fmt.Sprint(want) {
			t.Fatalf("call %d = %v, want %v", i, c, want)
		}
	}
}

func TestBatchLimits(t *testing.T) {
	ts := newTestServer(t)
	ts.call(t, "/api/batch", `{"commands":[]}`).expect(t, http.StatusOK, `{"replies":[]}`)
	ts.call(t, "/api/batch", `{}`).expect(t, http.StatusOK, `{"replies":[]}`)

	cmds := strings.Repeat(`{},`, api.MaxBatchCommands) + `{}`
	big := newTestServerWithBodySize(t, 1<<20)
	r := big.call(t, "/api/batch", `{"commands":[`+cmds+`]}`)
	r.expect(t, http.StatusBadRequest, `{"error":{"code":400,"message":"1001 commands, at most 1000 are allowed"}}`)

	cmds = strings.TrimSuffix(strings.Repeat(`{"info":{}},`, api.MaxBatchCommands), ",")
	if r := big.call(t, "/api/batch", `{"parallel":true,"commands":[`+cmds+`]}`); r.status != http.StatusOK ||
		strings.Count(r.body, `"info":{"nodes":[]}`) != api.MaxBatchCommands {
		t.Errorf("batch of %d: status %d, body %.200s", api.MaxBatchCommands, r.status, r.body)
	}
}

// FuzzBatch checks that no request body makes the API fail with a 5xx or
// answer something that is not JSON.
func FuzzBatch(f *testing.F) {
	for _, seed := range []string{
		`{"commands":[{"publish":{"channel":"a","data":{}}}]}`,
		`{"commands":[{"broadcast":{"channels":["a",""],"data":[1,2]}},{"history":{"channel":"a","limit":-1,"since":{"offset":1,"epoch":"e"}}}],"parallel":true}`,
		`{"commands":[{"disconnect":{"user":"1","disconnect":{"code":3000}}},{"channels":{"pattern":"[a-"}},{}]}`,
		`{"commands":[{"refresh":{"user":"1","info":null,"expire_at":-3}}]}`,
		`{"commands":{}}`,
		`[]`,
		``,
	} {
		f.Add(seed)
	}
	ts := newTestServer(f)
	f.Fuzz(func(t *testing.T, body string) {
		r := ts.call(t, "/api/batch", body)
		switch r.status {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d for body %q: %s", r.status, body, r.body)
		}
		if !json.Valid([]byte(r.body)) {
			t.Fatalf("body %q answered with invalid JSON %q", body, r.body)
		}
	})
}
