# imbridge: build, test and demo.
#
#   make build   bin/imbridge
#   make test    everything: lint, unit + PostgreSQL tests, fuzzing, Synapse e2e
#   make lint    go vet, gofmt, staticcheck
#   make unit    go tests with a throwaway PostgreSQL (strict: skips fail)
#   make fuzz    each Fuzz* target for $(FUZZTIME)
#   make bench   bridging latency (p50/p99) and messages per second, in-process
#   make e2e     end-to-end tests against Synapse (installs it on first use)
#   make demo    local Synapse + bridge for trying it by hand
#   make clean   remove build output (not the Synapse cache, not demo-data)
#
# Every build uses -tags goolm: pure-Go olm for end-to-bridge encryption,
# with cgo still on for SQLite.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

GO ?= go
TAGS := goolm
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.7.0
FUZZTIME ?= 5s
DEMO_ARGS ?=
OUT := .build
BIN := bin

export CGO_ENABLED := 1

# Version stamps for `imbridge --version` and the bot's `version` command.
COMMIT := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BUILD_TIME := $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -X main.Commit=$(COMMIT) -X main.BuildTime=$(BUILD_TIME)

.PHONY: build demo-bin test lint vet fmt-check staticcheck unit fuzz bench e2e demo clean testreport

build:
	$(GO) build -tags $(TAGS) -ldflags "$(LDFLAGS)" -o $(BIN)/imbridge ./cmd/imbridge

demo-bin: build
	$(GO) build -tags $(TAGS) -o $(BIN)/imbridge-demo ./cmd/imbridge-demo

# testreport summarises `go test -json` and fails on skips and empty runs.
testreport:
	$(GO) build -o $(BIN)/testreport ./scripts/testreport

test: lint unit fuzz bench e2e
	@echo "==> make test: all passed"

lint: vet fmt-check staticcheck

vet:
	@echo "==> go vet"
	$(GO) vet -tags $(TAGS) ./...
	$(GO) vet -tags $(TAGS),e2e ./...

fmt-check:
	@echo "==> gofmt"
	@files="$$(gofmt -l $$(git ls-files --cached --others --exclude-standard '*.go'))"; \
	if [[ -n "$$files" ]]; then echo "gofmt needed on:"; echo "$$files"; exit 1; fi

staticcheck:
	@echo "==> staticcheck ($(STATICCHECK))"
	$(GO) run $(STATICCHECK) -tags $(TAGS),e2e ./...

# Unit and in-process tests, with PostgreSQL for the database tests. Strict
# mode makes a missing dependency fail instead of skip.
unit: testreport
	@echo "==> go test (unit, in-process, SQLite + PostgreSQL)"
	@mkdir -p $(OUT)
	export IMBRIDGE_PG_DIR=/tmp/imbridge-pg-$$$$; \
	eval "$$(bash scripts/postgres.sh start)"; \
	trap 'bash scripts/postgres.sh stop' EXIT; \
	IMBRIDGE_TEST_STRICT=1 $(GO) test -tags $(TAGS) -count=1 -json ./... > $(OUT)/unit.json || true; \
	$(BIN)/testreport < $(OUT)/unit.json

fuzz:
	@echo "==> fuzzing ($(FUZZTIME) per target)"
	FUZZTIME=$(FUZZTIME) GO_TAGS=$(TAGS) bash scripts/fuzz.sh

# Benchmarks print figures; they are not pass/fail on speed. BENCHTIME=2000x
# gives steadier numbers (the README's figures).
BENCHTIME ?= 200x
bench:
	@echo "==> benchmarks ($(BENCHTIME))"
	$(GO) test -tags $(TAGS) -run '^$$' -bench . -benchtime $(BENCHTIME) ./connectors/lync/

# End-to-end: real Synapse from the sid chroot, the real binary, an
# encrypting Matrix client.
e2e: build testreport
	@echo "==> Synapse (scripts/synapse.sh install; cached after the first run)"
	bash scripts/synapse.sh install
	@echo "==> go test -tags $(TAGS),e2e (Synapse end-to-end)"
	@mkdir -p $(OUT)
	IMBRIDGE_TEST_STRICT=1 IMBRIDGE_BINARY=$(CURDIR)/$(BIN)/imbridge \
		$(GO) test -tags $(TAGS),e2e -count=1 -timeout 20m -json ./e2e/... ./testenv/... > $(OUT)/e2e.json || true
	$(BIN)/testreport < $(OUT)/e2e.json

demo: demo-bin
	$(BIN)/imbridge-demo -binary $(CURDIR)/$(BIN)/imbridge $(DEMO_ARGS)

clean:
	rm -rf $(BIN) $(OUT)

# Figures against the real Synapse of the e2e suite: latency and throughput
# each beside a homeserver-only baseline measured in the same run, memory
# and start-up at scale (docs/bench-e2e.md). Sizes: IMBRIDGE_BENCH_* (see
# e2e/bench_e2e_test.go). It prints figures; it fails when a benchmark
# failed or when none ran, never on a figure.
BENCH_E2E ?= E2E
.PHONY: bench-e2e
bench-e2e: build
	bash scripts/synapse.sh install
	@mkdir -p $(OUT)
	@echo "==> machine: $$(nproc) CPUs, $$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $$(awk '/MemTotal/ {printf "%.1f GiB", $$2/1048576}' /proc/meminfo) RAM, load $$(cut -d' ' -f1-3 /proc/loadavg), Synapse $$(cat $${IMBRIDGE_SYNAPSE_ROOT:-/var/cache/imbridge/synapse-sid}/.imbridge-synapse-installed)"
	IMBRIDGE_TEST_STRICT=1 IMBRIDGE_BINARY=$(CURDIR)/$(BIN)/imbridge \
		$(GO) test -tags $(TAGS),e2e -count=1 -run '^$$' -bench '$(BENCH_E2E)' -benchtime 1x -timeout 50m ./e2e/ | tee $(OUT)/bench-e2e.txt
	@n=$$(grep -cE '^Benchmark[^[:space:]]+[[:space:]]+[0-9]+[[:space:]]' $(OUT)/bench-e2e.txt || true); \
	if [[ "$$n" -eq 0 ]]; then echo "bench-e2e: no benchmark ran"; exit 1; fi; \
	echo "==> bench-e2e: $$n benchmarks; figures kept in $(OUT)/bench-e2e.txt"
