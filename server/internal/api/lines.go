package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/centrifugehq/centrifuge/server/internal/protocol"
)

func tooManyCommands(n int) string {
	return fmt.Sprintf("%d commands, at most %d are allowed", n, MaxBatchCommands)
}

// serveLines answers POST /api and /api/<project>: one JSON command per line,
// {"method": "...", "params": {...}}, run in order; one JSON reply per
// command, {"result": ...} or {"error": ...}. A bad line is an error in its
// own reply line, so replies always match commands one to one.
func (h *Handler) serveLines(c echo.Context) error {
	cl, body, err := h.begin(c)
	if err != nil {
		return err
	}
	var cmds [][]byte
	for l := range bytes.SplitSeq(body, []byte("\n")) {
		if l = bytes.TrimSpace(l); len(l) > 0 {
			cmds = append(cmds, l)
		}
	}
	if len(cmds) > MaxBatchCommands {
		return echo.NewHTTPError(http.StatusBadRequest, tooManyCommands(len(cmds)))
	}
	ctx := c.Request().Context()
	var out bytes.Buffer
	for _, raw := range cmds {
		var cmd struct {
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
		}
		var resp response
		switch err := decodeParams(raw, &cmd); {
		case err != nil:
			resp = h.response(cl, "", nil, err)
		case lookup(cmd.Method) == nil:
			resp = h.response(cl, "", nil, protocol.ErrMethodNotFound.WithMessage(fmt.Sprintf("method not found: %q", cmd.Method)))
		default:
			res, err := h.runTimed(ctx, lookup(cmd.Method), cl, cmd.Params)
			resp = h.response(cl, cmd.Method, res, err)
		}
		if err := encodeLine(&out, resp); err != nil {
			return err
		}
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, out.Bytes())
}
