# imbridge: build, test and demo.
#
#   make build   bin/imbridge
#   make test    everything CI runs: lint, unit (with the fuzz corpora and
#                the race detector), bench smoke run, Synapse e2e
#   make lint    go vet, gofmt, staticcheck
#   make unit    go tests with a throwaway PostgreSQL, via gotestsum; strict:
#                a skip, or a package whose tests ran zero tests, fails
#   make race    only the -race part of `make unit`
#   make fuzz    exploratory fuzzing, each Fuzz* target for $(FUZZTIME)
#                (developers run it; CI does not)
#   make bench   bridging latency (p50/p99) and messages per second, in-process
#   make bench-e2e  the same against the real Synapse, beside direct sends; memory and start-up at scale
#   make e2e     end-to-end tests against Synapse (installs it on first use)
#   make demo    local Synapse + bridge for trying it by hand
#   make generate  config.example.yaml and registration.yaml from the binary
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
# gotestsum runs go test and prints the results; its exit status is go
# test's. teststrict adds what gotestsum does not fail on (skips, packages
# that ran zero tests).
GOTESTSUM := $(GO) tool gotestsum --format pkgname-and-test-fails --format-hide-empty-pkg
TESTSTRICT := $(GO) run ./scripts/teststrict
FUZZTIME ?= 60s
FUZZMINIMIZETIME ?= 10s
OUT := .build
BIN := bin

# make demo: the demo's ports (see README "Demo"); they are fixed on the
# first run and kept in demo-data afterwards, apart from the homeserver's.
DEMO_DATA ?= ./demo-data
DEMO_HS_PORT ?= 8008
DEMO_BRIDGE_PORT ?= 29340
DEMO_LYNC_PORT ?= 29341
DEMO_METRICS_PORT ?= 29342
DEMO_TEAMS_PORT ?= 29343
DEMO_ARGS ?=

export CGO_ENABLED := 1

# Version stamps for `imbridge --version` and the bot's `version` command.
COMMIT := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BUILD_TIME := $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -X main.Commit=$(COMMIT) -X main.BuildTime=$(BUILD_TIME)

.PHONY: build demo-bin test lint vet fmt-check staticcheck unit race fuzz bench e2e demo generate clean

build:
	$(GO) build -tags $(TAGS) -ldflags "$(LDFLAGS)" -o $(BIN)/imbridge ./cmd/imbridge

demo-bin: build
	$(GO) build -tags $(TAGS) -o $(BIN)/imbridge-demo ./cmd/imbridge-demo

# The fuzz corpora (seeds plus testdata/fuzz/) run as regression tests
# inside `unit`; exploratory fuzzing is `make fuzz`, not part of CI.
test: lint unit bench e2e
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

# with-postgres starts a throwaway PostgreSQL for the rest of the recipe
# line and stops it when the shell exits, whatever the tests returned.
with-postgres = export IMBRIDGE_PG_DIR=/tmp/imbridge-pg-$$$$; eval "$$(bash scripts/postgres.sh start)"; trap 'bash scripts/postgres.sh stop' EXIT

# $(call gotest,NAME,ARGS): one strict gotestsum run, its log in
# $(OUT)/NAME.json. teststrict runs even when tests failed (it may name more
# problems); the line fails if either did.
gotest = rc=0; IMBRIDGE_TEST_STRICT=1 $(GOTESTSUM) --jsonfile $(OUT)/$(1).json -- $(2) || rc=$$?; $(TESTSTRICT) $(OUT)/$(1).json || rc=$$?; if [[ $$rc -ne 0 ]]; then echo "==> $(1): FAILED"; exit $$rc; fi

UNIT_ARGS = -tags $(TAGS) -count=1 ./...
RACE_ARGS = -race -tags $(TAGS) -count=1 $$(bash scripts/race-packages.sh)

unit:
	@echo "==> go test (unit, in-process, SQLite + PostgreSQL, fuzz corpora; then -race)"
	@mkdir -p $(OUT)
	$(with-postgres); \
	$(call gotest,unit,$(UNIT_ARGS)); \
	echo "==> go test -race ($$(bash scripts/race-packages.sh | wc -l) packages that do not link bridgev2)"; \
	$(call gotest,race,$(RACE_ARGS))

race:
	@mkdir -p $(OUT)
	$(with-postgres); \
	$(call gotest,race,$(RACE_ARGS))

fuzz:
	@echo "==> fuzzing ($(FUZZTIME) per target)"
	FUZZTIME=$(FUZZTIME) FUZZMINIMIZETIME=$(FUZZMINIMIZETIME) GO_TAGS=$(TAGS) bash scripts/fuzz.sh

# Benchmarks print figures; they are not pass/fail on speed, but a run that
# measured nothing fails. BENCHTIME=2000x gives steadier numbers (the
# README's figures).
BENCHTIME ?= 200x
BENCH_PKGS ?= ./connectors/lync/
bench:
	@echo "==> benchmarks ($(BENCHTIME))"
	@mkdir -p $(OUT)
	$(GO) test -tags $(TAGS) -run '^$$' -bench . -benchtime $(BENCHTIME) $(BENCH_PKGS) | tee $(OUT)/bench.txt
	@n="$$(grep -c '^Benchmark.* ns/op' $(OUT)/bench.txt || true)"; \
	if [[ "$$n" -eq 0 ]]; then echo "==> bench: FAILED: no benchmark ran in $(BENCH_PKGS)"; exit 1; fi; \
	echo "==> bench: $$n benchmark(s) ran"

# End-to-end: real Synapse from the sid chroot, the real binary, an
# encrypting Matrix client.
e2e: build
	@echo "==> Synapse (scripts/synapse.sh install; cached after the first run)"
	bash scripts/synapse.sh install
	@echo "==> go test -tags $(TAGS),e2e (Synapse end-to-end)"
	@mkdir -p $(OUT)
	export IMBRIDGE_BINARY=$(CURDIR)/$(BIN)/imbridge; \
	$(call gotest,e2e,-tags $(TAGS)$(comma)e2e -count=1 -timeout 20m ./e2e/... ./testenv/...)

demo: demo-bin
	$(BIN)/imbridge-demo -binary $(CURDIR)/$(BIN)/imbridge -data $(DEMO_DATA) \
		-hs-port $(DEMO_HS_PORT) -bridge-port $(DEMO_BRIDGE_PORT) \
		-lync-port $(DEMO_LYNC_PORT) -teams-port $(DEMO_TEAMS_PORT) -metrics-port $(DEMO_METRICS_PORT) $(DEMO_ARGS)

generate: build
	bash scripts/generate.sh $(BIN)/imbridge

clean:
	rm -rf $(BIN) $(OUT)

comma := ,
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
