// Package admin serves the admin API (/admin/api/, openapi.yaml's tag admin):
// login with the admin password (session cookie + CSRF token) or an admin
// token, the nodes and their metrics, projects and namespaces read and
// changed in the structure store (applied live on every node), tokens signed
// with a project's secret, and the server API of any project. Register adds
// every admin route in one place; with admin.enabled false the server does
// not call it and no admin route exists.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/centrifugehq/centrifuge/server/internal/admin/gen"
	"github.com/centrifugehq/centrifuge/server/internal/api"
	"github.com/centrifugehq/centrifuge/server/internal/config"
	"github.com/centrifugehq/centrifuge/server/internal/node"
	"github.com/centrifugehq/centrifuge/server/internal/store"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

// MaxBodySize bounds an admin request body.
const MaxBodySize = 1 << 20

// loginPath is the one admin route answered without a session or token.
const loginPath = "/admin/api/login"

// Options configure a Handler.
type Options struct {
	Config config.Admin
	// Engine names the engine in the nodes' descriptions.
	Engine string
	Logger *slog.Logger
}

// Handler implements gen.ServerInterface.
type Handler struct {
	node     *node.Node
	sessions *sessions
	password passwordChecker
	tokens   tokens
	limiter  *limiter
	engine   string
	log      *slog.Logger
	// serve dispatches a forwarded server API request (the Echo instance).
	serve http.Handler
}

var _ gen.ServerInterface = (*Handler)(nil)

// New returns the admin API of node.
func New(node *node.Node, opts Options) *Handler {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	a := opts.Config
	return &Handler{
		node:     node,
		sessions: newSessions(a.Password, a.SessionTTL.D()),
		password: newPasswordChecker(a.Password),
		tokens:   newTokens(a.TokenHashes()),
		limiter:  newLimiter(a.LoginAttempts, a.LoginWindow.D()),
		engine:   opts.Engine,
		log:      log,
	}
}

// Register adds every admin route to e, each behind the admin
// authentication except the login.
func (h *Handler) Register(e *echo.Echo) {
	h.serve = e
	gen.RegisterHandlers(authRouter{e: e, auth: h.authenticate}, h)
}

// authRouter registers routes with the authentication middleware (all but
// the login).
type authRouter struct {
	e    *echo.Echo
	auth echo.MiddlewareFunc
}

func (r authRouter) mw(path string, m []echo.MiddlewareFunc) []echo.MiddlewareFunc {
	if path == loginPath {
		return append([]echo.MiddlewareFunc{noStore}, m...)
	}
	return append([]echo.MiddlewareFunc{noStore, r.auth}, m...)
}

// noStore keeps admin answers (secrets, API keys) out of every cache.
func noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
		return next(c)
	}
}

func (r authRouter) CONNECT(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.e.CONNECT(p, h, r.mw(p, m)...)
}
func (r authRouter) DELETE(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.e.DELETE(p, h, r.mw(p, m)...)
}
func (r authRouter) GET(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.e.GET(p, h, r.mw(p, m)...)
}
func (r authRouter) HEAD(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.e.HEAD(p, h, r.mw(p, m)...)
}
func (r authRouter) OPTIONS(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.e.OPTIONS(p, h, r.mw(p, m)...)
}
func (r authRouter) PATCH(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.e.PATCH(p, h, r.mw(p, m)...)
}
func (r authRouter) POST(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.e.POST(p, h, r.mw(p, m)...)
}
func (r authRouter) PUT(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.e.PUT(p, h, r.mw(p, m)...)
}
func (r authRouter) TRACE(p string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route {
	return r.e.TRACE(p, h, r.mw(p, m)...)
}

// sessionKey holds the request's session in the Echo context (absent for
// an admin token).
const sessionKey = "admin.session"

// authenticate admits a request with a valid admin token, or a live session
// cookie plus, for a state-changing method, the session's CSRF token.
func (h *Handler) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if auth := r.Header.Get(echo.HeaderAuthorization); auth != "" {
			scheme, tok, _ := strings.Cut(strings.TrimSpace(auth), " ")
			if !strings.EqualFold(scheme, "bearer") || !h.tokens.check(strings.TrimSpace(tok)) {
				return fail(c, http.StatusUnauthorized, "invalid admin token", "")
			}
			return next(c)
		}
		ck, err := r.Cookie(CookieName)
		if err != nil {
			return fail(c, http.StatusUnauthorized, "login required", "")
		}
		se, ok := h.sessions.check(ck.Value)
		if !ok {
			return fail(c, http.StatusUnauthorized, "session expired or invalid: log in again", "")
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			if !h.sessions.checkCSRF(se, r.Header.Get(CSRFHeader)) {
				return fail(c, http.StatusForbidden, "missing or wrong CSRF token", "")
			}
		}
		c.Set(sessionKey, se)
		return next(c)
	}
}

