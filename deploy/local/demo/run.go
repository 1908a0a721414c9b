package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"

	"github.com/sluice-dev/sluice/deploy/local/stack"
)

// run is the whole demo: set up, upload, process, verify, report, tear down.
func run(ctx context.Context, args []string) (err error) {
	o, err := parseOptions(args)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	start := time.Now()
	say := func(format string, a ...any) {
		fmt.Printf("[%5.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, a...))
	}

	files, err := scan(o.dir, o.backfill)
	if err != nil {
		return err
	}
	say("corpus: %d files under %s", len(files), o.dir)

	st, err := stack.Start(ctx, stack.Config{
		PubSub:  o.pubsub,
		Buckets: []string{ingestBucket, resultsBucket},
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, st.Close()) }()
	say("local stack: pubsub=%s (%s, up in %s), storage=%s", st.PubSub, st.PubSubHost,
		st.PubSubStartup.Round(time.Millisecond), st.StorageHost)

	// The demo's own client talks to the stack the way the binaries do.
	if err := os.Setenv("STORAGE_EMULATOR_HOST", st.StorageHost); err != nil {
		return err
	}
	gcs, err := storage.NewClient(ctx)
	if err != nil {
		return err
	}
	defer gcs.Close()
	ingest := gcs.Bucket(ingestBucket)

	var early, late []*file
	for _, f := range files {
		if f.backfill {
			early = append(early, f)
		} else {
			late = append(late, f)
		}
	}
	if err := upload(ctx, ingest, early, o.uploads); err != nil {
		return err
	}
	say("uploaded %d files under %s before any notification existed", len(early), backfillPrefix)
	if err := st.Notify(ctx, ingestBucket, ""); err != nil {
		return err
	}

	var workers []*proc
	defer func() {
		for _, w := range workers {
			_ = w.stop(5 * time.Second)
		}
	}()
	for i := 1; i <= o.workers; i++ {
		w, err := startWorker(o, i, st.Env())
		if err != nil {
			return err
		}
		workers = append(workers, w)
	}
	for _, w := range workers {
		if err := w.waitReady(ctx); err != nil {
			return err
		}
		say("%s ready; metrics at http://%s/metrics", w.name, w.addr)
	}

	work := time.Now()
	upErr := make(chan error, 1)
	go func() { upErr <- upload(ctx, ingest, late, o.uploads) }()
	if err := runProducer(ctx, o, st.Env(), "backfill", "--bucket="+ingestBucket, "--prefix="+backfillPrefix); err != nil {
		return err
	}
	say("producer backfill published %s", backfillPrefix)
	if err := <-upErr; err != nil {
		return err
	}
	say("uploaded %d files under %s: finalize notifications drive the workers", len(late), notifyPrefix)

	if err := waitForResults(ctx, gcs.Bucket(resultsBucket), len(files), say); err != nil {
		return err
	}
	elapsed := time.Since(work)
	rep, err := verify(ctx, gcs.Bucket(resultsBucket), files)
	if err != nil {
		return err
	}

	var stopErr error
	for _, w := range workers {
		stopErr = errors.Join(stopErr, w.stop(60*time.Second))
	}
	printSummary(os.Stdout, files, rep, workers, elapsed)
	if stopErr != nil {
		return fmt.Errorf("stopping workers: %w", stopErr)
	}
	if rep.bad() > 0 {
		return fmt.Errorf("%d of %d objects lack a correct result", rep.bad(), len(files))
	}
	return nil
}

// waitForResults polls the results prefix until it holds want records.
func waitForResults(ctx context.Context, results *storage.BucketHandle, want int, say func(string, ...any)) error {
	last := -1
	for {
		n, err := count(ctx, results, resultsPrefix)
		if err != nil {
			return err
		}
		if n != last {
			say("results: %d of %d", n, want)
			last = n
		}
		if n >= want {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for results (%d of %d): %w", n, want, ctx.Err())
		case <-time.After(2 * time.Second):
		}
	}
}

func count(ctx context.Context, b *storage.BucketHandle, prefix string) (int, error) {
	q := &storage.Query{Prefix: prefix}
	if err := q.SetAttrSelection([]string{"Name"}); err != nil {
		return 0, err
	}
	it := b.Objects(ctx, q)
	n := 0
	for {
		_, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return n, nil
		}
		if err != nil {
			return 0, fmt.Errorf("list results: %w", err)
		}
		n++
	}
}
