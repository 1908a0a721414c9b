package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"cloud.google.com/go/storage"

	"github.com/sluice-dev/sluice/pkg/backfill"
	"github.com/sluice-dev/sluice/pkg/checkpoint"
)

// backfillFlags are the flags of producer backfill.
type backfillFlags struct {
	publishFlags
	list          backfill.Config
	updatedSince  string
	checkpoint    string
	resume        bool
	checkpointDur time.Duration
	listWorkers   int
}

func runBackfill(ctx context.Context, e env, args []string, std stdio) error {
	fset := flag.NewFlagSet("backfill", flag.ContinueOnError)
	var bf backfillFlags
	bf.register(fset, e)
	fset.StringVar(&bf.list.Bucket, "bucket", "", "bucket to list (required)")
	fset.StringVar(&bf.list.Prefix, "prefix", "", "list only names that start with this")
	fset.StringVar(&bf.list.Glob, "glob", "", "list only names matching this glob, evaluated by Cloud Storage (matchGlob)")
	fset.StringVar(&bf.list.StartAfter, "start-after", "", "list only names after this one")
	fset.StringVar(&bf.list.EndBefore, "end-before", "", "list only names before this one")
	fset.StringVar(&bf.updatedSince, "updated-since", "", "skip objects last updated before this RFC 3339 time")
	fset.StringVar(&bf.checkpoint, "checkpoint", "", "checkpoint `FILE` recording how far publishing is confirmed")
	fset.BoolVar(&bf.resume, "resume", false, "continue after the position in --checkpoint")
	fset.IntVar(&bf.list.PageSize, "page-size", 1000, "objects per list request, at most 1000 (the service's maximum)")
	fset.DurationVar(&bf.checkpointDur, "checkpoint-interval", 2*time.Second, "how often the checkpoint is written")
	fset.IntVar(&bf.listWorkers, "list-workers", 4, "list with this many concurrent list requests; an idle lister "+
		"splits a range another is listing, at a split point ahead of its lister")
	fset.Usage = func() {
		fmt.Fprintf(fset.Output(), "Usage: producer backfill --bucket B [flags]\n\n"+
			"Lists the bucket in name order and publishes one finalize message per object, with its\n"+
			"generation, size, crc32c and md5.\n\nFlags:\n")
		fset.PrintDefaults()
	}
	if err := parseFlags(fset, args, std.errOut); err != nil {
		return err
	}
	if err := bf.validate(); err != nil {
		fmt.Fprintln(std.errOut, "producer backfill:", err)
		return errUsage
	}

	listing := checkpoint.Listing{
		Bucket:       bf.list.Bucket,
		Prefix:       bf.list.Prefix,
		Glob:         bf.list.Glob,
		StartAfter:   bf.list.StartAfter,
		EndBefore:    bf.list.EndBefore,
		UpdatedSince: bf.list.UpdatedSince,
	}
	var base checkpoint.State
	if bf.resume {
		st, err := checkpoint.Load(bf.checkpoint)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			std.log.Info("no checkpoint yet, starting from the beginning", "checkpoint", bf.checkpoint)
		case err != nil:
			return err
		default:
			if err := st.Check(listing); err != nil {
				return fmt.Errorf("--resume with %s: %w", bf.checkpoint, err)
			}
			base = st
		}
	}

	metrics, flushTelemetry, err := startTelemetry(ctx, e, bf.topicName(), std.log)
	if err != nil {
		return err
	}
	defer flushTelemetry()
	ctx, span, traceAttrs := startTrace(ctx, "producer backfill")
	defer span.End()
	lc := bf.list
	gcs, err := newStorage(ctx)
	if err != nil {
		return err
	}
	defer gcs.Close()
	bucket := gcs.Bucket(lc.Bucket)
	ranges := base.Resume(listing)
	logStart(std.log, "backfill", "bucket", lc.Bucket, "prefix", lc.Prefix, "glob", lc.Glob,
		"start_after", strconv.Quote(lc.StartAfter), "end_before", strconv.Quote(lc.EndBefore),
		"updated_since", bf.updatedSince, "topic", bf.topicName(), "dry_run", bf.dryRun,
		"rate", bf.rate, "checkpoint", bf.checkpoint, "resume", bf.resume,
		"resumed_settled", base.Settled, "list_workers", bf.listWorkers, "ranges", len(ranges),
		"failures", bf.failures, "trace_id", traceIDOf(ctx))

	cfg := sinkConfig{
		dryRun:   bf.dryRun,
		failures: bf.failures,
		pub:      bf.publishConfig(traceAttrs),
		marks:    checkpoint.NewRanges(ranges),
		metrics:  metrics,
	}
	s, closeSink, err := openSink(ctx, bf.publishFlags, cfg, std.log)
	if err != nil {
		return err
	}
	defer closeSink()

	start := time.Now()
	prog := startProgress(std.errOut, std.log, bf.progress, "backfill", func() (int64, int64) {
		c := s.counts()
		return s.seen.Load(), c.Published + c.Failed
	})
	var ckpt *checkpointer
	if bf.checkpoint != "" && !bf.dryRun {
		ckpt = startCheckpointer(bf.checkpoint, bf.checkpointDur, listing, base.Settled, s, std.log)
	}

	st, listErr := backfill.ListRanges(ctx, bucket, lc, listRanges(ranges), bf.listWorkers, backfill.RangeFuncs{
		Object: func(r int, o *storage.ObjectAttrs) error {
			return s.send(ctx, r, backfill.Event(lc.Bucket, o))
		},
		Done: s.marks.Listed,
		Split: func(r, child int, at string) {
			// Both number split ranges in the order of their splits.
			if i := s.marks.Split(r, at); i != child {
				panic(fmt.Sprintf("checkpoint range %d for listed range %d", i, child))
			}
		},
	})
	counts := s.drain()
	var ckptErr error
	if ckpt != nil {
		// The last save syncs the failures file before it records a position past them.
		ckptErr = ckpt.stop()
	}
	closeErr := s.failures.close()
	prog.end()

	sum := summary{
		command:   "backfill",
		listed:    st.Listed,
		published: counts.Published,
		skipped:   st.Skipped,
		splits:    st.Splits,
		failed:    counts.Failed,
		retries:   counts.Retries,
		bytes:     s.bytes.Load(),
		elapsed:   time.Since(start),
		dryRun:    bf.dryRun,
		traceID:   traceIDOf(ctx),
	}
	sum.latencyN, sum.latencyP50, sum.latencyP99 = metrics.Latency()
	if !bf.dryRun {
		sum.unsent = s.seen.Load() - sum.published - sum.failed
	}
	sum.print(std.log, std.errOut)
	if listErr == nil && st.Listed == 0 && st.Skipped == 0 {
		std.log.Warn("no objects matched", "bucket", lc.Bucket, "prefix", strconv.Quote(lc.Prefix))
	}
	return errors.Join(listErr, closeErr, ckptErr, failedErr(sum))
}

