// Command sluice is the Sluice worker as the benchmarks run it: pkg/worker's receive
// pipeline, unchanged, with a processor that reads and hashes each object and keeps
// nothing. The worker binary's processors write one output per object generation, so
// a soak that reuses objects would turn every later message into a duplicate; this one
// does the same read and hash for every message, however often its object recurs.
package main

import (
	"context"
	"fmt"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/storage"

	"github.com/sluice-dev/sluice/bench/internal/consume"
	"github.com/sluice-dev/sluice/bench/internal/probe"
	"github.com/sluice-dev/sluice/pkg/process"
	"github.com/sluice-dev/sluice/pkg/worker"
)

func main() { consume.Main("sluice", run) }

func run(ctx context.Context, f consume.Flags, p *probe.Probe) error {
	ps, err := pubsub.NewClient(ctx, f.Project)
	if err != nil {
		return fmt.Errorf("pubsub client: %w", err)
	}
	defer ps.Close()
	gcs, err := storage.NewClient(ctx)
	if err != nil {
		return fmt.Errorf("storage client: %w", err)
	}
	defer gcs.Close()

	w, err := worker.New(worker.Config{
		MaxOutstandingMessages: f.Concurrency,
		Streams:                f.Streams,
		WorkerID:               "bench",
	}, worker.Deps{
		Subscriber: ps.Subscriber(f.SubscriptionName()),
		Storage:    gcs,
		Processor:  process.Func(hash),
		Observer:   counter{p},
	})
	if err != nil {
		return err
	}
	return w.Run(ctx)
}

func hash(_ context.Context, obj *process.Object) error {
	_, err := consume.Hash(obj.Body)
	return err
}

// counter counts settled messages into the probe.
type counter struct{ p *probe.Probe }

func (c counter) Settled(_ context.Context, s worker.Settlement) {
	if s.Outcome == worker.Processed {
		c.p.Done()
	} else {
		c.p.Failed()
	}
}