// errorBody is every admin error: {"error": {"message", "field"}}.
func fail(c echo.Context, status int, msg, field string) error {
	return c.JSON(status, gen.AdminErrorResponse{Error: gen.AdminError{Message: msg, Field: field}})
}

// storeError maps a store or validation error to its HTTP answer.
func (h *Handler) storeError(c echo.Context, err error) error {
	var fe *structure.FieldError
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fail(c, http.StatusNotFound, err.Error(), "")
	case errors.Is(err, store.ErrExists):
		return fail(c, http.StatusConflict, err.Error(), "name")
	case errors.As(err, &fe):
		return fail(c, http.StatusUnprocessableEntity, fe.Msg, fe.Field)
	}
	h.log.Error("admin: structure store", "err", err)
	return fail(c, http.StatusServiceUnavailable, "the structure store failed: "+err.Error(), "")
}

// readBody reads a JSON body of at most MaxBodySize bytes into v, refusing
// unknown keys. Its error is already answered (ok false).
func readBody(c echo.Context, v any) (bool, error) {
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, MaxBodySize))
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return false, fail(c, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", MaxBodySize), "")
		}
		return false, fail(c, http.StatusBadRequest, "cannot read the request body", "")
	}
	if err := decodeStrict(body, v); err != nil {
		msg, field := decodeError(err, body)
		return false, fail(c, http.StatusBadRequest, msg, field)
	}
	return true, nil
}

func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("the body must be a JSON object")
		}
		return err
	}
	if dec.More() {
		return errors.New("the body must be one JSON object")
	}
	return nil
}

// decodeError turns a JSON decoding error of body into a message and the
// field it concerns.
func decodeError(err error, body []byte) (string, string) {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		if te.Field == "" {
			return fmt.Sprintf("the body must be a JSON object, not %s", te.Value), ""
		}
		return fmt.Sprintf("field %q: got %s, want %s", te.Field, te.Value, jsonType(te.Type.Kind().String())), te.Field
	case errors.As(err, &se):
		return fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, se), ""
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		var doc any
		_ = json.Unmarshal(body, &doc)
		path := keyPath(doc, name)
		if path == "" {
			path = name
		}
		return fmt.Sprintf("unknown field %q", path), path
	}
	// Errors of a field's own decoder (a bad duration) carry no field.
	return strings.TrimPrefix(msg, "json: "), ""
}

// keyPath returns the dotted path of the first object key named key in doc
// (arrays of named objects use the name: namespaces.chat.options.x).
func keyPath(doc any, key string) string {
	switch d := doc.(type) {
	case map[string]any:
		if _, ok := d[key]; ok {
			return key
		}
		names := make([]string, 0, len(d))
		for k := range d {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if p := keyPath(d[k], key); p != "" {
				return k + "." + p
			}
		}
	case []any:
		for i, e := range d {
			if p := keyPath(e, key); p != "" {
				label := strconv.Itoa(i)
				if m, ok := e.(map[string]any); ok {
					if n, ok := m["name"].(string); ok {
						label = n
					}
				}
				return label + "." + p
			}
		}
	}
	return ""
}

func jsonType(kind string) string {
	switch kind {
	case "int", "int64", "uint32", "uint64", "float64":
		return "number"
	case "bool":
		return "boolean"
	case "slice":
		return "array"
	case "map", "struct", "ptr":
		return "object"
	}
	return kind
}

// ---- session ----

// AdminLogin implements gen.ServerInterface.
func (h *Handler) AdminLogin(c echo.Context) error {
	addr := remoteAddr(c.Request())
	if wait := h.limiter.wait(addr); wait > 0 {
		c.Response().Header().Set("Retry-After", retryAfter(wait))
		return fail(c, http.StatusTooManyRequests, fmt.Sprintf("too many attempts, try again in %s s", retryAfter(wait)), "")
	}
	var req gen.AdminLoginRequest
	if ok, err := readBody(c, &req); !ok {
		return err
	}
	if len(req.Password) > 1024 {
		return fail(c, http.StatusBadRequest, "password too long", "password")
	}
	if !h.password.configured() {
		return fail(c, http.StatusUnauthorized, "no admin.password is configured: set one (or use an admin token)", "")
	}
	if !h.password.check(req.Password) {
		h.limiter.fail(addr)
		h.log.Warn("admin: failed login", "remote", addr)
		return fail(c, http.StatusUnauthorized, "wrong password", "password")
	}
	se, value, err := h.sessions.issue()
	if err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{
		Name: CookieName, Value: value, Path: cookiePath, Expires: se.expires,
		HttpOnly: true, Secure: secureCookie(c), SameSite: http.SameSiteStrictMode,
	})
	h.log.Info("admin: login", "remote", addr)
	return c.JSON(http.StatusOK, gen.AdminSession{CsrfToken: h.sessions.csrf(se), ExpiresAt: se.expires.UTC()})
}

