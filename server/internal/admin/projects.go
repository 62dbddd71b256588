package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/centrifugehq/centrifuge/server/internal/admin/gen"
	"github.com/centrifugehq/centrifuge/server/internal/auth"
	"github.com/centrifugehq/centrifuge/server/internal/config"
	"github.com/centrifugehq/centrifuge/server/internal/structure"
)

// badRequest is a body that does not decode into the expected shape (400).
type badRequest struct{ msg, field string }

func (e *badRequest) Error() string { return e.msg }

// namespaceError is about a namespace (404 unknown, 409 exists).
type namespaceError struct {
	status int
	msg    string
}

func (e *namespaceError) Error() string { return e.msg }

// answer writes the error of a handler's store operation.
func (h *Handler) answer(c echo.Context, err error) error {
	var br *badRequest
	var ne *namespaceError
	switch {
	case errors.As(err, &br):
		return fail(c, http.StatusBadRequest, br.msg, br.field)
	case errors.As(err, &ne):
		return fail(c, ne.status, ne.msg, "")
	}
	return h.storeError(c, err)
}

// projectJSON is a project as the admin API shows it: namespaces never null.
func projectJSON(p structure.Project) structure.Project {
	if p.Namespaces == nil {
		p.Namespaces = []structure.Namespace{}
	}
	return p
}

// AdminListProjects implements gen.ServerInterface.
func (h *Handler) AdminListProjects(c echo.Context) error {
	ps, err := h.node.Store().Load(c.Request().Context())
	if err != nil {
		return h.answer(c, err)
	}
	for i := range ps {
		ps[i] = projectJSON(ps[i])
	}
	return c.JSON(http.StatusOK, map[string]any{"projects": ps})
}

// AdminGetProject implements gen.ServerInterface.
func (h *Handler) AdminGetProject(c echo.Context, project string) error {
	p, err := h.node.Store().Get(c.Request().Context(), project)
	if err != nil {
		return h.answer(c, err)
	}
	return c.JSON(http.StatusOK, projectJSON(p))
}

// AdminCreateProject implements gen.ServerInterface.
func (h *Handler) AdminCreateProject(c echo.Context) error {
	var p structure.Project
	if ok, err := readBody(c, &p); !ok {
		return err
	}
	var err error
	if p.Secret == "" {
		if p.Secret, err = config.RandomSecret(); err != nil {
			return err
		}
	}
	if p.APIKey == "" {
		if p.APIKey, err = config.RandomSecret(); err != nil {
			return err
		}
	}
	ctx := c.Request().Context()
	if err := h.node.Store().Create(ctx, p); err != nil {
		return h.answer(c, err)
	}
	h.changed(ctx)
	h.log.Info("admin: project created", "project", p.Name)
	return c.JSON(http.StatusCreated, projectJSON(p))
}

// AdminUpdateProject implements gen.ServerInterface.
func (h *Handler) AdminUpdateProject(c echo.Context, project string) error {
	var patch map[string]json.RawMessage
	if ok, err := readBody(c, &patch); !ok {
		return err
	}
	if raw, ok := patch["name"]; ok {
		var name string
		if json.Unmarshal(raw, &name) != nil || name != project {
			return fail(c, http.StatusUnprocessableEntity, "a project's name cannot change", "name")
		}
		delete(patch, "name")
	}
	if _, ok := patch["namespaces"]; ok {
		return fail(c, http.StatusUnprocessableEntity, "change namespaces through /admin/api/projects/{project}/namespaces", "namespaces")
	}
	return h.update(c, project, "project updated", func(p *structure.Project) error {
		return mergeInto(p, patch)
	})
}

// update runs a store update, applies it on every node and answers with
// the project.
func (h *Handler) update(c echo.Context, project, what string, fn func(p *structure.Project) error) error {
	ctx := c.Request().Context()
	p, err := h.node.Store().Update(ctx, project, fn)
	if err != nil {
		return h.answer(c, err)
	}
	h.changed(ctx)
	h.log.Info("admin: "+what, "project", project)
	return c.JSON(http.StatusOK, projectJSON(p))
}

// mergeInto applies a JSON merge patch (RFC 7386) to v: keys present
// replace, null resets to the default, objects merge key by key.
func mergeInto(v any, patch map[string]json.RawMessage) error {
	cur, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(cur, &doc); err != nil {
		return err
	}
	var p map[string]any
	raw, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return err
	}
	merged, err := json.Marshal(mergeMaps(doc, p))
	if err != nil {
		return err
	}
	if err := decodeStrict(merged, resetOf(v)); err != nil {
		msg, field := decodeError(err, raw)
		return &badRequest{msg: msg, field: field}
	}
	return nil
}

