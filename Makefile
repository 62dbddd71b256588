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
run: build ## Run a server on :8000 (memory engine, projects kept in data/); creates $(CONFIG) with fresh secrets and admin password on first run
	$(BIN) serve --config $(CONFIG) --create-config --data-dir data

.PHONY: generate
generate: $(PY_VENV)/.installed ## Regenerate code from openapi.yaml and codes.yaml: server, sdk-go, sdk-python, sdk-js (committed)
	cd server && go generate ./...
	cd sdk-go && go generate ./...
	cd sdk-python && PYTHONWARNINGS=ignore .venv/bin/datamodel-codegen
	$(MAKE) --no-print-directory sdk-js/node_modules/.package-lock.json && cd sdk-js && npm run --silent generate

.PHONY: lint
lint: lint-platforms lint-tidy ## gofmt and go vet over every module, for Linux, macOS and Windows; go mod tidy drift
	@out=$$(gofmt -l $(GO_MODS)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@for m in $(GO_MODS); do (cd $$m && go vet ./...) || exit 1; done

# The platforms every module must build (and vet, tests included) for, besides
# the host's: Linux-only code lives in _linux.go files with a portable fallback.
CROSS_PLATFORMS := linux/amd64 darwin/arm64 windows/amd64

.PHONY: lint-platforms
lint-platforms: ## go vet (so a build, tests included) of every module for each of $(CROSS_PLATFORMS)
	@for p in $(CROSS_PLATFORMS); do for m in $(GO_MODS); do \
		(cd $$m && GOOS=$${p%/*} GOARCH=$${p#*/} go vet ./...) || { echo "$$m does not build for $$p"; exit 1; }; \
	done; done

.PHONY: lint-tidy
lint-tidy: ## Fail if `go mod tidy` would change any module's go.mod or go.sum
	@for m in $(GO_MODS); do (cd $$m && go mod tidy -diff) || { echo "$$m: run go mod tidy"; exit 1; }; done

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

# The peer the bench compares with: Centrifugo v6, built outside go.work (it is
# no dependency of ours, and not part of make test) into bin/peer/.
PEER_VERSION ?= v6.9.1
PEER_BIN     := bin/peer/centrifugo
PEER_STEPS   ?= ^(conns-10000|fanout-flat-5000|fanout-rate100-1000|personal-10000|personal-rate-10000|personal-high-10000)$$

.PHONY: bench-peer-build
bench-peer-build: ## Build the peer, Centrifugo $(PEER_VERSION), into bin/peer/centrifugo (outside go.work; needs the Go module proxy)
	GOWORK=off GOBIN=$(CURDIR)/bin/peer go install github.com/centrifugal/centrifugo/v6@$(PEER_VERSION)

.PHONY: bench-peer
bench-peer: deps build bench-peer-build ## The steps that matter (PEER_STEPS), ours then the peer's, each on both engines: bench/results-peer/{centrifuge,centrifugo}/
	cd bench && go build -o ../$(LOADGEN) ./cmd/loadgen && for kind in centrifuge centrifugo; do \
		go run ./cmd/benchrun -server-kind $$kind -loadgen-bin ../$(LOADGEN) -only '$(PEER_STEPS)' -out results-peer/$$kind || exit 1; done

.PHONY: bench-micro
bench-micro: ## Go micro-benchmarks of the hot paths (compare runs with benchstat)
	cd server && go test -run='^$$' -bench=. -benchmem ./internal/protocol ./internal/node ./internal/engine/memengine ./internal/engine/redisengine

# Files `make generate` writes; check-generated compares them before and after.
GENERATED = server/internal/api/gen/*.gen.go sdk-go/gen/*.gen.go sdk-python/src/centrifuge_sdk/models.py \
            server/internal/protocol/codes.gen.go sdk-go/codes.gen.go sdk-python/src/centrifuge_sdk/codes.py sdk-js/src/codes.gen.ts \
            sdk-js/src/server/openapi.gen.ts
# The admin API (openapi.yaml's tag admin): its own server interface and models.
GENERATED += server/internal/admin/gen/*.gen.go sdk-go/admin/gen/*.gen.go

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

# tests/compat: the official Centrifugo backend libraries, pinned, unchanged,
# against bin/centrifuge. The gocent module is outside go.work and GO_MODS (it
# resolves gocent as a user's module does, and its tests need the binary), so
# this target checks its formatting and vet itself.
COMPAT_VENV := tests/compat/.venv

$(COMPAT_VENV)/.installed: tests/compat/cent/requirements.txt
	test -x $(COMPAT_VENV)/bin/python || $(PYTHON) -m venv $(COMPAT_VENV)
	$(COMPAT_VENV)/bin/pip install -q -r tests/compat/cent/requirements.txt
	touch $@

.PHONY: test-compat
test-compat: deps build $(COMPAT_VENV)/.installed ## cent 5.2.0 (sync and async) and gocent v3.4.0 (Memory and Redis engines), unchanged, against bin/centrifuge
	@out=$$(gofmt -l tests/compat/gocent); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	cd tests/compat/gocent && GOWORK=off go vet ./... && \
		for engine in memory redis; do COMPAT_ENGINE=$$engine GOWORK=off CENTRIFUGE_BIN=$(CURDIR)/$(BIN) go test -race -count=1 ./... || exit 1; done
	cd tests/compat/cent && CENTRIFUGE_BIN=$(CURDIR)/$(BIN) ../.venv/bin/pytest -q -p no:cacheprovider

# sdk-js: the browser client and Node server-API client (@centrifuge/sdk).
SDKJS_SRC := $(shell find sdk-js/src -type f 2>/dev/null) sdk-js/build.mjs sdk-js/tsconfig.json sdk-js/package.json

sdk-js/node_modules/.package-lock.json: sdk-js/package-lock.json
	cd sdk-js && npm ci --no-audit --no-fund --loglevel=error

sdk-js/dist/centrifuge.js: sdk-js/node_modules/.package-lock.json $(SDKJS_SRC)
	cd sdk-js && npm run --silent build

.PHONY: sdk-js
sdk-js: sdk-js/dist/centrifuge.js ## Build sdk-js/dist: ESM (index.js, server/index.js, .d.ts) and the <script> bundle centrifuge.js

# examples/: a Django and a Rails blog whose comments appear live (examples/*/README.md).
EX_DJANGO_VENV := examples/django/.venv
SDKPY_SRC := $(shell find sdk-python/src -name '*.py' 2>/dev/null) sdk-python/pyproject.toml

