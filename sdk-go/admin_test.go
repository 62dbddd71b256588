package centrifuge_test

import (
	"net/http"
	"testing"

	"github.com/centrifugehq/centrifuge/sdk-go/admin"
	"github.com/centrifugehq/centrifuge/sdk-go/admin/gen"
)

// TestAdminClient drives the admin API through the generated client against
// the real server, on both engines.
func TestAdminClient(t *testing.T) {
	if _, err := admin.New("http://x", ""); err == nil {
		t.Fatal("a client without a token")
	}
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			s := serverFor(t, engine)
			ctx := t.Context()
			c, err := admin.New(s.url(), adminToken)
			if err != nil {
				t.Fatal(err)
			}
			name := uniq("adm")
			display := "Shop"
			created, err := c.AdminCreateProjectWithResponse(ctx, gen.AdminProject{Name: name, DisplayName: &display})
			if err != nil || created.JSON201 == nil || created.JSON201.Secret == nil || len(*created.JSON201.Secret) < 32 {
				t.Fatalf("create: %v %d %s", err, created.StatusCode(), created.Body)
			}
			dup, err := c.AdminCreateProjectWithResponse(ctx, gen.AdminProject{Name: name})
			if err != nil || dup.JSON409 == nil || dup.JSON409.Error.Message == "" {
				t.Fatalf("duplicate: %v %d %s", err, dup.StatusCode(), dup.Body)
			}
			size, ttl := 10, "60s"
			patched, err := c.AdminUpdateProjectWithResponse(ctx, name, gen.AdminProjectPatch{Options: &gen.AdminChannelOptions{HistorySize: &size, HistoryTTL: &ttl}})
			if err != nil || patched.JSON200 == nil || *patched.JSON200.Options.HistorySize != 10 {
				t.Fatalf("patch: %v %d %s", err, patched.StatusCode(), patched.Body)
			}
			ns, err := c.AdminCreateNamespaceWithResponse(ctx, name, gen.AdminNamespace{Name: "chat"})
			if err != nil || ns.JSON201 == nil || ns.JSON201.Name != "chat" {
				t.Fatalf("namespace: %v %d %s", err, ns.StatusCode(), ns.Body)
			}
			regen, err := c.AdminRegenerateSecretWithResponse(ctx, name)
			if err != nil || regen.JSON200 == nil || *regen.JSON200.Secret == *created.JSON201.Secret {
				t.Fatalf("regenerate secret: %v %d %s", err, regen.StatusCode(), regen.Body)
			}
			pub, err := c.AdminServerAPIWithResponse(ctx, name, "publish", gen.AdminServerAPIJSONRequestBody{"channel": "news", "data": map[string]any{"x": 1}})
			if err != nil || pub.JSON200 == nil || (*pub.JSON200)["result"] == nil {
				t.Fatalf("server API: %v %d %s", err, pub.StatusCode(), pub.Body)
			}
			nodes, err := c.AdminNodesWithResponse(ctx)
			if err != nil || nodes.JSON200 == nil || len(nodes.JSON200.Nodes) == 0 || nodes.JSON200.Nodes[0].Engine != engine {
				t.Fatalf("nodes: %v %d %s", err, nodes.StatusCode(), nodes.Body)
			}
			del, err := c.AdminDeleteProjectWithResponse(ctx, name)
			if err != nil || del.StatusCode() != http.StatusNoContent {
				t.Fatalf("delete: %v %d %s", err, del.StatusCode(), del.Body)
			}
			wrong, err := admin.New(s.url(), "not-the-admin-token-0123456789abcdef")
			if err != nil {
				t.Fatal(err)
			}
			if r, err := wrong.AdminListProjectsWithResponse(ctx); err != nil || r.JSON401 == nil {
				t.Fatalf("wrong token: %v %d %s", err, r.StatusCode(), r.Body)
			}
		})
	}
}
