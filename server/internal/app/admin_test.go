package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/centrifugehq/centrifuge/server/internal/app"
	"github.com/centrifugehq/centrifuge/server/internal/auth"
	"github.com/centrifugehq/centrifuge/server/internal/config"
	"github.com/centrifugehq/centrifuge/server/internal/redistest"
)

const (
	adminPassword = "admin-password-for-tests"
	adminToken    = "admin-token-0123456789abcdef0123456789"
)

func withAdmin(c *config.Config) {
	c.Admin.Password = adminPassword
	c.Admin.Tokens = []string{adminToken}
}

// startLogged starts a server whose debug log goes to the returned buffer.
func startLogged(t *testing.T, mutate ...func(*config.Config)) (*testServer, *syncBuffer) {
	t.Helper()
	cfg := testConfig()
	for _, m := range mutate {
		m(&cfg)
	}
	buf := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := app.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := srv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return &testServer{t: t, srv: srv, addr: addr}, buf
}

// adminClient calls the admin API with a session (cookie + CSRF) or a token.
type adminClient struct {
	t      *testing.T
	base   string
	cookie string
	csrf   string
	token  string
}

func (s *testServer) adminWithToken(t *testing.T) *adminClient {
	return &adminClient{t: t, base: "http://" + s.addr, token: adminToken}
}

func (s *testServer) adminLogin(t *testing.T) *adminClient {
	t.Helper()
	a := &adminClient{t: t, base: "http://" + s.addr}
	resp, body := a.raw("POST", "/admin/api/login", `{"password":"`+adminPassword+`"}`, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("login: %d %s (Cache-Control %q)", resp.StatusCode, body, resp.Header.Get("Cache-Control"))
	}
	for _, c := range resp.Cookies() {
		if c.Name == "centrifuge_admin" {
			a.cookie = c.Value
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/admin" || c.Secure {
				t.Fatalf("cookie attributes: %+v", c)
			}
		}
	}
	var se struct {
		CSRF    string    `json:"csrf_token"`
		Expires time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal(body, &se); err != nil || a.cookie == "" || se.CSRF == "" || se.Expires.Before(time.Now()) {
		t.Fatalf("login answer %s (cookie %q)", body, a.cookie)
	}
	a.csrf = se.CSRF
	return a
}

// raw makes a request with the client's credentials plus header.
func (a *adminClient) raw(method, path, body string, header http.Header) (*http.Response, []byte) {
	a.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, a.base+path, r)
	if err != nil {
		a.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	if a.cookie != "" {
		req.AddCookie(&http.Cookie{Name: "centrifuge_admin", Value: a.cookie})
		if a.csrf != "" {
			req.Header.Set("X-CSRF-Token", a.csrf)
		}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// do makes a request and decodes the JSON answer, checking the status.
func (a *adminClient) do(method, path, body string, want int) map[string]any {
	a.t.Helper()
	resp, b := a.raw(method, path, body, nil)
	if resp.StatusCode != want {
		a.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	var m map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			a.t.Fatalf("%s %s: not JSON: %s", method, path, b)
		}
		checkAnswer(a.t, method, path, resp.StatusCode, m)
	}
	return m
}

// adminRoutes lists every admin operation of openapi.yaml (tag admin) with a
// concrete path.
func adminRoutes(t *testing.T) [][2]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	var out [][2]string
	for p, ops := range spec.Paths {
		if !strings.HasPrefix(p, "/admin/api/") {
			continue
		}
		for m := range ops {
			switch m {
			case "get", "post", "patch", "delete", "put":
				path := strings.NewReplacer("{project}", "default", "{namespace}", "chat", "{method}", "info").Replace(p)
				out = append(out, [2]string{strings.ToUpper(m), path})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][1]+out[i][0] < out[j][1]+out[j][0] })
	if len(out) < 19 {
		t.Fatalf("only %d admin operations in openapi.yaml", len(out))
	}
	return out
}

