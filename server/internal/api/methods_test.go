package api_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/engine"
	"github.com/centrifugehq/centrifuge/server/internal/node"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
)

func TestMethods(t *testing.T) {
	for _, tc := range []struct {
		name  string
		path  string
		setup func(*fakeService)
		body  string
		want  string
		calls []fakeCall
	}{
		{
			name:  "publish",
			path:  "/api/publish",
			setup: func(f *fakeService) { f.position = engine.StreamPosition{Offset: 7, Epoch: "xyz"} },
			body:  `{"channel":"chat:index","data":{"text":"hello"},"skip_history":true,"tags":{"kind":"chat"},"idempotency_key":"k1"}`,
			want:  `{"result":{"offset":7,"epoch":"xyz"}}`,
			calls: []fakeCall{{"publish", "default", []any{"chat:index", `{"text":"hello"}`,
				node.PublishOptions{SkipHistory: true, Tags: map[string]string{"kind": "chat"}, IdempotencyKey: "k1"}}}},
		},
		{
			name:  "publish without history",
			path:  "/api/publish",
			body:  `{"channel":"news","data":"text"}`,
			want:  `{"result":{}}`,
			calls: []fakeCall{{"publish", "default", []any{"news", `"text"`, node.PublishOptions{}}}},
		},
		{
			name:  "publish binary data as gocent sends it",
			path:  "/api/publish",
			body:  `{"channel":"news","data":null,"b64data":"AP+AAQ==","delta":true,"version":0,"version_epoch":""}`,
			want:  `{"result":{}}`,
			calls: []fakeCall{{"publish", "default", []any{"news", "\x00\x00\xff\x80\x01", node.PublishOptions{}}}},
		},
		{
			name:  "broadcast binary data",
			path:  "/api/broadcast",
			body:  `{"channels":["a"],"b64data":"AAE="}`,
			want:  `{"result":{"responses":[{"result":{}}]}}`,
			calls: []fakeCall{{"publish", "default", []any{"a", "\x00\x00\x01", node.PublishOptions{}}}},
		},
		{
			name:  "broadcast",
			path:  "/api/broadcast",
			setup: func(f *fakeService) { f.position = engine.StreamPosition{Offset: 1, Epoch: "abc"} },
			body:  `{"channels":["user:1"],"data":{"text":"hello"},"tags":{"t":"v"}}`,
			want:  `{"result":{"responses":[{"result":{"offset":1,"epoch":"abc"}}]}}`,
			calls: []fakeCall{{"publish", "default", []any{"user:1", `{"text":"hello"}`, node.PublishOptions{Tags: map[string]string{"t": "v"}}}}},
		},
		{
			name:  "subscribe",
			path:  "/api/subscribe",
			body:  `{"user":"42","channel":"news","client":"c1"}`,
			want:  `{"result":{}}`,
			calls: []fakeCall{{"subscribe", "default", []any{"42", "news", node.SubscribeOptions{Client: "c1"}}}},
		},
		{
			name: "subscribe with every option (cent)",
			path: "/api/subscribe",
			body: `{"user":"42","channel":"news","info":{"role":"x"},"b64data":"eyJhIjoxfQ==","recover_since":{"offset":3,"epoch":"e"},
				"override":{"presence":{"value":true},"join_leave":{"value":false},"force_push_join_leave":{"value":true},
				"force_positioning":{"value":true},"force_recovery":{"value":true}}}`,
			want: `{"result":{}}`,
			calls: []fakeCall{{"subscribe", "default", []any{"42", "news", node.SubscribeOptions{
				Info: []byte(`{"role":"x"}`), Data: []byte(`{"a":1}`), RecoverSince: &engine.StreamPosition{Offset: 3, Epoch: "e"},
				Override: node.ChannelOverride{Presence: ptr(true), JoinLeave: ptr(false), ForcePushJoinLeave: ptr(true),
					ForcePositioning: ptr(true), ForceRecovery: ptr(true)}}}}},
		},
		{
			name: "subscribe as gocent v3 sends it",
			path: "/api/subscribe",
			body: `{"channel":"news","user":"42","info":{"role":"x"},"presence":true,"join_leave":true,"position":true,"recover":true,"data":{"a":1}}`,
			want: `{"result":{}}`,
			calls: []fakeCall{{"subscribe", "default", []any{"42", "news", node.SubscribeOptions{
				Info: []byte(`{"role":"x"}`), Data: []byte(`{"a":1}`),
				Override: node.ChannelOverride{Presence: ptr(true), JoinLeave: ptr(true), ForcePositioning: ptr(true), ForceRecovery: ptr(true)}}}}},
		},
		{
			name:  "unsubscribe",
			path:  "/api/unsubscribe",
			body:  `{"user":"42","channel":"news"}`,
			want:  `{"result":{}}`,
			calls: []fakeCall{{"unsubscribe", "default", []any{"42", "news", ""}}},
		},
		{
			name:  "disconnect default code",
			path:  "/api/disconnect",
			body:  `{"user":"42"}`,
			want:  `{"result":{}}`,
			calls: []fakeCall{{"disconnect", "default", []any{"42", "", protocol.Disconnect{Code: 3503, Reason: "force disconnect"}, []string(nil)}}},
		},
		{
			name:  "disconnect as gocent v3 sends it",
			path:  "/api/disconnect",
			body:  `{"user":"42","Disconnect":{"code":4000,"reason":"bye","reconnect":false},"ClientWhitelist":["c2"],"client":""}`,
			want:  `{"result":{}}`,
			calls: []fakeCall{{"disconnect", "default", []any{"42", "", protocol.Disconnect{Code: 4000, Reason: "bye"}, []string{"c2"}}}},
		},
		{
			name:  "disconnect with whitelist",
			path:  "/api/disconnect",
			body:  `{"user":"42","whitelist":["c2","c3"]}`,
			want:  `{"result":{}}`,
			calls: []fakeCall{{"disconnect", "default", []any{"42", "", protocol.Disconnect{Code: 3503, Reason: "force disconnect"}, []string{"c2", "c3"}}}},
		},
		{
			name:  "disconnect with code",
			path:  "/api/disconnect",
			body:  `{"user":"42","client":"c1","disconnect":{"code":4500,"reason":"banned"}}`,
			want:  `{"result":{}}`,
			calls: []fakeCall{{"disconnect", "default", []any{"42", "c1", protocol.Disconnect{Code: 4500, Reason: "banned"}, []string(nil)}}},
		},
		{
			name: "refresh",
			path: "/api/refresh",
			body: `{"user":"42","client":"c1","expire_at":1767225600,"info":{"name":"Alice"}}`,
			want: `{"result":{}}`,
			calls: []fakeCall{{"refresh", "default", []any{"42", "c1",
				node.RefreshOptions{ExpireAt: 1767225600, Info: []byte(`{"name":"Alice"}`)}}}},
		},
		{
			name: "presence",
			path: "/api/presence",
			setup: func(f *fakeService) {
				f.presence = map[string]*engine.ClientInfo{
					"c1": {User: "42", Client: "c1", ConnInfo: []byte(`{"name":"Alice"}`), ChanInfo: []byte(`{"role":"admin"}`)},
					"c2": {User: "", Client: "c2"},
				}
			},
			body: `{"channel":"chat:index"}`,
			want: `{"result":{"presence":{
				"c1":{"client":"c1","user":"42","conn_info":{"name":"Alice"},"chan_info":{"role":"admin"}},
				"c2":{"client":"c2","user":""}}}}`,
			calls: []fakeCall{{"presence", "default", []any{"chat:index"}}},
		},
		{
			name:  "presence empty",
			path:  "/api/presence",
			body:  `{"channel":"chat:index"}`,
			want:  `{"result":{"presence":{}}}`,
			calls: []fakeCall{{"presence", "default", []any{"chat:index"}}},
		},
		{
			name:  "presence_stats",
			path:  "/api/presence_stats",
			setup: func(f *fakeService) { f.stats = engine.PresenceStats{NumClients: 3, NumUsers: 2} },
			body:  `{"channel":"chat:index"}`,
			want:  `{"result":{"num_clients":3,"num_users":2}}`,
			calls: []fakeCall{{"presence_stats", "default", []any{"chat:index"}}},
		},
		{
			name: "history",
			path: "/api/history",
			setup: func(f *fakeService) {
				f.history = engine.HistoryResult{
					Publications: []*engine.Publication{
						{Offset: 7, Data: []byte(`{"text":"there"}`), Info: &engine.ClientInfo{User: "42", Client: "c1"}, Tags: map[string]string{"kind": "chat"}},
						{Offset: 6, Data: []byte(`{"text":"hi"}`)},
					},
					Position: engine.StreamPosition{Offset: 7, Epoch: "xyz"},
				}
			},
			body: `{"channel":"chat:index","limit":2,"since":{"offset":5,"epoch":"xyz"},"reverse":true}`,
			want: `{"result":{"publications":[
				{"data":{"text":"there"},"info":{"client":"c1","user":"42"},"offset":7,"tags":{"kind":"chat"}},
				{"data":{"text":"hi"},"offset":6}],"offset":7,"epoch":"xyz"}}`,
			calls: []fakeCall{{"history", "default", []any{"chat:index",
				engine.HistoryOptions{Since: &engine.StreamPosition{Offset: 5, Epoch: "xyz"}, Limit: 2, Reverse: true}}}},
		},
		{
			name: "history position only",
			path: "/api/history",
			setup: func(f *fakeService) {
				f.history = engine.HistoryResult{Position: engine.StreamPosition{Offset: 3, Epoch: "e"}}
			},
			body:  `{"channel":"chat:index"}`,
			want:  `{"result":{"publications":[],"offset":3,"epoch":"e"}}`,
			calls: []fakeCall{{"history", "default", []any{"chat:index", engine.HistoryOptions{}}}},
		},
		{
			name:  "history negative limit means all",
			path:  "/api/history",
			body:  `{"channel":"chat:index","limit":-5}`,
			want:  `{"result":{"publications":[],"offset":0,"epoch":""}}`,
			calls: []fakeCall{{"history", "default", []any{"chat:index", engine.HistoryOptions{Limit: -1}}}},
		},
		{
			name:  "history_remove",
			path:  "/api/history_remove",
			body:  `{"channel":"chat:index"}`,
			want:  `{"result":{}}`,
			calls: []fakeCall{{"history_remove", "default", []any{"chat:index"}}},
		},
		{
			name:  "channels",
			path:  "/api/channels",
			setup: func(f *fakeService) { f.channels = map[string]int{"chat:index": 3, "chat:2": 1} },
			body:  `{"pattern":"chat:*"}`,
			want:  `{"result":{"channels":{"chat:index":{"num_clients":3},"chat:2":{"num_clients":1}}}}`,
			calls: []fakeCall{{"channels", "default", []any{"chat:*"}}},
		},
		{
			name:  "channels without pattern",
			path:  "/api/channels",
			body:  `{}`,
			want:  `{"result":{"channels":{}}}`,
			calls: []fakeCall{{"channels", "default", []any{""}}},
		},
		{
			name: "info",
			path: "/api/info",
			setup: func(f *fakeService) {
				f.nodes = []node.NodeInfo{{UID: "u1", Name: "node-1", Version: "1.0.0", NumClients: 3, NumUsers: 2,
					NumSubs: 5, NumChannels: 4, Uptime: 90*time.Second + 500*time.Millisecond,
					Metrics: map[string]float64{"node.clients": 3}, MetricsInterval: 2 * time.Second}}
			},
			body: `{}`,
			want: `{"result":{"nodes":[{"uid":"u1","name":"node-1","version":"1.0.0","num_clients":3,"num_users":2,
				"num_subs":5,"num_channels":4,"uptime":90,"metrics":{"interval":2,"items":{"node.clients":3}}}]}}`,
			calls: []fakeCall{{"info", "", nil}},
		},
		{
			name:  "info with empty body",
			path:  "/api/info",
			body:  ``,
			want:  `{"result":{"nodes":[]}}`,
			calls: []fakeCall{{"info", "", nil}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t)
			if tc.setup != nil {
				tc.setup(ts.svc)
			}
			ts.call(t, tc.path, tc.body).expect(t, http.StatusOK, tc.want)
			ts.expectCalls(t, tc.calls...)
		})
	}
}

