package protocol

// The code tables of the server (codes.gen.go) and of every SDK are generated
// from codes.yaml at the repository root; `make generate` runs this.

//go:generate go run ./gencodes -spec ../../../codes.yaml -root ../../..
