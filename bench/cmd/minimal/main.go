// Command minimal is the floor the Sluice worker's overhead is measured against: the
// shortest correct loop on the same Pub/Sub and Storage clients. One client of each is
// built at start; each message is decoded, its object read at the notified generation
// and hashed exactly as the Sluice benchmark consumer does, then acknowledged. It has
// none of the worker's tracing, statistics, outcome classes or drain.
package main

import (
	"context"
	"fmt"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/storage"

	"github.com/sluice-dev/sluice/bench/internal/consume"
	"github.com/sluice-dev/sluice/bench/internal/probe"
	"github.com/sluice-dev/sluice/pkg/notify"
)

func main() { consume.Main("minimal", run) }

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

	sub := ps.Subscriber(f.SubscriptionName())
	f.Configure(sub)
	return sub.Receive(ctx, func(ctx context.Context, m *pubsub.Message) {
		if err := handle(ctx, gcs, m); err != nil {
			m.Nack()
			p.Failed()
			return
		}
		m.Ack()
		p.Done()
	})
}

func handle(ctx context.Context, gcs *storage.Client, m *pubsub.Message) error {
	ev, err := notify.Decode(m.Attributes, m.Data)
	if err != nil {
		return err
	}
	r, err := gcs.Bucket(ev.Bucket).Object(ev.Name).Generation(ev.Generation).
		ReadCompressed(true).NewReader(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = consume.Hash(r)
	return err
}
