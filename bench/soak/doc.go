// Package soak holds the soak regression guard: a test that runs 50,000 messages through
// the Sluice benchmark consumer, as its own process, against the official Pub/Sub
// emulator, and fails if its RSS level or goroutine count climbs after warm-up. The
// full 1,000,000-message soak is `make soak` (bench/cmd/bench -mode=soak).
//
// The test is built without the race detector only (`make test-soak`): it measures the
// consumer's memory, and -race would multiply the in-process storage fake's cost.
package soak