func TestAdminNoRouteAnswersWithoutSessionOrToken(t *testing.T) {
	s := startServer(t, withAdmin)
	anon := &adminClient{t: t, base: "http://" + s.addr}
	wrongToken := &adminClient{t: t, base: "http://" + s.addr, token: "not-the-admin-token-0123456789abcdef"}
	forged := &adminClient{t: t, base: "http://" + s.addr, cookie: "0123.9999999999.forged", csrf: "x"}
	for _, r := range adminRoutes(t) {
		if r[1] == "/admin/api/login" {
			continue
		}
		for name, c := range map[string]*adminClient{"anonymous": anon, "wrong token": wrongToken, "forged cookie": forged} {
			resp, body := c.raw(r[0], r[1], `{}`, nil)
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), `"message"`) {
				t.Errorf("%s %s (%s): %d %s, want 401 with a message", r[0], r[1], name, resp.StatusCode, body)
			}
			var m any
			_ = json.Unmarshal(body, &m)
			checkAnswer(t, r[0], r[1], resp.StatusCode, m)
		}
	}
	// The same routes answer with the token: the list is not vacuous.
	tok := s.adminWithToken(t)
	if resp, _ := tok.raw("GET", "/admin/api/projects/default", "", nil); resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("project answer: %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	if p := tok.do("GET", "/admin/api/projects/default", "", 200); p["secret"] != secret {
		t.Fatalf("project: %v", p)
	}
}

func TestAdminCSRF(t *testing.T) {
	s := startServer(t, withAdmin)
	a := s.adminLogin(t)
	noCSRF := &adminClient{t: t, base: a.base, cookie: a.cookie}
	// Reads need no CSRF token.
	noCSRF.do("GET", "/admin/api/projects", "", 200)
	noCSRF.do("GET", "/admin/api/session", "", 200)
	for _, r := range adminRoutes(t) {
		if r[0] == "GET" || r[1] == "/admin/api/login" {
			continue
		}
		resp, body := noCSRF.raw(r[0], r[1], `{"name":"csrf"}`, nil)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "missing or wrong CSRF token") {
			t.Errorf("%s %s without CSRF token: %d %s", r[0], r[1], resp.StatusCode, body)
		}
		var m any
		_ = json.Unmarshal(body, &m)
		checkAnswer(t, r[0], r[1], resp.StatusCode, m)
	}
	// A cross-site form post: the browser sends the cookie (were it not
	// SameSite) but cannot set the header.
	resp, body := noCSRF.raw("POST", "/admin/api/projects", "name=evil&secret=0123456789abcdef0123",
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Origin": {"https://evil.example"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site form post: %d %s", resp.StatusCode, body)
	}
	wrong := &adminClient{t: t, base: a.base, cookie: a.cookie, csrf: "wrong"}
	wrong.do("POST", "/admin/api/projects", `{"name":"csrf"}`, 403)
	// A token of another session does not fit this one.
	b := s.adminLogin(t)
	mixed := &adminClient{t: t, base: a.base, cookie: a.cookie, csrf: b.csrf}
	mixed.do("POST", "/admin/api/projects", `{"name":"csrf"}`, 403)
	if _, err := s.srv.Node().Store().Get(t.Context(), "csrf"); err == nil {
		t.Fatal("a refused request created the project")
	}
	a.do("POST", "/admin/api/projects", `{"name":"csrf"}`, 201)
}

