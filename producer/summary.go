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
	invalid   int64 // input lines naming no valid object
	failed    int64
	retries   int64
	unsent    int64 // accepted for publishing but neither published nor failed (interrupted)
	bytes     int64
	elapsed   time.Duration
	dryRun    bool
	traceID   string
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
	log.Info("summary",
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
		"trace_id", s.traceID,
	)
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
