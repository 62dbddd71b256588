package app_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/centrifugehq/centrifuge/server/internal/config"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

// TestInvalidUTF8Refused: publication data that is not UTF-8 is refused on
// input (client publish and rpc: 107; server API publish and broadcast: HTTP
// 400), so it never reaches subscribers' WebSocket text frames or history.
func TestInvalidUTF8Refused(t *testing.T) {
	var rpcCalls atomic.Int32
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rpcCalls.Add(1)
		_, _ = w.Write([]byte(`{"result":{"data":{}}}`))
	}))
	defer app.Close()
	s := startServer(t, func(c *config.Config) {
		c.Projects[0].RPCProxy = &structure.Proxy{URL: app.URL}
	})
	sub := dial(t, s.wsURL(""), nil)
	sub.mustCall("connect", map[string]any{"token": token(t, "1", time.Hour)})
	sub.mustCall("subscribe", map[string]any{"channel": "news"})

	c := dial(t, s.wsURL(""), nil)
	c.mustCall("connect", map[string]any{"token": token(t, "42", time.Hour)})
	for i, frame := range []string{
		"{\"id\":100,\"publish\":{\"channel\":\"news\",\"data\":\"\xff\xfe\"}}",
		"{\"id\":101,\"publish\":{\"channel\":\"news\",\"data\":{\"k\":\"a\xc3\"}}}",
		"{\"id\":102,\"rpc\":{\"method\":\"m\",\"data\":\"\xed\xa0\x80\"}}",
	} {
		c.sendRaw(frame)
		r := c.next()
		if r.Error == nil || r.Error.Code != protocol.ErrBadRequest.Code {
			t.Errorf("frame %d: got %+v, want error 107", i, r)
		}
	}
	if n := rpcCalls.Load(); n != 0 {
		t.Errorf("the rpc proxy was called %d times with invalid UTF-8", n)
	}
	for _, body := range []string{
		"{\"channel\":\"news\",\"data\":\"\xff\"}",
		"{\"channels\":[\"news\"],\"data\":{\"x\":\"\xc0\xaf\"}}",
	} {
		method := "publish"
		if bytes.Contains([]byte(body), []byte("channels")) {
			method = "broadcast"
		}
		req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+"/api/"+method, bytes.NewBufferString(body))
		req.Header.Set("X-API-Key", apiKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("api %s with invalid UTF-8: HTTP %d, want 400", method, resp.StatusCode)
		}
	}
	sub.noPush(300 * time.Millisecond)
	if st, out := s.api("history", map[string]any{"channel": "news"}); st != 200 || len(out["result"].(map[string]any)["publications"].([]any)) != 0 {
		t.Errorf("history after refused publications: %d %v", st, out)
	}
}