// AdminLogout implements gen.ServerInterface.
func (h *Handler) AdminLogout(c echo.Context) error {
	if se, ok := c.Get(sessionKey).(session); ok {
		h.sessions.end(se)
	}
	c.SetCookie(&http.Cookie{
		Name: CookieName, Value: "", Path: cookiePath, MaxAge: -1,
		HttpOnly: true, Secure: secureCookie(c), SameSite: http.SameSiteStrictMode,
	})
	return c.NoContent(http.StatusNoContent)
}

// AdminSession implements gen.ServerInterface.
func (h *Handler) AdminSession(c echo.Context) error {
	se, ok := c.Get(sessionKey).(session)
	if !ok {
		return fail(c, http.StatusUnauthorized, "an admin token has no session", "")
	}
	return c.JSON(http.StatusOK, gen.AdminSession{CsrfToken: h.sessions.csrf(se), ExpiresAt: se.expires.UTC()})
}

// ---- nodes and options ----

// heartbeat is how often nodes refresh each other's metrics.
const heartbeat = 2 * time.Second

// AdminNodes implements gen.ServerInterface.
func (h *Handler) AdminNodes(c echo.Context) error {
	infos, err := h.node.Info(c.Request().Context())
	if err != nil {
		return fail(c, http.StatusServiceUnavailable, "cannot list nodes: "+err.Error(), "")
	}
	out := gen.AdminNodeList{Nodes: make([]gen.AdminNode, 0, len(infos))}
	now := time.Now()
	for _, n := range infos {
		items := make(map[string]float64, len(n.Metrics)+2)
		var calls, errs float64
		for k, v := range n.Metrics {
			items[k] = v
			if strings.HasPrefix(k, "api.call.") && strings.HasSuffix(k, ".count") {
				calls += v
			}
			if strings.HasPrefix(k, "api.errors.") {
				errs += v
			}
		}
		items["api.calls"], items["api.errors"] = calls, errs
		out.Nodes = append(out.Nodes, gen.AdminNode{
			ID: n.UID, Name: n.Name, Version: n.Version,
			Engine: h.engine, Store: h.node.Store().Kind(),
			UptimeSeconds: int(n.Uptime / time.Second), StartedAt: now.Add(-n.Uptime).UTC().Truncate(time.Second),
			NumClients: n.NumClients, NumUsers: n.NumUsers, NumChannels: n.NumChannels, NumSubscriptions: n.NumSubs,
			Metrics: gen.AdminNodeMetrics{Interval: heartbeat.Seconds(), Items: items},
		})
	}
	return c.JSON(http.StatusOK, out)
}

// AdminOptions implements gen.ServerInterface.
func (h *Handler) AdminOptions(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"options": structure.Options()})
}

// ---- server API ----

// serverMethods are the server API methods the admin API forwards.
var serverMethods = map[string]bool{
	"publish": true, "broadcast": true, "subscribe": true, "unsubscribe": true, "disconnect": true,
	"refresh": true, "presence": true, "presence_stats": true, "history": true, "history_remove": true,
	"channels": true, "info": true, "batch": true,
}

// AdminServerAPI implements gen.ServerInterface: it serves the request
// through the server API's own route, /api/<project>/<method>, authorized
// as admin instead of by the project's API key.
func (h *Handler) AdminServerAPI(c echo.Context, project, method string) error {
	if !structure.NameRe.MatchString(project) {
		return fail(c, http.StatusNotFound, fmt.Sprintf("unknown project %q", project), "")
	}
	if !serverMethods[method] {
		return fail(c, http.StatusNotFound, fmt.Sprintf("unknown server API method %q", method), "")
	}
	r := c.Request()
	fwd := r.Clone(api.AsAdmin(r.Context()))
	fwd.URL.Path, fwd.URL.RawPath = "/api/"+project+"/"+method, ""
	fwd.RequestURI = fwd.URL.RequestURI()
	fwd.Header.Del(echo.HeaderAuthorization)
	fwd.Header.Del("Cookie")
	fwd.Header.Del(api.HeaderAPIKey)
	h.serve.ServeHTTP(c.Response(), fwd)
	return nil
}

// changed applies a store write on every node.
func (h *Handler) changed(ctx context.Context) {
	if err := h.node.ProjectsChanged(ctx); err != nil {
		// The write is stored: every node picks it up at its next poll.
		h.log.Error("admin: announce the project change", "err", err)
	}
}

// secureCookie reports whether the session cookie gets Secure: served over
// TLS, directly or behind a proxy that says so (X-Forwarded-Proto: https).
func secureCookie(c echo.Context) bool { return c.Scheme() == "https" }
