# Sluice: `make demo` runs the pipeline on the local stack; `make test` runs every test.
# Targets that measure (bench, soak) are kept out of `make test`, but for the soak guard.

GO        ?= go
BIN       := bin
GOTESTFLAGS ?= -race -count=1 -timeout=12m

.PHONY: all build test test-unit lint demo local bench soak clean

all: build

## build: the worker, the producer and the local stack into ./bin
build:
	$(GO) build -trimpath -o $(BIN)/ ./worker ./producer ./deploy/local/demo
	$(GO) build -trimpath -o $(BIN)/sluice-local ./deploy/local

## test: unit, integration (real local engines, in process) and end-to-end tests, with
## -race; the deployment's offline validation; the 50,000-message soak guard (no -race:
## it measures memory)
test: build lint test-unit test-deploy test-soak

test-unit:
	$(GO) test $(GOTESTFLAGS) ./...

## lint: gofmt, go vet and staticcheck
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^deploy/validate/')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

## demo: upload a real corpus to the local stack and process it with two workers
demo: build
	$(BIN)/demo $(if $(DEMO_DIR),-dir=$(DEMO_DIR))

## local: run the local stack in the foreground (prints the emulator variables)
local: build
	$(BIN)/sluice-local -buckets=sluice-ingest,sluice-results -notify=sluice-ingest

clean:
	rm -rf $(BIN)

# Fragments owned by their areas: deployment validation, benchmarks.
include deploy/validate.mk
-include bench/*.mk