func TestAdminLoginRateLimitedPerAddress(t *testing.T) {
	s := startServer(t, withAdmin, func(c *config.Config) {
		c.Admin.LoginAttempts = 3
		c.Admin.LoginWindow = dur(2 * time.Second)
	})
	a := &adminClient{t: t, base: "http://" + s.addr}
	for range 3 {
		if m := a.do("POST", "/admin/api/login", `{"password":"wrong-password"}`, 401); m["error"].(map[string]any)["message"] != "wrong password" {
			t.Fatalf("wrong password answer: %v", m)
		}
	}
	resp, body := a.raw("POST", "/admin/api/login", `{"password":"`+adminPassword+`"}`, nil)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" ||
		!strings.Contains(string(body), "too many attempts, try again in") {
		t.Fatalf("4th attempt: %d %s (Retry-After %q)", resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
	// Forwarded headers do not open a new allowance.
	resp, _ = a.raw("POST", "/admin/api/login", `{"password":"`+adminPassword+`"}`, http.Header{"X-Forwarded-For": {"10.1.2.3"}, "X-Real-Ip": {"10.1.2.3"}})
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("with X-Forwarded-For: %d", resp.StatusCode)
	}
	time.Sleep(2100 * time.Millisecond)
	s.adminLogin(t)
}

func TestAdminSessionsExpireAndLogOut(t *testing.T) {
	s := startServer(t, withAdmin, func(c *config.Config) { c.Admin.SessionTTL = dur(1500 * time.Millisecond) })
	a := s.adminLogin(t)
	a.do("GET", "/admin/api/projects", "", 200)
	time.Sleep(2 * time.Second)
	a.do("GET", "/admin/api/projects", "", 401)

	// Behind a TLS-terminating proxy the cookie is Secure.
	resp, _ := (&adminClient{t: t, base: a.base}).raw("POST", "/admin/api/login", `{"password":"`+adminPassword+`"}`, http.Header{"X-Forwarded-Proto": {"https"}})
	if cs := resp.Cookies(); len(cs) != 1 || !cs[0].Secure {
		t.Fatalf("cookie over https: %+v", cs)
	}

	b := s.adminLogin(t)
	resp, _ = b.raw("POST", "/admin/api/logout", "", nil)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	cleared := false
	for _, c := range resp.Cookies() {
		cleared = cleared || (c.Name == "centrifuge_admin" && c.MaxAge < 0)
	}
	if !cleared {
		t.Fatal("logout did not clear the cookie")
	}
	b.do("GET", "/admin/api/session", "", 401)
}

func TestAdminDisabledRemovesEveryRoute(t *testing.T) {
	s := startServer(t, withAdmin, func(c *config.Config) { c.Admin.Enabled = false })
	a := s.adminWithToken(t)
	for _, r := range adminRoutes(t) {
		resp, _ := a.raw(r[0], r[1], `{}`, nil)
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s %s with admin disabled: %d", r[0], r[1], resp.StatusCode)
		}
	}
}

func TestAdminSecretsNeverLogged(t *testing.T) {
	s, logs := startLogged(t, withAdmin)
	a := s.adminLogin(t)
	p := a.do("POST", "/admin/api/projects", `{"name":"shop","secret":"shop-secret-never-logged-0123","api_key":"shop-key-never-logged-0123"}`, 201)
	r := a.do("POST", "/admin/api/projects/shop/regenerate-secret", "", 200)
	k := a.do("POST", "/admin/api/projects/shop/regenerate-api-key", "", 200)
	tok := a.do("POST", "/admin/api/projects/shop/tokens", `{"user":"42"}`, 200)
	a.do("PATCH", "/admin/api/projects/shop", `{"secret":"short"}`, 422)
	a.do("PATCH", "/admin/api/projects/shop", `{"options":{"history_size":"x"}}`, 400)
	a.do("POST", "/admin/api/projects/shop/api/publish", `{"channel":"news","data":{}}`, 200)
	(&adminClient{t: t, base: a.base}).do("POST", "/admin/api/login", `{"password":"a-wrong-password-guess"}`, 401)
	a.do("DELETE", "/admin/api/projects/shop", "", 204)
	log := logs.String()
	if !strings.Contains(log, "project created") {
		t.Fatalf("the log does not show the admin actions, the check proves nothing:\n%s", log)
	}
	for _, secretValue := range []any{p["secret"], p["api_key"], r["secret"], k["api_key"], tok["token"], secret, apiKey, adminPassword, adminToken, "a-wrong-password-guess", a.cookie, a.csrf} {
		v, _ := secretValue.(string)
		if v == "" {
			t.Fatalf("missing value %v", secretValue)
		}
		if strings.Contains(log, v) {
			t.Errorf("the log contains a secret %q", v)
		}
	}
}