// resetOf zeroes v (a pointer) so that decoding fills only what the merged
// document holds, and returns it.
func resetOf(v any) any {
	switch x := v.(type) {
	case *structure.Project:
		*x = structure.Project{}
	case *structure.ChannelOptions:
		*x = structure.ChannelOptions{}
	}
	return v
}

func mergeMaps(doc, patch map[string]any) map[string]any {
	for k, pv := range patch {
		if pv == nil {
			delete(doc, k)
			continue
		}
		pm, pIsMap := pv.(map[string]any)
		dm, dIsMap := doc[k].(map[string]any)
		if pIsMap && dIsMap {
			doc[k] = mergeMaps(dm, pm)
			continue
		}
		doc[k] = pv
	}
	return doc
}

// AdminDeleteProject implements gen.ServerInterface.
func (h *Handler) AdminDeleteProject(c echo.Context, project string) error {
	ctx := c.Request().Context()
	if err := h.node.Store().Delete(ctx, project); err != nil {
		return h.answer(c, err)
	}
	h.changed(ctx)
	h.log.Info("admin: project deleted", "project", project)
	return c.NoContent(http.StatusNoContent)
}

// AdminRegenerateSecret implements gen.ServerInterface.
func (h *Handler) AdminRegenerateSecret(c echo.Context, project string) error {
	return h.update(c, project, "secret regenerated", func(p *structure.Project) error {
		s, err := config.RandomSecret()
		p.Secret = s
		return err
	})
}

// AdminRegenerateAPIKey implements gen.ServerInterface.
func (h *Handler) AdminRegenerateAPIKey(c echo.Context, project string) error {
	return h.update(c, project, "API key regenerated", func(p *structure.Project) error {
		k, err := config.RandomSecret()
		p.APIKey = k
		return err
	})
}

// ---- namespaces ----

func findNamespace(p *structure.Project, name string) int {
	for i := range p.Namespaces {
		if p.Namespaces[i].Name == name {
			return i
		}
	}
	return -1
}

func unknownNamespace(project, name string) error {
	return &namespaceError{status: http.StatusNotFound, msg: fmt.Sprintf("project %q has no namespace %q", project, name)}
}

// namespaceAnswer answers a namespace write: the namespace, its validation
// errors with fields relative to the namespace.
func (h *Handler) namespaceAnswer(c echo.Context, status int, p structure.Project, name string, err error) error {
	if err != nil {
		var fe *structure.FieldError
		if errors.As(err, &fe) {
			field := strings.TrimPrefix(fe.Field, "namespaces."+name+".")
			return fail(c, http.StatusUnprocessableEntity, fe.Msg, field)
		}
		return h.answer(c, err)
	}
	h.changed(c.Request().Context())
	if i := findNamespace(&p, name); i >= 0 {
		return c.JSON(status, p.Namespaces[i])
	}
	return c.NoContent(http.StatusNoContent)
}

// AdminListNamespaces implements gen.ServerInterface.
func (h *Handler) AdminListNamespaces(c echo.Context, project string) error {
	p, err := h.node.Store().Get(c.Request().Context(), project)
	if err != nil {
		return h.answer(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{"namespaces": projectJSON(p).Namespaces})
}

// AdminGetNamespace implements gen.ServerInterface.
func (h *Handler) AdminGetNamespace(c echo.Context, project, namespace string) error {
	p, err := h.node.Store().Get(c.Request().Context(), project)
	if err != nil {
		return h.answer(c, err)
	}
	i := findNamespace(&p, namespace)
	if i < 0 {
		return h.answer(c, unknownNamespace(project, namespace))
	}
	return c.JSON(http.StatusOK, p.Namespaces[i])
}

// AdminCreateNamespace implements gen.ServerInterface.
func (h *Handler) AdminCreateNamespace(c echo.Context, project string) error {
	var ns structure.Namespace
	if ok, err := readBody(c, &ns); !ok {
		return err
	}
	if !structure.NameRe.MatchString(ns.Name) {
		return fail(c, http.StatusUnprocessableEntity, fmt.Sprintf("namespace name %q must match %s", ns.Name, structure.NameRe), "name")
	}
	p, err := h.node.Store().Update(c.Request().Context(), project, func(p *structure.Project) error {
		if findNamespace(p, ns.Name) >= 0 {
			return &namespaceError{status: http.StatusConflict, msg: fmt.Sprintf("project %q has a namespace %q already", project, ns.Name)}
		}
		p.Namespaces = append(p.Namespaces, ns)
		return nil
	})
	return h.namespaceAnswer(c, http.StatusCreated, p, ns.Name, err)
}

// AdminUpdateNamespace implements gen.ServerInterface.
func (h *Handler) AdminUpdateNamespace(c echo.Context, project, namespace string) error {
	var patch map[string]json.RawMessage
	if ok, err := readBody(c, &patch); !ok {
		return err
	}
	for k, raw := range patch {
		switch k {
		case "options":
		case "name":
			var name string
			if json.Unmarshal(raw, &name) != nil || name != namespace {
				return fail(c, http.StatusUnprocessableEntity, "a namespace's name cannot change", "name")
			}
		default:
			return fail(c, http.StatusBadRequest, fmt.Sprintf("unknown field %q", k), k)
		}
	}
	var optPatch map[string]json.RawMessage
	if raw, ok := patch["options"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &optPatch); err != nil {
			return fail(c, http.StatusBadRequest, `field "options": want an object`, "options")
		}
	}
	p, err := h.node.Store().Update(c.Request().Context(), project, func(p *structure.Project) error {
		i := findNamespace(p, namespace)
		if i < 0 {
			return unknownNamespace(project, namespace)
		}
		if string(patch["options"]) == "null" {
			p.Namespaces[i].Options = structure.ChannelOptions{}
			return nil
		}
		if err := mergeInto(&p.Namespaces[i].Options, optPatch); err != nil {
			var br *badRequest
			if errors.As(err, &br) && br.field != "" {
				br.field = "options." + br.field
			}
			return err
		}
		return nil
	})
	return h.namespaceAnswer(c, http.StatusOK, p, namespace, err)
}

