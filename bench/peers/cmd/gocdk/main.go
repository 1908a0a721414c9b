// Command gocdk is a peer consumer for the benchmarks: the minimal loop's work (decode,
// read at the notified generation, hash, ack) on Go CDK's portable pubsub API with its
// gcppubsub driver, which pulls with unary Pull calls in batches instead of
// StreamingPull. Concurrency is that many goroutines each calling Receive.
package main

import (
	"context"
	"fmt"
	"os"
	"sync"

	"cloud.google.com/go/storage"
	"gocloud.dev/pubsub"
	"gocloud.dev/pubsub/gcppubsub"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/sluice-dev/sluice/bench/internal/consume"
	"github.com/sluice-dev/sluice/bench/internal/probe"
	"github.com/sluice-dev/sluice/pkg/notify"
)

func main() { consume.Main("gocdk", run) }

func run(ctx context.Context, f consume.Flags, p *probe.Probe) error {
	host := os.Getenv("PUBSUB_EMULATOR_HOST")
	if host == "" {
		return fmt.Errorf("PUBSUB_EMULATOR_HOST is not set: this peer runs against the emulator only")
	}
	conn, err := grpc.NewClient(host, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("dial %s: %w", host, err)
	}
	defer conn.Close()
	subClient, err := gcppubsub.SubscriberClient(ctx, conn)
	if err != nil {
		return fmt.Errorf("subscriber client: %w", err)
	}
	defer subClient.Close()
	sub, err := gcppubsub.OpenSubscriptionByPath(subClient, f.SubscriptionName(), nil)
	if err != nil {
		return fmt.Errorf("open subscription: %w", err)
	}
	defer sub.Shutdown(context.Background())

	gcs, err := storage.NewClient(ctx)
	if err != nil {
		return fmt.Errorf("storage client: %w", err)
	}
	defer gcs.Close()

	var wg sync.WaitGroup
	errs := make(chan error, f.Concurrency)
	for range f.Concurrency {
		wg.Go(func() {
			for {
				m, err := sub.Receive(ctx)
				if err != nil {
					if ctx.Err() == nil {
						errs <- err
					}
					return
				}
				if err := handle(ctx, gcs, m); err != nil {
					if m.Nackable() {
						m.Nack()
					}
					p.Failed()
					continue
				}
				m.Ack()
				p.Done()
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func handle(ctx context.Context, gcs *storage.Client, m *pubsub.Message) error {
	ev, err := notify.Decode(m.Metadata, m.Body)
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