// TestReadNeedsSubscribeRight: allow_history_for_client and
// allow_presence_for_client let a client read a channel it is not
// subscribed to only when it could subscribe to it: not a private channel,
// not a user-limited channel it is not listed in, not as an anonymous client
// without allow_anonymous.
func TestReadNeedsSubscribeRight(t *testing.T) {
	s := startServer(t, func(c *config.Config) {
		open := structure.ChannelOptions{
			Presence: true, HistorySize: 5, HistoryTTL: dur(time.Minute),
			AllowSubscribeForClient: true, AllowUserLimitedChannels: true,
			AllowHistoryForClient: true, AllowPresenceForClient: true,
		}
		c.Projects[0].Namespaces = append(c.Projects[0].Namespaces, structure.Namespace{Name: "open", Options: open})
		anon := open
		anon.AllowAnonymous = true
		c.Projects[0].Namespaces = append(c.Projects[0].Namespaces, structure.Namespace{Name: "openanon", Options: anon})
	})
	for _, ch := range []string{"open:$secret", "open:dialog#1,2", "open:news", "openanon:news"} {
		s.publish(ch, `{"n":1}`)
	}
	user := dial(t, s.wsURL(""), nil)
	user.mustCall("connect", map[string]any{"token": token(t, "42", time.Hour)})
	anon := dial(t, s.wsURL(""), nil)
	anon.mustCall("connect", map[string]any{"token": token(t, "", time.Hour)})

	for _, tc := range []struct {
		c    *wsClient
		who  string
		ch   string
		want uint32 // 0: allowed
	}{
		{user, "user 42", "open:$secret", protocol.ErrPermissionDenied.Code},
		{user, "user 42", "open:dialog#1,2", protocol.ErrPermissionDenied.Code},
		{user, "user 42", "open:dialog#42,2", 0},
		{user, "user 42", "open:news", 0},
		{anon, "anonymous", "open:news", protocol.ErrPermissionDenied.Code},
		{anon, "anonymous", "openanon:news", 0},
	} {
		for _, m := range []string{"history", "presence", "presence_stats"} {
			r := tc.c.call(m, map[string]any{"channel": tc.ch})
			switch {
			case tc.want == 0 && r.Error != nil:
				t.Errorf("%s %s of %s: error %d, want allowed", tc.who, m, tc.ch, r.Error.Code)
			case tc.want != 0 && (r.Error == nil || r.Error.Code != tc.want):
				t.Errorf("%s %s of %s: got %+v, want error %d", tc.who, m, tc.ch, r.Error, tc.want)
			}
		}
	}
	// A subscriber of the private channel (subscription token) reads it.
	user.mustCall("subscribe", map[string]any{"channel": "open:$secret", "token": subToken(t, "42", "open:$secret", time.Hour)})
	user.mustCall("history", map[string]any{"channel": "open:$secret"})
	user.mustCall("presence", map[string]any{"channel": "open:$secret"})
}

// TestBatchResponseBounded: a batch of 1,000 history commands over a 64 KB
// publication would answer 64 MB; with http.api_max_response_size 1 MB the
// response stays under it and the commands beyond get error 106.
func TestBatchResponseBounded(t *testing.T) {
	const limit = 1 << 20
	s := startServer(t, func(c *config.Config) {
		c.HTTP.APIMaxResponseSize = limit
		c.HTTP.APIMaxBodySize = 1 << 20
		c.Client.MaxPublicationSize = 0
	})
	big := `{"blob":"` + strings.Repeat("x", 64<<10) + `"}`
	if st, out := s.api("publish", map[string]any{"channel": "news", "data": json.RawMessage(big)}); st != 200 || out["error"] != nil {
		t.Fatalf("publish: %d %v", st, out)
	}
	for _, parallel := range []bool{false, true} {
		cmds := make([]map[string]any, 1000)
		for i := range cmds {
			cmds[i] = map[string]any{"history": map[string]any{"channel": "news", "limit": 1}}
		}
		body, _ := json.Marshal(map[string]any{"commands": cmds, "parallel": parallel})
		req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+"/api/batch", bytes.NewReader(body))
		req.Header.Set("X-API-Key", apiKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("batch: %d %v", resp.StatusCode, err)
		}
		if len(raw) > limit+1000*200 {
			t.Fatalf("parallel=%v: response of %d bytes, limit %d", parallel, len(raw), limit)
		}
		var out struct {
			Replies []struct {
				History *json.RawMessage `json:"history"`
				Error   *struct {
					Code    uint32 `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			} `json:"replies"`
		}
		if err := json.Unmarshal(raw, &out); err != nil || len(out.Replies) != 1000 {
			t.Fatalf("parallel=%v: %d replies, %v", parallel, len(out.Replies), err)
		}
		ok, refused := 0, 0
		for _, r := range out.Replies {
			switch {
			case r.History != nil && r.Error == nil:
				ok++
			case r.Error != nil && r.Error.Code == 106 && strings.Contains(r.Error.Message, "api_max_response_size"):
				refused++
			default:
				t.Fatalf("unexpected reply %+v", r)
			}
		}
		if ok == 0 || refused == 0 || ok*(64<<10) > limit {
			t.Errorf("parallel=%v: %d replies, %d refused", parallel, ok, refused)
		}
		t.Logf("parallel=%v: %d bytes, %d history replies, %d refused with 106", parallel, len(raw), ok, refused)
	}
}
