package main

import (
	"fmt"
	"io"
	"log/slog"
	"time"
)

// summary is what a run did, printed once at the end.
type summary struct {
	command   string
	listed    int64 // objects listed, or records read from the input
	published int64
	skipped   int64 // filtered out, or blank input lines
	splits    int64 // ranges split off while listing (backfill)
	invalid   int64 // input lines naming no valid object
	failed    int64
	retries   int64
	unsent    int64 // accepted for publishing but neither published nor failed (interrupted)
	bytes     int64
	elapsed   time.Duration
	dryRun    bool
	traceID   string

	// latencyN messages were timed from Publish to their final result; p50 and p99 of
	// those durations.
	latencyN               int64
	latencyP50, latencyP99 time.Duration
}

func (s summary) rate() float64 {
	if s.elapsed <= 0 {
		return 0
	}
	n := s.published
	if s.dryRun {
		n = s.listed
	}
	return float64(n) / s.elapsed.Seconds()
}

// print writes the summary as one structured log line and one line for people.
func (s summary) print(log *slog.Logger, w io.Writer) {
	attrs := []any{
		"command", s.command,
		"dry_run", s.dryRun,
		"listed", s.listed,
		"published", s.published,
		"skipped", s.skipped,
		"invalid", s.invalid,
		"failed", s.failed,
		"retries", s.retries,
		"unsent", s.unsent,
		"bytes", s.bytes,
		"rate_per_s", s.rate(),
		"elapsed_s", s.elapsed.Seconds(),
		"publish_latency_count", s.latencyN,
		"publish_latency_p50_s", s.latencyP50.Seconds(),
		"publish_latency_p99_s", s.latencyP99.Seconds(),
		"trace_id", s.traceID,
	}
	if s.command == "backfill" {
		attrs = append(attrs, "splits", s.splits)
	}
	log.Info("summary", attrs...)
	verb := "published"
	if s.dryRun {
		verb = "would publish"
	}
	n := s.published
	if s.dryRun {
		n = s.listed
	}
	fmt.Fprintf(w, "%s: %s %d of %d objects (%s) in %s, %.0f/s; skipped %d, invalid %d, failed %d\n",
		s.command, verb, n, s.listed, humanBytes(s.bytes), s.elapsed.Round(time.Millisecond),
		s.rate(), s.skipped, s.invalid, s.failed)
	if s.latencyN > 0 {
		fmt.Fprintf(w, "%s: publish latency p50 %s, p99 %s over %d messages\n", s.command,
			roundLatency(s.latencyP50), roundLatency(s.latencyP99), s.latencyN)
	}
}

// roundLatency keeps about three significant digits.
func roundLatency(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
