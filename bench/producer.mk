# Producer benchmark against the local Pub/Sub emulator and fake-gcs-server; the root
# Makefile includes this file. Not a timed test: it prints names/s and RSS (peak, early/late).
#   make bench-producer PRODUCER_BENCH_PUBLISH=100000,1000000 PRODUCER_BENCH_LIST=10000
PRODUCER_BENCH_PUBLISH ?= 100000,1000000
PRODUCER_BENCH_LIST ?= 10000,100000
PRODUCER_BENCH_LIST_WORKERS ?= 1,2,4

.PHONY: bench-producer
bench-producer:
	go run ./bench/producer -publish $(PRODUCER_BENCH_PUBLISH) -list $(PRODUCER_BENCH_LIST) -list-workers $(PRODUCER_BENCH_LIST_WORKERS)
