package worker_test

import (
	"context"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/sluice-dev/sluice/deploy/local/stack"
	"github.com/sluice-dev/sluice/internal/stacktest"
	"github.com/sluice-dev/sluice/pkg/notify"
	"github.com/sluice-dev/sluice/pkg/worker"
)

// TestExactlyOnceAckNotCommitted runs the worker on an exactly-once subscription whose
// service refuses every acknowledgement: the output is written, but the ack is counted
// as not committed, never as acked, and the message is expected back.
func TestExactlyOnceAckNotCommitted(t *testing.T) {
	env := stacktest.Start(t, stack.Config{Buckets: []string{inBucket, outBucket}})

	// A Pub/Sub fake of its own, which the local stack does not offer: one that fails
	// Acknowledge calls as the service does when an ack ID has expired.
	srv := pstest.NewServer(pstest.WithErrorInjection("Acknowledge", codes.FailedPrecondition, "ack id expired"))
	t.Cleanup(func() { srv.Close() })
	ctx := context.Background()
	ps, err := pubsub.NewClient(ctx, "eod",
		option.WithEndpoint(srv.Addr),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ps.Close() })
	const topic, sub = "projects/eod/topics/objects", "projects/eod/subscriptions/worker"
	if _, err := ps.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topic}); err != nil {
		t.Fatal(err)
	}
	if _, err := ps.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name: sub, Topic: topic, AckDeadlineSeconds: 60, EnableExactlyOnceDelivery: true,
	}); err != nil {
		t.Fatal(err)
	}

	data := []byte("exactly once, in theory")
	a := env.Upload(t, inBucket, "eod.txt", data)
	attrs, payload := finalize(inBucket, "eod.txt", a.Generation, data)
	pub := ps.Publisher(topic)
	defer pub.Stop()
	if _, err := pub.Publish(ctx, &pubsub.Message{Attributes: attrs, Data: payload}).Get(ctx); err != nil {
		t.Fatal(err)
	}

	h := start(t, env, worker.Config{MaxOutstandingMessages: 1}, newChecksum(t, env),
		harnessOpts{subscriber: ps.Subscriber(sub)})
	snap := h.waitFor("the ack to fail", 30*time.Second, func(s worker.Snapshot) bool { return s.AckFailed >= 1 })
	h.cancel()

	if snap.Outcomes[worker.Processed] != 1 {
		t.Errorf("outcomes %v, want one processed", snap.Outcomes)
	}
	if snap.Acked != 0 {
		t.Errorf("acked %d: an ack the service refused must not count as acked", snap.Acked)
	}
	if _, err := readRecord(t, env, notify.Key{Bucket: inBucket, Name: "eod.txt", Generation: a.Generation}); err != nil {
		t.Errorf("no record: the output must be durable before the ack is even tried: %v", err)
	}
}