func (bf *backfillFlags) validate() error {
	if bf.list.Bucket == "" {
		return errors.New("--bucket is required")
	}
	if bf.updatedSince != "" {
		t, err := time.Parse(time.RFC3339Nano, bf.updatedSince)
		if err != nil {
			return fmt.Errorf("--updated-since: %w", err)
		}
		bf.list.UpdatedSince = t
	}
	if bf.resume && bf.checkpoint == "" {
		return errors.New("--resume needs --checkpoint")
	}
	if bf.listWorkers < 1 {
		return errors.New("--list-workers must be at least 1")
	}
	if bf.list.PageSize < 1 || bf.list.PageSize > 1000 {
		return errors.New("--page-size must be from 1 to 1000")
	}
	if err := bf.list.Validate(); err != nil {
		return err
	}
	return bf.publishFlags.validate()
}

// listRanges turns checkpoint ranges, each from its watermark, into ranges to list.
func listRanges(rs []checkpoint.Range) []backfill.Range {
	out := make([]backfill.Range, len(rs))
	for i, r := range rs {
		out[i] = backfill.Range{StartAfter: r.After, From: r.From, EndBefore: r.EndBefore}
	}
	return out
}

// checkpointer writes the watermark to the checkpoint file every interval and once
// more at the end.
type checkpointer struct {
	path    string
	listing checkpoint.Listing
	base    int64
	s       *sink
	log     *slog.Logger
	done    chan struct{}
	wg      sync.WaitGroup
	last    []checkpoint.Range
	wrote   bool
}

func startCheckpointer(path string, every time.Duration, l checkpoint.Listing, base int64, s *sink, log *slog.Logger) *checkpointer {
	c := &checkpointer{path: path, listing: l, base: base, s: s, log: log, done: make(chan struct{})}
	c.wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if err := c.save(); err != nil {
					// Publishing goes on; the next tick tries again.
					log.Warn("checkpoint not saved", "checkpoint", path, "err", err)
				}
			case <-c.done:
				return
			}
		}
	})
	return c
}

// save writes the current watermark, after syncing the failures it may pass.
func (c *checkpointer) save() error {
	pending, passed := c.s.marks.Position()
	if c.wrote && slices.Equal(pending, c.last) {
		return nil
	}
	if err := c.s.failures.sync(); err != nil {
		return err
	}
	st := checkpoint.State{Listing: c.listing, Ranges: pending, Settled: c.base + passed, Written: time.Now().UTC()}
	if err := checkpoint.Save(c.path, st); err != nil {
		return err
	}
	c.last, c.wrote = pending, true
	return nil
}

// stop ends the ticker and writes the final position.
func (c *checkpointer) stop() error {
	close(c.done)
	c.wg.Wait()
	return c.save()
}
