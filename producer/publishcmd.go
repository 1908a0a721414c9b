package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/pkg/namelist"
	"github.com/sluice-dev/sluice/pkg/notify"
)

func runPublish(ctx context.Context, e env, args []string, std stdio) (err error) {
	fs := flag.NewFlagSet("publish", flag.ContinueOnError)
	var pf publishFlags
	pf.register(fs, e)
	input := fs.String("input", "-", "list of objects to publish, `FILE` or - for stdin")
	bucket := fs.String("bucket", "", "bucket of the bare names in the input (gs:// URIs name their own)")
	format := fs.String("format", "auto", "input format: lines (names or gs:// URIs), jsonl (the failures file), "+
		"or auto (jsonl when the file name ends in .jsonl)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: producer publish [flags]\n\n"+
			"Publishes one finalize message per object in the input. A line ends at \"\\n\" (one \"\\r\" before\n"+
			"it is dropped); blank lines are skipped; duplicates are published each time; nothing else\n"+
			"is trimmed or decoded.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, std.errOut); err != nil {
		return err
	}
	if err := pf.validate(); err != nil {
		fmt.Fprintln(std.errOut, "producer publish:", err)
		return errUsage
	}
	f, err := inputFormat(*format, *input)
	if err != nil {
		fmt.Fprintln(std.errOut, "producer publish:", err)
		return errUsage
	}

	in := std.in
	if *input != "-" {
		file, err := os.Open(*input)
		if err != nil {
			return fmt.Errorf("open input: %w", err)
		}
		defer file.Close()
		in = file
	}

	metrics, flushTelemetry, err := startTelemetry(ctx, e, pf.topicName(), std.log)
	if err != nil {
		return err
	}
	defer flushTelemetry()
	ctx, span, traceAttrs := startTrace(ctx, "producer publish")
	defer span.End()
	logStart(std.log, "publish", "input", *input, "bucket", *bucket, "format", *format,
		"topic", pf.topicName(), "dry_run", pf.dryRun, "rate", pf.rate, "failures", pf.failures)

	var cfg sinkConfig
	cfg.dryRun, cfg.failures, cfg.pub = pf.dryRun, pf.failures, pf.publishConfig(traceAttrs)
	cfg.metrics = metrics
	s, closeSink, err := openSink(ctx, pf, cfg, std.log)
	if err != nil {
		return err
	}
	defer closeSink()

	start := time.Now()
	prog := startProgress(std.errOut, std.log, pf.progress, "publish", func() (int64, int64) {
		c := s.counts()
		return s.seen.Load(), c.Published + c.Failed
	})
	r := namelist.NewReader(in, f, *bucket)
	readErr := readInput(ctx, r, s, std)
	counts := s.drain()
	closeErr := s.failures.close()
	prog.end()

	sum := summary{
		command:   "publish",
		listed:    s.seen.Load(),
		published: counts.Published,
		skipped:   int64(r.Blank()),
		invalid:   s.invalid.Load(),
		failed:    counts.Failed,
		retries:   counts.Retries,
		bytes:     s.bytes.Load(),
		elapsed:   time.Since(start),
		dryRun:    pf.dryRun,
		traceID:   traceIDOf(ctx),
	}
	sum.latencyN, sum.latencyP50, sum.latencyP99 = metrics.Latency()
	if !pf.dryRun {
		sum.unsent = sum.listed - sum.published - sum.failed
	}
	sum.print(std.log, std.errOut)
	return errors.Join(readErr, closeErr, failedErr(sum))
}

// readInput sends every record of r to s. Invalid lines are logged, counted and
// skipped; the run then ends with a non-zero status.
func readInput(ctx context.Context, r *namelist.Reader, s *sink, std stdio) error {
	for {
		rec, err := r.Next()
		switch {
		case err == io.EOF:
			return nil
		case errors.Is(err, namelist.ErrInvalid):
			s.invalid.Add(1)
			std.log.Error("invalid input line", "err", err)
			continue
		case err != nil:
			return fmt.Errorf("read input: %w", err)
		}
		ev := notify.Event{
			Type:       notify.Finalize,
			Bucket:     rec.Bucket,
			Name:       rec.Name,
			Generation: rec.Generation,
			Size:       -1,
			Source:     notify.SourceBackfill,
		}
		if err := s.send(ctx, 0, ev); err != nil {
			return fmt.Errorf("stopped after %d records: %w", s.seen.Load()-1, err)
		}
	}
}

func inputFormat(format, input string) (namelist.Format, error) {
	switch format {
	case "lines":
		return namelist.Lines, nil
	case "jsonl":
		return namelist.JSONLines, nil
	case "auto":
		if strings.HasSuffix(input, ".jsonl") {
			return namelist.JSONLines, nil
		}
		return namelist.Lines, nil
	}
	return 0, fmt.Errorf("unknown --format %s", strconv.Quote(format))
}

// failedErr returns errFailed when anything was not published.
func failedErr(s summary) error {
	if s.failed > 0 || s.invalid > 0 || s.unsent > 0 {
		return fmt.Errorf("%w: %d failed, %d invalid, %d unsent", errFailed, s.failed, s.invalid, s.unsent)
	}
	return nil
}
