# Benchmarks and soak; included by the root Makefile. docs/benchmarks.md has
# the figures these print and how to read them.

BENCH_BIN   := $(BIN)/bench
BENCH_OUT   ?= docs/bench
BENCH_FLAGS ?=
SOAK_FLAGS  ?=

.PHONY: bench bench-compare bench-latency soak test-soak bench-consumers

# The peers (bench/peers) are a module of their own, so the main module does not
# depend on Go CDK.
bench-consumers:
	$(GO) build -trimpath -o $(BENCH_BIN)/ ./bench/cmd/sluice ./bench/cmd/minimal ./bench/cmd/naive ./bench/cmd/bench
	cd bench/peers && $(GO) build -trimpath -o $(CURDIR)/$(BENCH_BIN)/ ./cmd/gocdk

# The producer's benchmark, a colleague's, is defined in bench/producer.mk when that
# fragment exists; fragments are included in name order, so test for the file.
BENCH_PRODUCER := $(if $(wildcard bench/producer.mk),bench-producer)

## bench: Sluice, the minimal loop and the naive loop on the same messages, then the latency sweep
bench: bench-compare bench-latency $(BENCH_PRODUCER)

bench-compare: bench-consumers
	$(BENCH_BIN)/bench -mode=compare -bin=$(BENCH_BIN) -out=$(BENCH_OUT) -messages=90000 -naive-messages=15000 -peers=gocdk $(BENCH_FLAGS)

bench-latency: bench-consumers
	$(BENCH_BIN)/bench -mode=latency -bin=$(BENCH_BIN) -out=$(BENCH_OUT) $(BENCH_FLAGS)

## soak: 1,000,000 messages through the worker and the naive loop; CSV and chart to $(BENCH_OUT)
soak: bench-consumers
	$(BENCH_BIN)/bench -mode=soak -bin=$(BENCH_BIN) -out=$(BENCH_OUT) -naive-limit=3m $(SOAK_FLAGS)

## test-soak: the 50,000-message soak regression guard (no -race: it measures memory)
test-soak:
	$(GO) test -count=1 -timeout=10m ./bench/soak