// TestAdminBadInput sends bad input to every admin operation: each answers
// 4xx with a message, never 5xx, and the store is unchanged.
func TestAdminBadInput(t *testing.T) {
	s := startServer(t, withAdmin)
	a := s.adminWithToken(t)
	before, err := s.srv.Node().Store().Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	big := `{"name":"big","display_name":"` + strings.Repeat("x", 2<<20) + `"}`
	cases := []struct {
		method, path, body string
		status             int
		field              string
	}{
		{"POST", "/admin/api/login", `{"password":`, 400, ""},
		{"POST", "/admin/api/projects", `not json`, 400, ""},
		{"POST", "/admin/api/projects", `[]`, 400, ""},
		{"POST", "/admin/api/projects", ``, 400, ""},
		{"POST", "/admin/api/projects", `{"name":"a b"}`, 422, "name"},
		{"POST", "/admin/api/projects", `{"name":"default"}`, 409, "name"},
		{"POST", "/admin/api/projects", `{"name":"x1","unknown":1}`, 400, "unknown"},
		{"POST", "/admin/api/projects", `{"name":"x1","options":{"history_size":"ten"}}`, 400, "options.history_size"},
		{"POST", "/admin/api/projects", `{"name":"x1","options":{"history_size":10}}`, 422, "options.history_ttl"},
		{"POST", "/admin/api/projects", `{"name":"x1","options":{"history_ttl":"forever"}}`, 400, ""},
		{"POST", "/admin/api/projects", `{"name":"x1","secret":"short"}`, 422, "secret"},
		{"POST", "/admin/api/projects", `{"name":"x1","connect_proxy":{"url":"ftp://x"}}`, 422, "connect_proxy.url"},
		{"POST", "/admin/api/projects", `{"name":"x1","namespaces":[{"name":"n1","options":{"force_recovery":true}}]}`, 422, "namespaces.n1.options.force_recovery"},
		{"POST", "/admin/api/projects", big, 413, ""},
		{"GET", "/admin/api/projects/nope", "", 404, ""},
		{"PATCH", "/admin/api/projects/nope", `{}`, 404, ""},
		{"PATCH", "/admin/api/projects/default", `{"name":"renamed"}`, 422, "name"},
		{"PATCH", "/admin/api/projects/default", `{"namespaces":[]}`, 422, "namespaces"},
		{"PATCH", "/admin/api/projects/default", `{"options":{"history_ttl":null}}`, 422, "options.history_ttl"},
		{"PATCH", "/admin/api/projects/default", `{"options":{"nope":true}}`, 400, "options.nope"},
		{"PATCH", "/admin/api/projects/default", `{"max_auth_attempts":1000}`, 422, "max_auth_attempts"},
		{"PATCH", "/admin/api/projects/default", `{"display_name":5}`, 400, "display_name"},
		{"PATCH", "/admin/api/projects/default", `"x"`, 400, ""},
		{"DELETE", "/admin/api/projects/nope", "", 404, ""},
		{"POST", "/admin/api/projects/nope/regenerate-secret", "", 404, ""},
		{"POST", "/admin/api/projects/nope/regenerate-api-key", "", 404, ""},
		{"GET", "/admin/api/projects/nope/namespaces", "", 404, ""},
		{"POST", "/admin/api/projects/nope/namespaces", `{"name":"n1"}`, 404, ""},
		{"POST", "/admin/api/projects/default/namespaces", `{"name":"chat"}`, 409, ""},
		{"POST", "/admin/api/projects/default/namespaces", `{"name":"!"}`, 422, "name"},
		{"POST", "/admin/api/projects/default/namespaces", `{"name":"n1","options":{"history_size":-1}}`, 422, "options.history_size"},
		{"POST", "/admin/api/projects/default/namespaces", `{"name":"n1","options":{"proxy_subscribe":true}}`, 422, "options.proxy_subscribe"},
		{"GET", "/admin/api/projects/default/namespaces/nope", "", 404, ""},
		{"PATCH", "/admin/api/projects/default/namespaces/nope", `{"options":{}}`, 404, ""},
		{"PATCH", "/admin/api/projects/default/namespaces/chat", `{"options":{"history_size":0}}`, 422, "options.history_size"},
		{"PATCH", "/admin/api/projects/default/namespaces/chat", `{"options":{"presence":"yes"}}`, 400, "options.presence"},
		{"PATCH", "/admin/api/projects/default/namespaces/chat", `{"name":"other"}`, 422, "name"},
		{"PATCH", "/admin/api/projects/default/namespaces/chat", `{"extra":1}`, 400, "extra"},
		{"DELETE", "/admin/api/projects/default/namespaces/nope", "", 404, ""},
		{"POST", "/admin/api/projects/nope/tokens", `{"user":"1"}`, 404, ""},
		{"POST", "/admin/api/projects/default/tokens", `{"user":"1","ttl_seconds":0}`, 422, "ttl_seconds"},
		{"POST", "/admin/api/projects/default/tokens", `{"user":"1","channel":"a","channels":["b"]}`, 422, "channel"},
		{"POST", "/admin/api/projects/default/tokens", `{"user":1}`, 400, "user"},
		{"POST", "/admin/api/projects/default/api/nope", `{}`, 404, ""},
		{"POST", "/admin/api/projects/nope/api/publish", `{"channel":"a","data":1}`, 404, ""},
		{"POST", "/admin/api/projects/default/api/publish", `{"channel":`, 400, ""},
	}
	for _, tc := range cases {
		resp, body := a.raw(tc.method, tc.path, tc.body, nil)
		var m struct {
			Error struct {
				Message string `json:"message"`
				Field   string `json:"field"`
			} `json:"error"`
		}
		_ = json.Unmarshal(body, &m)
		var generic any
		if json.Unmarshal(body, &generic) == nil && !strings.Contains(tc.path, "/api/publish") {
			checkAnswer(t, tc.method, tc.path, resp.StatusCode, generic)
		}
		if resp.StatusCode != tc.status || m.Error.Message == "" || (tc.field != "" && m.Error.Field != tc.field) {
			t.Errorf("%s %s %.80s: %d %.300s, want %d with a message (field %q)", tc.method, tc.path, tc.body, resp.StatusCode, body, tc.status, tc.field)
		}
	}
	after, err := s.srv.Node().Store().Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	bj, _ := json.Marshal(before)
	aj, _ := json.Marshal(after)
	if !bytes.Equal(bj, aj) {
		t.Fatalf("bad input changed the store:\nbefore %s\nafter  %s", bj, aj)
	}
}

