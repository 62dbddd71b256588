// Package admin is a client of the Centrifuge admin API (/admin/api/ on the
// server's root, openapi.yaml's tag admin) for scripts: it authenticates with
// an admin token (admin.tokens in the server's configuration, made by
// `centrifuge admin token`) and returns the generated client, one method per
// operation, whose ...WithResponse variants decode each status's JSON body:
//
//	c, err := admin.New("http://localhost:8000", token)
//	r, err := c.AdminCreateProjectWithResponse(ctx, gen.AdminProject{Name: "shop"})
//	secret := *r.JSON201.Secret
package admin

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/centrifugehq/centrifuge/sdk-go/admin/gen"
)

// New returns a client of the admin API of the server at addr (its root URL,
// e.g. http://localhost:8000) authenticated with token.
func New(addr, token string, opts ...gen.ClientOption) (*gen.ClientWithResponses, error) {
	if token == "" {
		return nil, errors.New("admin: an admin token is required")
	}
	if addr == "" {
		return nil, errors.New("admin: the server address is required")
	}
	bearer := gen.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+token)
		return nil
	})
	return gen.NewClientWithResponses(strings.TrimRight(addr, "/"), append([]gen.ClientOption{bearer}, opts...)...)
}
