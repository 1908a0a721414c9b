// Package publish sends object events to a Pub/Sub topic at throughput, in bounded
// memory, and accounts for every message: each result is checked, failures are retried
// and then reported to the caller, never dropped.
package publish