func TestAdminProjectsAndNamespaces(t *testing.T) {
	s := startServer(t, withAdmin)
	a := s.adminLogin(t)
	p := a.do("POST", "/admin/api/projects", `{"name":"shop","display_name":"Shop","options":{"presence":true,"allow_subscribe_for_client":true}}`, 201)
	if len(p["secret"].(string)) < 32 || len(p["api_key"].(string)) < 32 || p["display_name"] != "Shop" {
		t.Fatalf("created: %v", p)
	}
	if ns, ok := p["namespaces"].([]any); !ok || len(ns) != 0 {
		t.Fatalf("namespaces of a new project: %v", p["namespaces"])
	}
	list := a.do("GET", "/admin/api/projects", "", 200)
	if n := len(list["projects"].([]any)); n != 3 {
		t.Fatalf("%d projects", n)
	}
	u := a.do("PATCH", "/admin/api/projects/shop", `{"display_name":"Shop 2","options":{"history_size":5,"history_ttl":"30s"}}`, 200)
	o := u["options"].(map[string]any)
	if u["display_name"] != "Shop 2" || o["history_size"] != 5.0 || o["history_ttl"] != "30s" || o["presence"] != true {
		t.Fatalf("patched: %v", u)
	}
	// null resets a key to its default.
	u = a.do("PATCH", "/admin/api/projects/shop", `{"display_name":null,"options":{"presence":null}}`, 200)
	if _, has := u["display_name"]; has || u["options"].(map[string]any)["presence"] != false {
		t.Fatalf("reset: %v", u)
	}
	ns := a.do("POST", "/admin/api/projects/shop/namespaces", `{"name":"chat","options":{"join_leave":true}}`, 201)
	if ns["name"] != "chat" || ns["options"].(map[string]any)["join_leave"] != true {
		t.Fatalf("namespace: %v", ns)
	}
	ns = a.do("PATCH", "/admin/api/projects/shop/namespaces/chat", `{"options":{"presence":true}}`, 200)
	if o := ns["options"].(map[string]any); o["presence"] != true || o["join_leave"] != true {
		t.Fatalf("namespace patched: %v", ns)
	}
	if l := a.do("GET", "/admin/api/projects/shop/namespaces", "", 200); len(l["namespaces"].([]any)) != 1 {
		t.Fatalf("namespaces: %v", l)
	}
	a.do("GET", "/admin/api/projects/shop/namespaces/chat", "", 200)
	a.do("DELETE", "/admin/api/projects/shop/namespaces/chat", "", 204)
	a.do("GET", "/admin/api/projects/shop/namespaces/chat", "", 404)

	opts := a.do("GET", "/admin/api/options", "", 200)
	found := map[string]string{}
	for _, o := range opts["options"].([]any) {
		m := o.(map[string]any)
		found[m["name"].(string)] = m["type"].(string) + "/" + m["scope"].(string)
		if m["help"] == "" {
			t.Errorf("option without help: %v", m)
		}
	}
	if found["history_ttl"] != "duration/both" || found["connect_proxy"] != "proxy/project" || found["presence"] != "bool/both" {
		t.Fatalf("options: %v", found)
	}
	nodes := a.do("GET", "/admin/api/nodes", "", 200)["nodes"].([]any)
	n := nodes[0].(map[string]any)
	items := n["metrics"].(map[string]any)["items"].(map[string]any)
	for _, k := range []string{"node.clients", "node.users", "node.channels", "node.publications", "node.deliveries", "api.calls", "api.errors"} {
		if _, ok := items[k]; !ok {
			t.Errorf("node metrics lack %s", k)
		}
	}
	if n["engine"] != "memory" || n["store"] != "memory" || n["id"] == "" {
		t.Fatalf("node: %v", n)
	}
	a.do("DELETE", "/admin/api/projects/shop", "", 204)
	a.do("GET", "/admin/api/projects/shop", "", 404)
}

