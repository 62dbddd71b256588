package api

import (
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The routes come from the method table, not from generated code: every
// operation of openapi.yaml must have its method, and every method but the
// Centrifugo PRO ones (which only answer 104) its operation.
func TestMethodTableMatchesSpec(t *testing.T) {
	raw, err := os.ReadFile("../../../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Paths map[string]struct {
			Post *struct {
				Tags []string `yaml:"tags"`
			} `yaml:"post"`
		} `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	var ops []string
	for path, item := range spec.Paths {
		if item.Post == nil || strings.Contains(path, "admin") || slices.Contains(item.Post.Tags, "admin") {
			continue // the admin API is served elsewhere
		}
		ops = append(ops, strings.TrimPrefix(path, "/"))
	}
	var served []string
	for _, m := range methods {
		if !m.pro {
			served = append(served, m.name)
		}
	}
	slices.Sort(ops)
	slices.Sort(served)
	if !slices.Equal(ops, served) {
		t.Errorf("methods served %v, openapi.yaml operations %v", served, ops)
	}
}
