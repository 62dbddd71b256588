package app_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/centrifugehq/centrifuge/server/internal/config"
)

// TestAPIBadInput: every server API operation, fed malformed, mistyped,
// oversized and hostile bodies, answers 4xx (or 200 with an error reply),
// never 5xx, and the server keeps serving.
func TestAPIBadInput(t *testing.T) {
	s := startServer(t, func(c *config.Config) { c.HTTP.APIMaxBodySize = 64 << 10 })
	methods := []string{"publish", "broadcast", "subscribe", "unsubscribe", "disconnect", "refresh", "presence",
		"presence_stats", "history", "history_remove", "channels", "info", "batch", "nope"}
	bodies := map[string]string{
		"truncated":        `{"channel":`,
		"array":            `[]`,
		"string":           `"x"`,
		"null":             `null`,
		"number":           `1e999`,
		"wrong types":      `{"channel":1,"channels":"x","data":[,],"user":{},"limit":"x","commands":{}}`,
		"huge limit":       `{"channel":"news","limit":99999999999999999999,"since":{"offset":-1,"epoch":5}}`,
		"negative":         `{"channel":"news","limit":-5,"since":{"offset":18446744073709551615,"epoch":""}}`,
		"empty channel":    `{"channel":"","channels":[""],"user":"","data":{}}`,
		"bad channel":      `{"channel":"a b\u0001","channels":["` + strings.Repeat("x", 5000) + `"],"data":1}`,
		"unknown ns":       `{"channel":"nope:x","channels":["nope:x"],"data":1,"user":"1"}`,
		"invalid utf8":     "{\"channel\":\"news\",\"data\":\"\xff\"}",
		"deep nesting":     strings.Repeat(`{"a":`, 10000) + `1` + strings.Repeat(`}`, 10000),
		"too large":        `{"channel":"news","data":"` + strings.Repeat("x", 70<<10) + `"}`,
		"nul bytes":        "{\"channel\":\"\x00\",\"data\":\"\\u0000\"}",
		"batch of garbage": `{"commands":[{},{"publish":{}},{"publish":{"channel":"news","data":1},"history":{"channel":"news"}},{"history":{"channel":"$x","limit":-1}},null]}`,
		"disconnect code":  `{"user":"1","disconnect":{"code":99999999,"reason":"` + strings.Repeat("r", 1000) + `"}}`,
		"pattern":          `{"pattern":"[","channel":"*"}`,
	}
	for _, m := range methods {
		for name, body := range bodies {
			for _, ct := range []string{"application/json", "text/plain"} {
				req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+"/api/"+m, bytes.NewBufferString(body))
				req.Header.Set("X-API-Key", apiKey)
				req.Header.Set("Content-Type", ct)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatalf("%s %s: %v", m, name, err)
				}
				out, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode >= 500 {
					t.Errorf("%s with %s (%s): HTTP %d %s", m, name, ct, resp.StatusCode, out)
				}
			}
		}
	}
	if st, out := s.api("info", map[string]any{}); st != 200 {
		t.Fatalf("server not serving after the bad input: %d %v", st, out)
	}
}