func TestRawJSONPassesThroughUntouched(t *testing.T) {
	ts := newTestServer(t)
	data := `{ "html" : "<b>&</b>", "n": 1.50 }`
	ts.call(t, "/api/publish", `{"channel":"a","data":`+data+`}`).expect(t, http.StatusOK, `{"result":{}}`)
	ts.expectCalls(t, fakeCall{"publish", "default", []any{"a", data, node.PublishOptions{}}})

	ts.svc.history = engine.HistoryResult{Publications: []*engine.Publication{{Offset: 1, Data: []byte(`{"html":"<b>&</b>","n":1.50}`)}}}
	r := ts.call(t, "/api/history", `{"channel":"a","limit":-1}`)
	if !strings.Contains(r.body, `"data":{"html":"<b>&</b>","n":1.50}`) {
		t.Errorf("history body %s does not carry the data as published", r.body)
	}
}

func TestBadRequests(t *testing.T) {
	for _, tc := range []struct{ path, body, msg string }{
		{"/api/publish", `{"data":{}}`, "channel required"},
		{"/api/publish", `{"channel":"a"}`, "data or b64data required"},
		{"/api/publish", `{"channel":"a","data":null}`, "data or b64data required"},
		{"/api/publish", ``, "channel required"},
		{"/api/publish", `{"channel":"a","data":{},"b64data":"AAE="}`, "data and b64data are both set: send one of them"},
		{"/api/publish", `{"channel":"a","b64data":"%%%"}`, "b64data: not valid base64: illegal base64 data at input byte 0"},
		{"/api/publish", `{"channel":"a","data":{},"version":3}`, "version: not supported by this server (versioned publications)"},
		{"/api/publish", `{"channel":"a","data":{},"version_epoch":"x"}`, "version_epoch: not supported by this server (versioned publications)"},
		{"/api/publish", `{"channel":"a","data":{},"colour":"red"}`, `unknown field "colour": not supported by this server`},
		{"/api/broadcast", `{"channels":[],"data":{}}`, "channels required"},
		{"/api/broadcast", `{"channels":["a"]}`, "data or b64data required"},
		{"/api/broadcast", `{"channels":["a"],"data":{},"b64data":"AAE="}`, "data and b64data are both set: send one of them"},
		{"/api/subscribe", `{"channel":"a"}`, "user and channel required"},
		{"/api/subscribe", `{"user":"42"}`, "user and channel required"},
		{"/api/subscribe", `{"user":"42","channel":"a","session":"s1"}`, "session: not supported by this server (sessions are not tracked: use client)"},
		{"/api/subscribe", `{"user":"42","channel":"a","expire_at":1767225600}`, "expire_at: not supported by this server (server-side subscriptions do not expire)"},
		{"/api/subscribe", `{"user":"42","channel":"a","info":{},"b64info":"e30="}`, "info and b64info are both set: send one of them"},
		{"/api/subscribe", `{"user":"42","channel":"a","b64data":"AAE="}`, "b64data: the decoded bytes must be JSON (clients speak JSON here)"},
		{"/api/subscribe", `{"user":"42","channel":"a","override":{"presence":{"value":false}},"presence":true}`, "override.presence and presence contradict each other"},
		{"/api/subscribe", `{"user":"42","channel":"a","override":{"force_recovery":{"value":true}},"recover":false}`, "override.force_recovery and recover contradict each other"},
		{"/api/unsubscribe", `{"user":"42"}`, "user and channel required"},
		{"/api/unsubscribe", `{"user":"42","channel":"a","session":"s1"}`, "session: not supported by this server (sessions are not tracked: use client)"},
		{"/api/disconnect", `{"client":"c1"}`, "user required"},
		{"/api/disconnect", `{"user":"42","disconnect":{"code":1000,"reason":"normal"}}`, "disconnect.code must be within 3000-4999"},
		{"/api/disconnect", `{"user":"42","disconnect":{"code":4000,"reason":"` + strings.Repeat("r", 124) + `"}}`, "disconnect.reason longer than 123 bytes"},
		{"/api/disconnect", `{"user":"42","disconnect":{"code":4500,"reason":"x","reconnect":true}}`, "disconnect.reconnect is true but code 4500 is terminal (3500-3999, 4500-4999): clients do not reconnect"},
		{"/api/disconnect", `{"user":"42","whitelist":["a"],"ClientWhitelist":["b"]}`, "whitelist and ClientWhitelist are both set: send one of them"},
		{"/api/disconnect", `{"user":"42","client":"c1","whitelist":["c1"]}`, `client "c1" is in the whitelist: nothing to disconnect`},
		{"/api/disconnect", `{"user":"42","session":"s"}`, "session: not supported by this server (sessions are not tracked: use client)"},
		{"/api/refresh", `{"client":"c1"}`, "user required"},
		{"/api/refresh", `{"user":"42","expire_at":-1}`, "expire_at must not be negative"},
		{"/api/refresh", `{"user":"42","expired":true,"expire_at":5}`, "expired and expire_at contradict each other: send one of them"},
		{"/api/presence", `{}`, "channel required"},
		{"/api/presence_stats", `{}`, "channel required"},
		{"/api/history", `{"limit":10}`, "channel required"},
		{"/api/history_remove", `{}`, "channel required"},
		{"/api/channels", `{"pattern":"chat:["}`, "bad pattern: syntax error in pattern"},
		{"/api/info", `{"verbose":true}`, `unknown field "verbose": not supported by this server`},
	} {
		t.Run(strings.TrimPrefix(tc.path, "/api/")+" "+tc.body, func(t *testing.T) {
			ts := newTestServer(t)
			want, _ := json.Marshal(map[string]any{"error": map[string]any{"code": 107, "message": tc.msg}})
			ts.call(t, tc.path, tc.body).expect(t, http.StatusOK, string(want))
			ts.expectCalls(t)
		})
	}
}

