package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/centrifugehq/centrifuge/server/internal/api/gen"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

const (
	// DefaultMaxBodySize is the request body limit when Options.MaxBodySize is 0.
	DefaultMaxBodySize = 10 << 20
	// DefaultMaxResponseSize is the batch response limit when
	// Options.MaxResponseSize is 0.
	DefaultMaxResponseSize = 64 << 20
	// MaxBatchCommands is the most commands one batch request may carry.
	MaxBatchCommands = 1000
	// HeaderAPIKey carries the project's API key; "Authorization: apikey <key>" works too.
	HeaderAPIKey = "X-API-Key"
	// authScheme is the Authorization scheme of an API key (compared case-insensitively).
	authScheme = "apikey"
)

// Options configure a Handler. Zero values mean defaults.
type Options struct {
	// MaxBodySize limits request bodies, in bytes; larger bodies get HTTP 413.
	// 0 (or less) means DefaultMaxBodySize.
	MaxBodySize int64
	// MaxResponseSize caps the JSON response of one batch, in bytes (the
	// http.api_max_response_size key); commands whose replies do not fit get
	// error 106 instead. 0 (or less) means DefaultMaxResponseSize.
	MaxResponseSize int64
	// Logger receives internal errors (with the request id shown to the caller);
	// nil means slog.Default().
	Logger *slog.Logger
	// Observe, when set, is told of every method that a line of /api or a
	// batch command ran, and how long it took (the routes /api/<method> are
	// timed per HTTP request by the caller's middleware).
	Observe func(method string, took time.Duration)
}

// Handler serves the server HTTP API (openapi.yaml) on top of a Service: one
// route per method (table in methods.go) and the single line-per-command
// endpoint (lines.go), which share the methods, the authentication and the
// body limit.
type Handler struct {
	svc         Service
	projects    *structure.Registry
	maxBodySize int64
	maxResp     int64
	log         *slog.Logger
	observe     func(method string, took time.Duration)
}