.PHONY: sdk-python-wheel
sdk-python-wheel: ## Build sdk-python/dist/centrifuge_sdk-<version>-py3-none-any.whl (examples/django/requirements.txt installs it)
	rm -rf sdk-python/dist && $(PYTHON) -m pip wheel -q --no-deps -w sdk-python/dist ./sdk-python

# The requirements file is installed from / on purpose: its lines work from any directory.
$(EX_DJANGO_VENV)/.installed: examples/django/requirements.txt $(SDKPY_SRC)
	$(MAKE) --no-print-directory sdk-python-wheel
	test -x $(EX_DJANGO_VENV)/bin/python || $(PYTHON) -m venv $(EX_DJANGO_VENV)
	cd / && $(CURDIR)/$(EX_DJANGO_VENV)/bin/pip install -q -r $(CURDIR)/examples/django/requirements.txt
	$(EX_DJANGO_VENV)/bin/pip install -q --no-deps --force-reinstall $(CURDIR)/sdk-python/dist/centrifuge_sdk-*.whl

examples/browser/node_modules/.package-lock.json: examples/browser/package-lock.json
	cd examples/browser && npm ci --no-audit --no-fund --loglevel=error

.PHONY: example-django
example-django: build sdk-js $(EX_DJANGO_VENV)/.installed ## The Django example: server :8000 + Django :8001 (examples/django/README.md)
	examples/run.sh django

.PHONY: example-rails
example-rails: build sdk-js ## The Rails example: server :8000 + Rails :8002 (examples/rails/README.md)
	examples/run.sh rails

