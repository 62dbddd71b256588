package api

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"unicode"

	"github.com/labstack/echo/v4"

	"github.com/centrifugehq/centrifuge/server/internal/api/gen"
	"github.com/centrifugehq/centrifuge/server/internal/protocol"
)

// HTTPErrorHandler maps the errors of Echo handlers to the API's HTTP error
// body {"error": {"code": <HTTP status>, "message": ...}}. An *echo.HTTPError
// below 500 keeps its status and message; anything else is logged to log with
// a request id and answered with an opaque message carrying that id (status 500,
// or the 5xx of an *echo.HTTPError). nil log means slog.Default().
func HTTPErrorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	if log == nil {
		log = slog.Default()
	}
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		req := c.Request()
		status := http.StatusInternalServerError
		var msg string
		var he *echo.HTTPError
		if errors.As(err, &he) {
			status = he.Code
		}
		if he != nil && status < http.StatusInternalServerError {
			msg = fmt.Sprint(he.Message)
			if he.Internal != nil {
				log.Debug("request rejected", "status", status, "method", req.Method, "path", req.URL.Path, "error", he.Internal)
			}
		} else {
			id := requestID(c)
			log.Error("request failed", "request_id", id, "status", status, "method", req.Method, "path", req.URL.Path, "error", err)
			msg = fmt.Sprintf("internal server error (id %s)", id)
		}
		if req.Method == http.MethodHead {
			err = c.NoContent(status)
		} else {
			err = writeJSON(c, status, gen.ErrorResponse{Error: gen.Error{Code: uint32(status), Message: msg}})
		}
		if err != nil {
			log.Error("writing error response", "method", req.Method, "path", req.URL.Path, "error", err)
		}
	}
}

// methodError turns a method's error into the reply's error: a *protocol.Error
// as is, anything else as 100 internal server error, logged with the request id.
// It returns nil for a nil err.
func (h *Handler) methodError(cl call, method string, err error) *gen.Error {
	if err == nil {
		return nil
	}
	var perr *protocol.Error
	if !errors.As(err, &perr) {
		h.log.Error("api method failed", "request_id", cl.id, "project", cl.project, "method", method, "error", err)
		perr = protocol.ErrInternal
	}
	return &gen.Error{Code: perr.Code, Message: perr.Message}
}

// requestID returns the id of the request: the X-Request-Id response header
// (set by Echo's RequestID middleware, or by an earlier call), or a new random
// one, then set in that header.
func requestID(c echo.Context) string {
	header := c.Response().Header()
	if id := header.Get(echo.HeaderXRequestID); id != "" {
		return id
	}
	id := rand.Text()
	header.Set(echo.HeaderXRequestID, id)
	return id
}

// writeJSON writes v without escaping HTML characters, so that raw JSON fields
// (data, info) reach the caller as published.
func writeJSON(c echo.Context, status int, v any) error {
	var buf bytes.Buffer
	if err := encodeLine(&buf, v); err != nil {
		return err
	}
	return c.JSONBlob(status, buf.Bytes())
}

// encodeLine appends v and a newline to buf, HTML characters unescaped.
func encodeLine(buf *bytes.Buffer, v any) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encoding response: %w", err)
	}
	return nil
}

// decodeMessage explains a json.Unmarshal error to the API caller.
func decodeMessage(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		if typeErr.Field == "" {
			return fmt.Sprintf("request body must be a JSON object, got %s", typeErr.Value)
		}
		return fmt.Sprintf("field %q: got %s, want %s", jsonPath(typeErr.Field), typeErr.Value, jsonType(typeErr.Type))
	}
	return "malformed JSON: " + err.Error()
}

// jsonPath drops the Go names of embedded structs (PublishRequest.channel is
// channel): JSON keys are lower case, except the last one (gocent's
// ClientWhitelist).
func jsonPath(field string) string {
	parts := strings.Split(field, ".")
	keep := parts[:0]
	for i, p := range parts {
		if i == len(parts)-1 || p == "" || !unicode.IsUpper(rune(p[0])) {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, ".")
}

// jsonType names the JSON type that decodes into t.
func jsonType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	default:
		return t.String()
	}
}