func TestAdminServerAPIAndTokens(t *testing.T) {
	s := startServer(t, withAdmin)
	a := s.adminWithToken(t)
	// A project without an api_key: its server API is closed to API keys
	// but open to the admin.
	a.do("PATCH", "/admin/api/projects/other", `{"api_key":null}`, 200)
	tok := a.do("POST", "/admin/api/projects/other/tokens", `{"user":"admin","channels":["watched"]}`, 200)["token"].(string)
	c := dial(t, s.wsURL("other"), nil)
	c.mustCall("connect", map[string]any{"token": tok})
	res := a.do("POST", "/admin/api/projects/other/api/publish", `{"channel":"watched","data":{"x":1}}`, 200)
	if res["result"] == nil {
		t.Fatalf("publish through the admin API: %v", res)
	}
	if p := c.pub("watched"); string(p.Data) != `{"x":1}` {
		t.Fatalf("publication %s", p.Data)
	}
	info := a.do("POST", "/admin/api/projects/other/api/info", `{}`, 200)
	if len(info["result"].(map[string]any)["nodes"].([]any)) != 1 {
		t.Fatalf("info: %v", info)
	}
	// The project's own server API still wants its key.
	if code, _ := s.apiWith("other", "", "info", map[string]any{}); code != 401 {
		t.Fatalf("server API without key: %d", code)
	}
	// The node's metrics count those calls (the admin UI charts them).
	items := a.do("GET", "/admin/api/nodes", "", 200)["nodes"].([]any)[0].(map[string]any)["metrics"].(map[string]any)["items"].(map[string]any)
	if items["api.calls"].(float64) < 3 || items["api.errors"].(float64) < 1 || items["api.call.publish.count"].(float64) < 1 {
		t.Fatalf("api metrics: calls %v errors %v publish %v", items["api.calls"], items["api.errors"], items["api.call.publish.count"])
	}
	sub := a.do("POST", "/admin/api/projects/default/tokens", `{"user":"42","channel":"$secret","ttl_seconds":60}`, 200)["token"].(string)
	cl, _ := s.connect(t, "42")
	cl.mustCall("subscribe", map[string]any{"channel": "$secret", "token": sub})
}

