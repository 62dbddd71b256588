package admin

// The client and models of the admin API are generated from the operations
// tagged admin in openapi.yaml at the repository root into package gen.
// Regenerate with `make generate`; never edit gen/*.gen.go.

//go:generate go tool oapi-codegen -config gen/client.cfg.yaml ../../openapi.yaml
