package app_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
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