func TestMethodErrors(t *testing.T) {
	ts := newTestServer(t)
	ts.svc.err = protocol.ErrUnknownChannel
	ts.call(t, "/api/publish", `{"channel":"nope:a","data":{}}`).
		expect(t, http.StatusOK, `{"error":{"code":102,"message":"unknown channel"}}`)

	ts.svc.err = protocol.ErrNotAvailable.WithMessage("presence is off in this namespace")
	ts.call(t, "/api/presence", `{"channel":"a"}`).
		expect(t, http.StatusOK, `{"error":{"code":108,"message":"presence is off in this namespace"}}`)

	// Wrapped protocol errors keep their code.
	ts.svc.err = errors.Join(errors.New("context"), protocol.ErrPermissionDenied)
	ts.call(t, "/api/subscribe", `{"user":"42","channel":"a"}`).
		expect(t, http.StatusOK, `{"error":{"code":103,"message":"permission denied"}}`)

	// Anything else is an internal error, logged with the request id.
	ts.svc.err = errors.New("redis: connection refused")
	r := ts.call(t, "/api/history_remove", `{"channel":"a"}`)
	r.expect(t, http.StatusOK, `{"error":{"code":100,"message":"internal server error"}}`)
	id := r.header.Get("X-Request-Id")
	if id == "" {
		t.Fatal("no X-Request-Id header")
	}
	logs := ts.logs.String()
	if !regexp.MustCompile(`request_id=` + id + `.*method=history_remove.*redis: connection refused`).MatchString(logs) {
		t.Errorf("logs %q lack the internal error with request id %s", logs, id)
	}
	if strings.Contains(r.body, "redis") {
		t.Errorf("body %s leaks the internal error", r.body)
	}
}