// TestAdminRegeneratedSecretRefusesOldTokens: connections stay, new connects
// with a token of the old secret fail.
func TestAdminRegeneratedSecretRefusesOldTokens(t *testing.T) {
	s := startServer(t, withAdmin)
	a := s.adminWithToken(t)
	old := token(t, "1", time.Hour)
	c, _ := s.connect(t, "2")
	p := a.do("POST", "/admin/api/projects/default/regenerate-secret", "", 200)
	if p["secret"] == secret {
		t.Fatal("secret unchanged")
	}
	c.mustCall("subscribe", map[string]any{"channel": "chat:x"})
	d := dial(t, s.wsURL(""), nil)
	d.send("connect", map[string]any{"token": old})
	d.expectClose(3500) // invalid token
	fresh, err := auth.NewConnectToken(p["secret"].(string), "3", time.Hour, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	dial(t, s.wsURL(""), nil).mustCall("connect", map[string]any{"token": fresh})
}

// TestAdminProjectsLiveAcrossNodes: a project created through node A
// accepts connections on node B within a second; deleting it disconnects its
// clients on both nodes with a terminal code.
func TestAdminProjectsLiveAcrossNodes(t *testing.T) {
	r := redistest.Start(t)
	nodes := redisNodes(t, 2, func(c *config.Config) {
		c.Engine.RedisURL = r.URL
		withAdmin(c)
	})
	a, b := nodes[0], nodes[1]
	admin := a.adminWithToken(t)
	start := time.Now()
	p := admin.do("POST", "/admin/api/projects", `{"name":"live","options":{"allow_subscribe_for_client":true}}`, 201)
	tok, err := auth.NewConnectToken(p["secret"].(string), "7", time.Hour, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Node B answers 404 to the WebSocket handshake of an unknown project.
	for {
		conn, _, err := dialRaw(b.wsURL("live"), nil)
		if err == nil {
			conn.Close()
			break
		}
		if time.Since(start) > time.Second {
			t.Fatalf("node B does not serve the new project after %s", time.Since(start))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("project created on A served by B after %s", time.Since(start))
	cb := dial(t, b.wsURL("live"), nil)
	cb.mustCall("connect", map[string]any{"token": tok})
	if b.adminWithToken(t).do("GET", "/admin/api/projects/live", "", 200)["name"] != "live" {
		t.Fatal("node B's admin API does not see the project")
	}
	ca := dial(t, a.wsURL("live"), nil)
	ca.mustCall("connect", map[string]any{"token": tok})
	ca.mustCall("subscribe", map[string]any{"channel": "x"})
	cb.mustCall("subscribe", map[string]any{"channel": "x"})

	admin.do("DELETE", "/admin/api/projects/live", "", 204)
	for _, c := range []*wsClient{ca, cb} {
		c.expectClose(3503)
		if c.close.Text != "project deleted" {
			t.Fatalf("close reason %q", c.close.Text)
		}
	}
	// The default project's clients are untouched.
	d, _ := b.connect(t, "1")
	d.mustCall("subscribe", map[string]any{"channel": "chat:x"})
}

// TestAdminRestartKeepsProjects: with a data_dir, projects created through
// the admin API survive a restart (SQLite).
func TestAdminRestartKeepsProjects(t *testing.T) {
	dir := t.TempDir()
	withData := func(c *config.Config) { withAdmin(c); c.DataDir = dir }
	s := startServer(t, withData)
	p := s.adminWithToken(t).do("POST", "/admin/api/projects", `{"name":"kept","options":{"allow_subscribe_for_client":true}}`, 201)
	s.adminWithToken(t).do("DELETE", "/admin/api/projects/other", "", 204)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	s2 := startServer(t, withData)
	a := s2.adminWithToken(t)
	got := a.do("GET", "/admin/api/projects/kept", "", 200)
	if got["secret"] != p["secret"] {
		t.Fatalf("after restart: %v", got)
	}
	a.do("GET", "/admin/api/projects/other", "", 404)
	if n := a.do("GET", "/admin/api/nodes", "", 200)["nodes"].([]any)[0].(map[string]any); n["store"] != "sqlite" {
		t.Fatalf("store %v", n["store"])
	}
	tok, _ := auth.NewConnectToken(p["secret"].(string), "1", time.Hour, nil, nil)
	dial(t, s2.wsURL("kept"), nil).mustCall("connect", map[string]any{"token": tok})
	if _, err := os.Stat(filepath.Join(dir, "structure.db")); err != nil {
		t.Fatal(err)
	}
}
