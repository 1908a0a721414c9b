package stack_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/storage"
	"github.com/sluice-dev/sluice/deploy/local/stack"
)

// Start a stack, make a bucket notify the topic, upload an object, and
// receive its notification, all through ordinary clients.
func Example() {
	ctx := context.Background()
	s, err := stack.Start(ctx, stack.Config{PubSub: stack.PubSubPstest, Buckets: []string{"uploads"}})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	if err := s.Notify(ctx, "uploads", "in/"); err != nil {
		log.Fatal(err)
	}

	// Start has set PUBSUB_EMULATOR_HOST; a child process would get both
	// variables from s.Env().
	os.Setenv("STORAGE_EMULATOR_HOST", s.StorageHost)
	gcs, err := storage.NewClient(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer gcs.Close()
	w := gcs.Bucket("uploads").Object("in/report.csv").NewWriter(ctx)
	fmt.Fprintln(w, "a,b")
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}

	ps, err := pubsub.NewClient(ctx, s.ProjectID)
	if err != nil {
		log.Fatal(err)
	}
	defer ps.Close()
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err = ps.Subscriber(s.Subscription).Receive(rctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		fmt.Println(m.Attributes["eventType"], m.Attributes["bucketId"], m.Attributes["objectId"])
		cancel()
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output: OBJECT_FINALIZE uploads in/report.csv
}
