package admin

// The admin API's models and Echo server interface are generated from the
// operations tagged admin in openapi.yaml at the repository root into package
// gen. Regenerate with `make generate`.

//go:generate go tool oapi-codegen -config gen/types.cfg.yaml ../../../openapi.yaml
//go:generate go tool oapi-codegen -config gen/server.cfg.yaml ../../../openapi.yaml