.PHONY: examples
examples: build sdk-js $(EX_DJANGO_VENV)/.installed ## Both examples against one server: :8000, Django :8001, Rails :8002
	examples/run.sh all

.PHONY: test-examples
test-examples: deps build sdk-js $(EX_DJANGO_VENV)/.installed examples/browser/node_modules/.package-lock.json ## The examples: Django's test runner, Rails' minitest, both in Chromium
	cd examples/django && CENTRIFUGE_BIN=$(CURDIR)/$(BIN) .venv/bin/python manage.py test --settings=blogsite.settings_test -v 1 blog
	cd examples/rails && CENTRIFUGE_BIN=$(CURDIR)/$(BIN) bin/rails test
	cd examples/browser && CENTRIFUGE_BIN=$(CURDIR)/$(BIN) node --test --test-concurrency=1 django.test.mjs rails.test.mjs

.PHONY: sdk-js-measure
sdk-js-measure: build sdk-js ## sdk-js: one Chromium page, 1,000 subscriptions, 10,000 publications/s: delivery, latency, frames (SUBS, RATE, DURATION)
	cd tests/interop && npm ci --no-audit --no-fund --loglevel=error
	cd sdk-js && CENTRIFUGE_BIN=$(CURDIR)/$(BIN) node --test --test-reporter=spec test/measure/load.measure.mjs

.PHONY: test-js
test-js: build sdk-js/node_modules/.package-lock.json ## sdk-js: typecheck, unit tests, bundle size; Chromium e2e against bin/centrifuge (memory; again on 2 Redis nodes behind nginx); npm pack
	cd tests/interop && npm ci --no-audit --no-fund --loglevel=error
	cd sdk-js && npm test && CENTRIFUGE_BIN=$(CURDIR)/$(BIN) node --test --test-concurrency=1 --test-timeout=120000 test/e2e/*.test.mjs
	cd sdk-js && CENTRIFUGE_BIN=$(CURDIR)/$(BIN) SDKJS_E2E_CLUSTER=1 node --test --test-concurrency=1 --test-timeout=120000 test/e2e/browser.test.mjs

.PHONY: test
test: deps lint test-go test-go-sdk test-python test-python-install test-python-compat check-generated test-interop test-bench-smoke test-compat test-js test-examples test-admin-ui ## Everything CI runs: lint (3 platforms, tidy), Go tests (-race), SDKs (Go, Python, JS), generated code, interop, compat, admin UI, examples, bench smoke

# Admin UI (server/web): built into server/web/dist, which is committed and
# embedded with go:embed, so `go build` needs no Node; `make generate` rebuilds
# it and check-generated fails when the committed files differ from a build.
server/web/node_modules/.package-lock.json: server/web/package-lock.json
	cd server/web && npm ci --no-audit --no-fund --loglevel=error

.PHONY: web
web: server/web/node_modules/.package-lock.json ## Type-check and rebuild the admin UI into server/web/dist (commit the result)
	cd server/web && npm run --silent check && npm run --silent build

generate: web

.PHONY: check-web
check-web: server/web/node_modules/.package-lock.json ## Type-check the admin UI; fail if server/web/dist differs from a fresh build of server/web/src
	@out=$$(mktemp -d) && trap 'rm -rf "$$out"' EXIT && cd server/web && npm run --silent check && node build.mjs "$$out/dist" >/dev/null && \
	if ! diff -r dist "$$out/dist" >/dev/null; then \
		echo "server/web/dist is out of date with server/web/src (or sdk-js/src): run make web"; diff -r dist "$$out/dist" | head -20; exit 1; \
	fi; echo "admin UI assets are up to date"

check-generated: check-web

.PHONY: test-admin-ui
test-admin-ui: build ## Admin UI in Chromium against bin/centrifuge (memory; two nodes on Redis; admin disabled); screenshots into tests/interop/adminui/output/
	cd tests/interop && npm ci --no-audit --no-fund --loglevel=error && CENTRIFUGE_BIN=$(CURDIR)/$(BIN) node --test --test-concurrency=1 adminui/*.test.mjs

