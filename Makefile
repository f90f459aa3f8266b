# Pulse: `make run` runs the main job locally, `make test` runs every test,
# `make bench` measures. Each target builds what it needs.

GO       ?= go
GOFLAGS  ?=
BIN      := bin
OUT      := out
EVENTS   ?= 200000
SEED     ?= 42
# Go 1.26 or later is needed (go.mod); the fuzz smoke run's length, per
# target, as a count of executions: Go 1.26's fuzz coordinator can fail a
# time-bounded run with "context deadline exceeded" at its end when the
# machine is busy (golang/go#75804, fixed in Go 1.27); a count has no
# deadline to race.
FUZZTIME ?= 2000x

# The BigQuery emulator of the local stack is cgo and wants clang.
CGO_STACK := CGO_ENABLED=1 CC=clang CXX=clang++
STREAM_EVENTS ?= 5000

.PHONY: all run replay test bench bench-stream build stack check-go check-clang vet unit fuzz integration clean

all: build

check-go:
	@command -v $(GO) >/dev/null 2>&1 || { echo "make: Go is missing: install Go 1.26+ from https://go.dev/dl and put it on PATH"; exit 1; }
	@v=$$($(GO) env GOVERSION | sed 's/^go//'); \
	  major=$${v%%.*}; rest=$${v#*.}; minor=$${rest%%.*}; \
	  if [ "$$major" -lt 1 ] || { [ "$$major" -eq 1 ] && [ "$$minor" -lt 26 ]; }; then \
	    echo "make: Go $$v is too old: Pulse needs Go 1.26 or later (https://go.dev/dl)"; exit 1; fi

build: check-go
	$(GO) build $(GOFLAGS) -o $(BIN)/ ./cmd/...

check-clang:
	@if ! command -v clang >/dev/null 2>&1 || ! command -v clang++ >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "make: installing clang, which the BigQuery emulator's build needs (apt-get install clang)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang >/dev/null || exit 1; \
	  else echo "make: clang and clang++ are missing; the BigQuery emulator needs them: sudo apt-get install clang"; exit 1; fi; fi

# stack: the local stack runner (Pub/Sub fake + BigQuery emulator, in process).
stack: check-go check-clang
	@echo "make: building the local stack; the BigQuery emulator's first build takes ~25 min on 2 cores, then seconds"
	cd integration && $(CGO_STACK) $(GO) build -o ../$(BIN)/ ./cmd/pulselocal

# run: the main job end to end with no cloud account: start the local stack,
# publish generated events, stream them through monitor and learn on prism
# into the BigQuery emulator, print a few SQL answers and write the report.
run: build stack
	$(BIN)/pulselocal --bin=$(BIN) --events=$(STREAM_EVENTS) --seed=$(SEED) --report=$(OUT)/report.html

# replay: generate a file with duplicates, late and malformed events, run
# monitor and learn over it on prism, and print what they wrote.
replay: build
	@mkdir -p $(OUT)
	@test -s $(OUT)/pseudo.key || (umask 077 && head -c 32 /dev/urandom > $(OUT)/pseudo.key)
	$(BIN)/pulsegen --events=$(EVENTS) --seed=$(SEED) --duplicates=0.02 --late=0.02 --malformed=0.01 --output=$(OUT)/events.jsonl
	@rm -rf $(OUT)/tables
	$(BIN)/pulse --pipeline=all --input=$(OUT)/events.jsonl --output=$(OUT)/tables --pseudonymize_key_file=$(OUT)/pseudo.key 2>$(OUT)/pulse.log || { tail -20 $(OUT)/pulse.log; exit 1; }

test: vet unit fuzz integration

vet: check-go
	$(GO) vet ./...

unit: check-go
	$(GO) test $(GOFLAGS) -count=1 ./...

# End-to-end tests against local services (a prism job server process);
# a module of its own, see integration/doc.go.
integration: check-go check-clang
	@echo "make: integration tests build the BigQuery emulator; its first build takes ~25 min on 2 cores"
	cd integration && $(CGO_STACK) $(GO) vet ./... && $(CGO_STACK) $(GO) test -count=1 -timeout 30m ./...

# A short run of each fuzz target (package:target; `go test -fuzz` takes one
# target per run); `make fuzz FUZZTIME=10m` for a long one (docs/reliability.md).
FUZZ_TARGETS := ./transforms/event:FuzzDecode ./transforms/spec:FuzzParse ./models:FuzzUnmarshal \
	./models/linreg:FuzzUnmarshal ./models/logreg:FuzzUnmarshal ./models/rls:FuzzUnmarshal \
	./models/ols:FuzzUnmarshal ./models/scale:FuzzUnmarshal ./models/metric:FuzzUnmarshal \
	./models/drift:FuzzUnmarshal
fuzz: check-go
	@set -e; for t in $(FUZZ_TARGETS); do \
	  echo "fuzz $${t##*:} in $${t%%:*} for $(FUZZTIME)"; \
	  $(GO) test -run '^$$' -fuzz "^$${t##*:}\$$" -fuzztime $(FUZZTIME) $${t%%:*}; \
	done

bench: check-go
	$(GO) test -run '^$$' -bench . -benchmem ./models/... ./transforms/event
	$(GO) build $(GOFLAGS) -o $(BIN)/ ./cmd/pulsebench
	$(BIN)/pulsebench
	$(MAKE) bench-stream

# bench-stream: the streaming path, Pub/Sub fake -> prism -> BigQuery
# emulator: publish generated events at STREAM_RATE for STREAM_DURATION and
# print the job's sustained read rate, the publish-to-queryable delay
# (p50/p99) and the job process's RSS over the run (docs/benchmarks.md,
# "Streaming"). `make bench-stream STREAM_DURATION=10m` for a longer run.
STREAM_RATE     ?= 100
STREAM_DURATION ?= 2m
bench-stream: build check-clang
	@mkdir -p $(OUT)
	cd integration && $(CGO_STACK) $(GO) build -o ../$(BIN)/ ./cmd/pulsestreambench
	$(BIN)/pulsestreambench --pulse=$(BIN)/pulse --rate=$(STREAM_RATE) --duration=$(STREAM_DURATION) --log=$(OUT)/pulsestreambench.log

clean:
	rm -rf $(BIN) $(OUT)
