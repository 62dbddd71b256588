package api

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/centrifugehq/centrifuge/server/internal/api/gen"
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
}

// Handler serves the server HTTP API (openapi.yaml) on top of a Service. It
// implements gen.ServerInterface.
type Handler struct {
	svc         Service
	projects    *structure.Registry
	maxBodySize int64
	maxResp     int64
	log         *slog.Logger
}

var _ gen.ServerInterface = (*Handler)(nil)

// New returns a Handler calling svc for the projects in projects.
func New(svc Service, projects *structure.Registry, opts Options) *Handler {
	h := &Handler{
		svc:         svc,
		projects:    projects,
		maxBodySize: opts.MaxBodySize,
		maxResp:     opts.MaxResponseSize,
		log:         opts.Logger,
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
// project and POST /api/<project>/<method> for a named one. Install
// HTTPErrorHandler as e.HTTPErrorHandler so that HTTP-level errors (401, 404,
// 413, ...) have the API's JSON error body.
func (h *Handler) Register(e *echo.Echo) {
	gen.RegisterHandlersWithBaseURL(e, h, "/api")
	gen.RegisterHandlersWithBaseURL(e, h, "/api/:project")
}

// call is one authorized API request.
type call struct {
	// project is the project's name as configured ("default" for /api/<method>).
	project string
	// id identifies the request in logs and in the X-Request-Id response header.
	id string
}

// begin resolves the request's project, checks its API key and decodes the
// body into req. Its errors are *echo.HTTPError for HTTPErrorHandler.
func (h *Handler) begin(c echo.Context, req any) (call, error) {
	p, err := h.projects.Get(c.Param("project"))
	if errors.Is(err, structure.ErrUnknownProject) {
		return call{}, echo.NewHTTPError(http.StatusNotFound, err.Error()).SetInternal(err)
	}
	if err != nil {
		return call{}, err
	}
	if err := authorize(c, p); err != nil {
		return call{}, err
	}
	if err := h.decode(c, req); err != nil {
		return call{}, err
	}
	return call{project: p.Name, id: requestID(c)}, nil
}

func authorize(c echo.Context, p *structure.Project) error {
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

// decode reads the body (at most maxBodySize bytes) and unmarshals it into v.
// An empty body is an empty object.
func (h *Handler) decode(c echo.Context, v any) error {
	r := c.Request()
	if r.ContentLength > h.maxBodySize {
		return h.tooLarge()
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, h.maxBodySize+1))
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return h.tooLarge()
		}
		return echo.NewHTTPError(http.StatusBadRequest, "cannot read request body").SetInternal(err)
	}
	if int64(len(body)) > h.maxBodySize {
		return h.tooLarge()
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := validText(body); err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, decodeMessage(err)).SetInternal(err)
	}
	return nil
}

func (h *Handler) tooLarge() error {
	return echo.NewHTTPError(http.StatusRequestEntityTooLarge,
		fmt.Sprintf("request body larger than %d bytes", h.maxBodySize))
}

// validText refuses a body that is not UTF-8, as JSON must be (RFC 8259):
// encoding/json would keep invalid bytes in raw data (publish, broadcast),
// to be sent on in WebSocket text frames that strict clients close with 1007.
func validText(body []byte) error {
	if !utf8.Valid(body) {
		return echo.NewHTTPError(http.StatusBadRequest, "request body is not valid UTF-8")
	}
	return nil
}