// New returns a Handler calling svc for the projects in projects.
func New(svc Service, projects *structure.Registry, opts Options) *Handler {
	h := &Handler{
		svc:         svc,
		projects:    projects,
		maxBodySize: opts.MaxBodySize,
		maxResp:     opts.MaxResponseSize,
		log:         opts.Logger,
		observe:     opts.Observe,
	}
	if h.maxBodySize <= 0 {
		h.maxBodySize = DefaultMaxBodySize
	}
	if h.maxResp <= 0 {
		h.maxResp = DefaultMaxResponseSize
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	return h
}

// Register adds the API's routes to e: POST /api/<method> for the default
// project and POST /api/<project>/<method> for a named one, and the single
// endpoint POST /api and POST /api/<project>. Install HTTPErrorHandler as
// e.HTTPErrorHandler so that HTTP-level errors (401, 404, 413, ...) have the
// API's JSON error body.
func (h *Handler) Register(e *echo.Echo) {
	for i := range methods {
		m := &methods[i]
		e.POST("/api/"+m.name, h.serveMethod(m))
		e.POST("/api/:project/"+m.name, h.serveMethod(m))
	}
	e.POST("/api", h.serveLines)
	e.POST("/api/:project", h.serveLines)
}

// call is one authorized API request.
type call struct {
	// project is the project's name as configured ("default" for /api/<method>).
	project string
	// id identifies the request in logs and in the X-Request-Id response header.
	id string
}

// begin resolves the request's project, checks its API key and reads the
// body. Its errors are *echo.HTTPError for HTTPErrorHandler.
func (h *Handler) begin(c echo.Context) (call, []byte, error) {
	p, err := h.projects.Get(c.Param("project"))
	if errors.Is(err, structure.ErrUnknownProject) {
		return call{}, nil, echo.NewHTTPError(http.StatusNotFound, err.Error()).SetInternal(err)
	}
	if err != nil {
		return call{}, nil, err
	}
	if err := authorize(c, p); err != nil {
		return call{}, nil, err
	}
	body, err := h.readBody(c)
	if err != nil {
		return call{}, nil, err
	}
	return call{project: p.Name, id: requestID(c)}, body, nil
}

// serveMethod answers /api/<method>: HTTP 200 with {"result": ...} or
// {"error": ...} (batch's result unwrapped), or HTTP 400 when the body is not
// JSON of the method's request shape.
func (h *Handler) serveMethod(m *method) echo.HandlerFunc {
	return func(c echo.Context) error {
		cl, body, err := h.begin(c)
		if err != nil {
			return err
		}
		res, err := m.run(h, c.Request().Context(), cl, body)
		var pe *paramsError
		if errors.As(err, &pe) && !pe.field {
			return echo.NewHTTPError(http.StatusBadRequest, pe.Error()).SetInternal(err)
		}
		if m.bare && err == nil {
			return writeJSON(c, http.StatusOK, res)
		}
		return writeJSON(c, http.StatusOK, h.response(cl, m.name, res, err))
	}
}

// runTimed runs m for a line or a batch command, told to observe.
func (h *Handler) runTimed(ctx context.Context, m *method, cl call, params []byte) (any, error) {
	start := time.Now()
	res, err := m.run(h, ctx, cl, params)
	if h.observe != nil {
		h.observe(m.name, time.Since(start))
	}
	return res, err
}

// response is {"result": ...} or {"error": ...}.
type response struct {
	Error  *gen.Error `json:"error,omitempty"`
	Result any        `json:"result,omitempty"`
}

func (h *Handler) response(cl call, method string, res any, err error) response {
	if err != nil {
		return response{Error: h.methodError(cl, method, err)}
	}
	return response{Result: res}
}

// adminKey marks a request context as authorized by the admin API.
type adminKey struct{}

// AsAdmin returns ctx marked as authorized by the admin API (its session or
// token): a request with it is served without the project's API key. Only
// in-process code can set it (the admin API forwarding
// /admin/api/projects/<project>/api/<method> here).
func AsAdmin(ctx context.Context) context.Context { return context.WithValue(ctx, adminKey{}, true) }

func authorize(c echo.Context, p *structure.Project) error {
	if admin, _ := c.Request().Context().Value(adminKey{}).(bool); admin {
		return nil
	}
	if p.APIKey == "" {
		return unauthorized(c, fmt.Sprintf("project %q has no api_key configured: its server API is disabled", p.Name))
	}
	key, ok := apiKey(c.Request().Header)
	if !ok {
		return unauthorized(c, "missing API key: send it in the "+HeaderAPIKey+" header or as Authorization: apikey <key>")
	}
	if !equalKeys(key, p.APIKey) {
		return unauthorized(c, "invalid API key")
	}
	return nil
}

func unauthorized(c echo.Context, msg string) error {
	c.Response().Header().Set(echo.HeaderWWWAuthenticate, authScheme)
	return echo.NewHTTPError(http.StatusUnauthorized, msg)
}

// apiKey returns the key from X-API-Key or, failing that, from "Authorization: apikey <key>".
func apiKey(header http.Header) (string, bool) {
	if key := header.Get(HeaderAPIKey); key != "" {
		return key, true
	}
	scheme, key, ok := strings.Cut(strings.TrimSpace(header.Get(echo.HeaderAuthorization)), " ")
	if !ok || !strings.EqualFold(scheme, authScheme) {
		return "", false
	}
	key = strings.TrimSpace(key)
	return key, key != ""
}

// equalKeys compares in constant time; hashing first hides the key's length too.
func equalKeys(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// readBody reads the body, at most maxBodySize bytes.
func (h *Handler) readBody(c echo.Context) ([]byte, error) {
	r := c.Request()
	if r.ContentLength > h.maxBodySize {
		return nil, h.tooLarge()
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, h.maxBodySize+1))
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return nil, h.tooLarge()
		}
		return nil, echo.NewHTTPError(http.StatusBadRequest, "cannot read request body").SetInternal(err)
	}
	if int64(len(body)) > h.maxBodySize {
		return nil, h.tooLarge()
	}
	return body, nil
}

// paramsError is a request body (or params) that does not decode into the
// method's request: field is set for a field the method does not know (a
// method error 107 everywhere); other decode errors are HTTP 400 on
// /api/<method> and 107 in a line or batch command.
type paramsError struct {
	msg   string
	field bool
}

func (e *paramsError) Error() string { return e.msg }

// Unwrap makes a paramsError a 107 bad request for methodError.
func (e *paramsError) Unwrap() error { return protocol.ErrBadRequest.WithMessage(e.msg) }

// decodeParams unmarshals data into v, refusing fields v does not have (keys
// match case-insensitively, as encoding/json does). Empty data and JSON null
// are an empty object.
func decodeParams(data []byte, v any) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || isNull(data) {
		return nil
	}
	if !utf8.Valid(data) {
		return &paramsError{msg: "request is not valid UTF-8"}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return &paramsError{msg: "unknown field " + name + ": not supported by this server", field: true}
		}
		return &paramsError{msg: decodeMessage(err)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &paramsError{msg: "malformed JSON: data after the request object"}
	}
	return nil
}

// isNull reports whether raw is the JSON null.
func isNull(raw []byte) bool { return string(bytes.TrimSpace(raw)) == "null" }

func (h *Handler) tooLarge() error {
	return echo.NewHTTPError(http.StatusRequestEntityTooLarge,
		fmt.Sprintf("request body larger than %d bytes", h.maxBodySize))
}
