package centrifuge

// The HTTP client and models of the server API are generated from openapi.yaml
// at the repository root into package gen. Regenerate with `go generate ./...`
// in this module (or `make generate` at the root); never edit gen/*.gen.go.

//go:generate go tool oapi-codegen -config gen/models.cfg.yaml ../openapi.yaml
//go:generate go tool oapi-codegen -config gen/client.cfg.yaml ../openapi.yaml
