# Centrifuge: the one entry point for people and CI. `make help` lists targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

BIN      := bin/centrifuge
LOADGEN  := bin/loadgen
CONFIG   ?= config.local.yaml
GO_MODS  := server bench sdk-go
PYTHON   ?= python3
PY_VENV  := sdk-python/.venv
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X github.com/centrifugehq/centrifuge/server/internal/app.Version=$(VERSION)

# sdk-go's tests skip what needs this repository when run on their own; here
# a missing server or spec must fail them instead.
export CENTRIFUGE_SDK_REQUIRE_ALL := 1

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
generate: $(PY_VENV)/.installed ## Regenerate code from openapi.yaml: server, sdk-go, sdk-python models (committed)
	cd server && go generate ./...
	cd sdk-go && go generate ./...
	cd sdk-python && PYTHONWARNINGS=ignore .venv/bin/datamodel-codegen

.PHONY: lint
lint: ## gofmt and go vet over every module
	@out=$$(gofmt -l $(GO_MODS)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@for m in $(GO_MODS); do (cd $$m && go vet ./...) || exit 1; done

.PHONY: test-go
test-go: ## Go tests with the race detector
	@for m in $(GO_MODS); do (cd $$m && go test -race -count=1 ./...) || exit 1; done

.PHONY: test-interop
test-interop: build ## Stock centrifuge-js (Node, and in Chromium: browser.test.mjs) against the real binary
	cd tests/interop && npm ci --no-audit --no-fund --loglevel=error && CENTRIFUGE_BIN=$(CURDIR)/$(BIN) node --test --test-concurrency=1 *.test.mjs

.PHONY: test-browser
test-browser: build ## Only the Chromium tests: every transport, fallback, origins (test-interop runs them too)
	cd tests/interop && npm ci --no-audit --no-fund --loglevel=error && CENTRIFUGE_BIN=$(CURDIR)/$(BIN) node --test --test-concurrency=1 browser.test.mjs

.PHONY: fuzz
fuzz: ## Run every fuzz target in the repo for FUZZTIME each (default 10s; not part of make test)
	FUZZTIME=$(or $(FUZZTIME),10s) scripts/fuzz.sh

.PHONY: soak
soak: ## A bounded soak (SOAK_DURATION, default 3m): churn on every transport, then memory and goroutines back to baseline
	set -o pipefail; cd server && CENTRIFUGE_SOAK=$(or $(SOAK_DURATION),3m) go test -tags soak -count=1 -run '^TestSoak$$' -timeout 20m -v ./internal/app | grep -Ev '^ *(=== (RUN|PAUSE|CONT|NAME)|--- PASS)'

.PHONY: deps
deps: ## Install the system packages tests use (redis-server, redis-tools, nginx, chromium) when missing
	@scripts/deps.sh

.PHONY: bench
bench: deps build ## Load scenarios on the Memory then the Redis engine: table and charts into bench/results/ (~10 min)
	cd bench && go build -o ../$(LOADGEN) ./cmd/loadgen && go run ./cmd/benchrun -server-bin ../$(BIN) -loadgen-bin ../$(LOADGEN) -out results

.PHONY: test-bench-smoke
test-bench-smoke: build ## A second of every load scenario on both engines, so the bench harness cannot rot
	@out=$$(mktemp -d) && trap 'rm -rf "$$out"' EXIT && cd bench && go build -o ../$(LOADGEN) ./cmd/loadgen && \
		go run ./cmd/benchrun -smoke -server-bin ../$(BIN) -loadgen-bin ../$(LOADGEN) -out "$$out"

.PHONY: bench-micro
bench-micro: ## Go micro-benchmarks of the hot paths (compare runs with benchstat)
	cd server && go test -run='^$$' -bench=. -benchmem ./internal/protocol ./internal/hub ./internal/engine/memengine ./internal/engine/redisengine

# Files `make generate` writes; check-generated compares them before and after.
GENERATED = server/internal/api/gen/*.gen.go sdk-go/gen/*.gen.go sdk-python/src/centrifuge_sdk/models.py

.PHONY: check-generated
check-generated: $(PY_VENV)/.installed ## Fail if `make generate` would change generated code (the files are put back)
	@snap=$$(mktemp -d) && trap 'rm -rf "$$snap"' EXIT && \
	for f in $(GENERATED); do mkdir -p "$$snap/$$(dirname $$f)" && cp -p "$$f" "$$snap/$$f"; done && \
	$(MAKE) --no-print-directory generate >/dev/null && status=0 && \
	for f in $(GENERATED); do \
		if ! cmp -s "$$f" "$$snap/$$f"; then \
			echo "$$f is out of date with openapi.yaml: run make generate"; diff -u "$$snap/$$f" "$$f" | head -40; \
			cp -p "$$snap/$$f" "$$f"; status=1; \
		fi; \
	done && \
	if [ $$status = 0 ]; then echo "generated code is up to date with openapi.yaml"; fi; exit $$status

.PHONY: test-go-sdk
test-go-sdk: build ## sdk-go as its users get it (GOWORK=off), against bin/centrifuge
	cd sdk-go && GOWORK=off CENTRIFUGE_BIN=$(CURDIR)/$(BIN) go test -race -count=1 ./...

$(PY_VENV)/.installed: sdk-python/pyproject.toml sdk-python/requirements-dev.txt
	test -x $(PY_VENV)/bin/python || $(PYTHON) -m venv $(PY_VENV)
	$(PY_VENV)/bin/pip install -q -e './sdk-python[crypto,django]' -r sdk-python/requirements-dev.txt
	touch $@

.PHONY: test-python
test-python: build $(PY_VENV)/.installed ## sdk-python: pytest (Memory and Redis) and mypy --strict, in sdk-python/.venv
	cd sdk-python && CENTRIFUGE_BIN=$(CURDIR)/$(BIN) .venv/bin/pytest -q -p no:cacheprovider
	cd sdk-python && .venv/bin/mypy --strict --cache-dir=/dev/null src

.PHONY: test-python-install
test-python-install: ## `pip install ./sdk-python` into a fresh virtualenv, then import it and sign a token
	@venv=$$(mktemp -d) && trap 'rm -rf "$$venv"' EXIT && $(PYTHON) -m venv "$$venv" && \
	"$$venv/bin/pip" install -q ./sdk-python && \
	"$$venv/bin/python" -c 'import centrifuge_sdk as c, importlib.resources as r; \
		assert r.files("centrifuge_sdk").joinpath("py.typed").is_file(); \
		c.Client("http://localhost:8000", "key").close(); c.make_connection_token("s" * 32, "42"); \
		print("installed centrifuge-sdk", c.__version__)'

.PHONY: test-python-compat
test-python-compat: build ## sdk-python's tests and mypy on the oldest Python found (3.9 if installed, else python3 >= 3.9)
	@py=$$(for c in python3.9 $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.9*/bin/python3.9 python3.10 python3.11 python3; do \
		command -v "$$c" >/dev/null 2>&1 && "$$c" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 9))' 2>/dev/null && { echo "$$c"; break; }; done); \
	if [ -z "$$py" ]; then echo "test-python-compat: no Python >= 3.9 with the venv module found: install python3 and python3-venv (scripts/deps.sh does)"; exit 1; fi; \
	echo "test-python-compat: $$("$$py" -V) ($$py)"; \
	venv=sdk-python/.venv-compat; { [ -x $$venv/bin/python ] && [ "$$($$venv/bin/python -V)" = "$$("$$py" -V)" ]; } || { rm -rf $$venv && "$$py" -m venv $$venv; } && \
	$$venv/bin/pip install -q -e './sdk-python[crypto,django]' -r sdk-python/requirements-dev.txt && \
	cd sdk-python && CENTRIFUGE_BIN=$(CURDIR)/$(BIN) .venv-compat/bin/pytest -q -p no:cacheprovider && \
	.venv-compat/bin/mypy --strict --cache-dir=/dev/null src

.PHONY: test
test: deps lint test-go test-go-sdk test-python test-python-install test-python-compat check-generated test-interop test-bench-smoke ## Everything CI runs: lint, Go tests (-race), interop tests, bench smoke, SDKs (Go, Python), generated code
