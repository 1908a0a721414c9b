// Command naive is THE BUG SLUICE EXISTS TO FIX, kept on purpose for comparison. Do not
// copy it.
//
// It builds a new Cloud Storage client for every message and never closes it, as
// scripts that construct a client per operation do. Each client has its own HTTP transport, so every message opens a new
// connection that then sits idle, with its two goroutines and buffers, until the
// transport's 90-second idle timeout: memory and goroutines climb with the message
// rate, and at scale the process runs out of memory or ephemeral ports. Otherwise it
// does what command minimal does, message for message.
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

func main() { consume.Main("naive", run) }

func run(ctx context.Context, f consume.Flags, p *probe.Probe) error {
	ps, err := pubsub.NewClient(ctx, f.Project)
	if err != nil {
		return fmt.Errorf("pubsub client: %w", err)
	}
	defer ps.Close()

	sub := ps.Subscriber(f.SubscriptionName())
	f.Configure(sub)
	return sub.Receive(ctx, func(ctx context.Context, m *pubsub.Message) {
		if err := handle(ctx, m); err != nil {
			m.Nack()
			p.Failed()
			return
		}
		m.Ack()
		p.Done()
	})
}

func handle(ctx context.Context, m *pubsub.Message) error {
	ev, err := notify.Decode(m.Attributes, m.Data)
	if err != nil {
		return err
	}
	// The bug: a client per message, never closed.
	gcs, err := storage.NewClient(ctx)
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
