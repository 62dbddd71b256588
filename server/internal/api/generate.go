package api

// The server API's models are generated from
// openapi.yaml at the repository root into package gen. Regenerate with
// `go generate ./internal/api/...` from the server module.

//go:generate go tool oapi-codegen -config gen/types.cfg.yaml ../../../openapi.yaml