func TestBroadcastPartialFailure(t *testing.T) {
	ts := newTestServer(t)
	ts.svc.position = engine.StreamPosition{Offset: 4, Epoch: "e"}
	ts.svc.channelErr = map[string]error{
		"nope:x": protocol.ErrUnknownChannel,
		"broken": errors.New("engine: timeout"),
	}
	ts.call(t, "/api/broadcast", `{"channels":["a","nope:x","","broken","b"],"data":{"n":1},"skip_history":true}`).
		expect(t, http.StatusOK, `{"result":{"responses":[
			{"result":{"offset":4,"epoch":"e"}},
			{"error":{"code":102,"message":"unknown channel"}},
			{"error":{"code":107,"message":"channel required"}},
			{"error":{"code":100,"message":"internal server error"}},
			{"result":{"offset":4,"epoch":"e"}}]}}`)

	published := map[string]bool{}
	for _, c := range ts.svc.Calls() {
		if c.Method != "publish" || c.Project != "default" || c.Args[1] != `{"n":1}` ||
			!reflect.DeepEqual(c.Args[2], node.PublishOptions{SkipHistory: true}) {
			t.Errorf("unexpected call %#v", c)
		}
		published[c.Args[0].(string)] = true
	}
	if len(published) != 4 {
		t.Errorf("published to %v, want a, nope:x, broken and b", published)
	}
	if !strings.Contains(ts.logs.String(), "engine: timeout") {
		t.Errorf("the internal error of one channel is not logged: %s", ts.logs.String())
	}
}

func ptr[T any](v T) *T { return &v }
