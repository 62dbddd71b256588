package app_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// The admin tests check every JSON answer against openapi.yaml: the admin
// UI and the SDK models are built from it.

var (
	specOnce sync.Once
	specDoc  *openapi3.T
	specErr  error
)

func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	specOnce.Do(func() {
		specDoc, specErr = openapi3.NewLoader().LoadFromFile(filepath.Join("..", "..", "..", "openapi.yaml"))
		if specErr == nil {
			specErr = specDoc.Validate(openapi3.NewLoader().Context)
		}
	})
	if specErr != nil {
		t.Fatalf("openapi.yaml: %v", specErr)
	}
	return specDoc
}

// specTemplate returns the spec path matching a concrete admin path: the one
// with the most literal segments in common.
func specTemplate(doc *openapi3.T, path string) string {
	segs := strings.Split(path, "/")
	best, bestScore := "", -1
	for tmpl := range doc.Paths.Map() {
		ts := strings.Split(tmpl, "/")
		if len(ts) != len(segs) {
			continue
		}
		score := 0
		for i := range ts {
			switch {
			case ts[i] == segs[i]:
				score++
			case strings.HasPrefix(ts[i], "{"):
			default:
				score = -1
			}
			if score < 0 {
				break
			}
		}
		if score > bestScore {
			best, bestScore = tmpl, score
		}
	}
	return best
}

// checkAnswer fails t when a JSON answer does not fit the spec's schema for
// its operation and status (or the spec lists no such status).
func checkAnswer(t *testing.T, method, path string, status int, body any) {
	t.Helper()
	doc := loadSpec(t)
	tmpl := specTemplate(doc, strings.SplitN(path, "?", 2)[0])
	if tmpl == "" {
		t.Errorf("%s %s: no such path in openapi.yaml", method, path)
		return
	}
	op := doc.Paths.Find(tmpl).GetOperation(method)
	if op == nil {
		t.Errorf("%s %s: no such operation in openapi.yaml", method, tmpl)
		return
	}
	ref := op.Responses.Status(status)
	if ref == nil || ref.Value == nil {
		t.Errorf("%s %s: status %d is not in openapi.yaml", method, tmpl, status)
		return
	}
	mt := ref.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		if body != nil && status != http.StatusNoContent {
			t.Errorf("%s %s: %d has a body but no schema in openapi.yaml", method, tmpl, status)
		}
		return
	}
	if err := mt.Schema.Value.VisitJSON(body); err != nil {
		t.Errorf("%s %s: %d answer does not fit openapi.yaml: %v", method, tmpl, status, err)
	}
}
