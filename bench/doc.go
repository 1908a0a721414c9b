// Package bench holds Sluice's benchmarks and soak tests: consumers measured as separate
// processes against the local stack, and the harness that runs, samples and charts them.
// See docs/benchmarks.md for the figures and how to reproduce them.
package bench