// AdminDeleteNamespace implements gen.ServerInterface.
func (h *Handler) AdminDeleteNamespace(c echo.Context, project, namespace string) error {
	p, err := h.node.Store().Update(c.Request().Context(), project, func(p *structure.Project) error {
		i := findNamespace(p, namespace)
		if i < 0 {
			return unknownNamespace(project, namespace)
		}
		p.Namespaces = append(p.Namespaces[:i], p.Namespaces[i+1:]...)
		return nil
	})
	return h.namespaceAnswer(c, http.StatusNoContent, p, namespace, err)
}

// ---- tokens ----

// tokenRequest is gen.AdminTokenRequest as decoded (info kept raw).
type tokenRequest struct {
	User       string          `json:"user"`
	TTLSeconds *int            `json:"ttl_seconds"`
	Info       json.RawMessage `json:"info"`
	Channels   []string        `json:"channels"`
	Channel    string          `json:"channel"`
}

const (
	defaultTokenTTL = time.Hour
	maxTokenTTL     = 365 * 24 * time.Hour
	maxTokenUser    = 256
	maxTokenChans   = 1000
)

// AdminCreateToken implements gen.ServerInterface.
func (h *Handler) AdminCreateToken(c echo.Context, project string) error {
	var req tokenRequest
	if ok, err := readBody(c, &req); !ok {
		return err
	}
	p, err := h.node.Store().Get(c.Request().Context(), project)
	if err != nil {
		return h.answer(c, err)
	}
	ttl := defaultTokenTTL
	switch {
	case len(req.User) > maxTokenUser:
		return fail(c, http.StatusUnprocessableEntity, fmt.Sprintf("user must be at most %d bytes", maxTokenUser), "user")
	case len(req.Channels) > maxTokenChans:
		return fail(c, http.StatusUnprocessableEntity, fmt.Sprintf("at most %d channels", maxTokenChans), "channels")
	case req.Channel != "" && len(req.Channels) > 0:
		return fail(c, http.StatusUnprocessableEntity, "channel (a subscription token) and channels (a connection token) are exclusive", "channel")
	case p.Secret == "":
		return fail(c, http.StatusUnprocessableEntity, fmt.Sprintf("project %q has no secret: its tokens are signed by your RS256/ES256 signer", project), "")
	}
	if req.TTLSeconds != nil {
		ttl = time.Duration(*req.TTLSeconds) * time.Second
		if ttl <= 0 || ttl > maxTokenTTL {
			return fail(c, http.StatusUnprocessableEntity, fmt.Sprintf("ttl_seconds must be within 1..%d", int(maxTokenTTL/time.Second)), "ttl_seconds")
		}
	}
	var token string
	if req.Channel != "" {
		token, err = auth.NewSubscribeToken(p.Secret, req.User, req.Channel, ttl, req.Info)
	} else {
		token, err = auth.NewConnectToken(p.Secret, req.User, ttl, req.Info, req.Channels)
	}
	if err != nil {
		return fail(c, http.StatusUnprocessableEntity, err.Error(), "")
	}
	return c.JSON(http.StatusOK, gen.AdminTokenResponse{Token: token})
}
