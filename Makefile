# Centrifuge: the one entry point for people and CI. `make help` lists targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

BIN      := bin/centrifuge
CONFIG   ?= config.local.yaml
GO_MODS  := server
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X github.com/centrifugehq/centrifuge/server/internal/app.Version=$(VERSION)

.PHONY: help
help: ## List targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build the server binary into bin/centrifuge
	go build -ldflags "$(LDFLAGS)" -o $(BIN) ./server/cmd/centrifuge

.PHONY: run
run: build ## Run a server on :8000 (memory engine); creates $(CONFIG) with fresh secrets on first run
	$(BIN) serve --config $(CONFIG) --create-config

.PHONY: generate
generate: ## Regenerate code from openapi.yaml (committed; must leave git status clean)
	cd server && go generate ./...

.PHONY: lint
lint: ## gofmt and go vet over every module
	@out=$$(gofmt -l $(GO_MODS)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@for m in $(GO_MODS); do (cd $$m && go vet ./...) || exit 1; done

.PHONY: test-go
test-go: ## Go tests with the race detector
	@for m in $(GO_MODS); do (cd $$m && go test -race -count=1 ./...) || exit 1; done

.PHONY: test-interop
test-interop: build ## Stock centrifuge-js (Node) against the real binary
	cd tests/interop && npm ci --no-audit --no-fund --loglevel=error && CENTRIFUGE_BIN=$(CURDIR)/$(BIN) node --test --test-concurrency=1 *.test.mjs

.PHONY: fuzz
fuzz: ## Run each fuzz target for a short while
	cd server && go test -run=^$$ -fuzz=FuzzDecodeFrame -fuzztime=20s ./internal/protocol
	cd server && go test -run=^$$ -fuzz=FuzzParse -fuzztime=20s ./internal/channel
	cd server && go test -run=^$$ -fuzz=FuzzVerifyConnect -fuzztime=20s ./internal/auth

.PHONY: deps
deps: ## Install the system packages tests use (redis-server, redis-tools, nginx) when missing
	@scripts/deps.sh

.PHONY: test
test: deps lint test-go test-interop ## Everything CI runs: lint, Go tests (-race), interop tests
