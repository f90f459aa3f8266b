# Pulse: `make run` runs the main job locally, `make test` runs every test,
# `make bench` measures. Each target builds what it needs.

GO       ?= go
GOFLAGS  ?=
BIN      := bin
OUT      := out
EVENTS   ?= 200000
SEED     ?= 42
# Go 1.26 or later is needed (go.mod); the fuzz smoke run's length, per
# target (10 targets: 50 s with the builds, measured):
FUZZTIME ?= 3s

.PHONY: all run test bench build check-go vet unit fuzz integration clean

all: build

check-go:
	@command -v $(GO) >/dev/null 2>&1 || { echo "make: Go is missing: install Go 1.26+ from https://go.dev/dl and put it on PATH"; exit 1; }
	@v=$$($(GO) env GOVERSION | sed 's/^go//'); \
	  major=$${v%%.*}; rest=$${v#*.}; minor=$${rest%%.*}; \
	  if [ "$$major" -lt 1 ] || { [ "$$major" -eq 1 ] && [ "$$minor" -lt 26 ]; }; then \
	    echo "make: Go $$v is too old: Pulse needs Go 1.26 or later (https://go.dev/dl)"; exit 1; fi

build: check-go
	$(GO) build $(GOFLAGS) -o $(BIN)/ ./cmd/...

# run: generate behaviour with duplicates, late and malformed events, run
# monitor and learn on prism in process, and print what they wrote.
run: build
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
integration: check-go
	cd integration && $(GO) vet ./... && $(GO) test -count=1 ./...

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

clean:
	rm -rf $(BIN) $(OUT)
