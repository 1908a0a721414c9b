package worker_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/deploy/local/stack"
	"github.com/sluice-dev/sluice/internal/stacktest"
	"github.com/sluice-dev/sluice/pkg/notify"
	"github.com/sluice-dev/sluice/pkg/worker"
)

// TestLeaseExtension processes one object for three times the subscription's 10s ack
// deadline: the client extends the lease, so the message is not redelivered and there
// is one output and one processing call.
func TestLeaseExtension(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 30s")
	}
	const ackDeadline = 10 * time.Second
	env := stacktest.Start(t, stack.Config{Buckets: []string{inBucket, outBucket}, AckDeadline: ackDeadline})
	data := []byte("slow")
	a := env.Upload(t, inBucket, "slow", data)
	publishFinalize(t, env, inBucket, "slow", a.Generation, data)

	var calls atomic.Int64
	proc := slow{next: newChecksum(t, env), delay: 3*ackDeadline + time.Second}
	counted := countCalls{next: proc, n: &calls}
	cfg := worker.Config{MaxOutstandingMessages: 2, MaxExtensionPeriod: ackDeadline}
	h := start(t, env, cfg, counted, harnessOpts{})
	h.waitSettled(1, time.Minute)
	snap := h.stop()

	if calls.Load() != 1 || snap.Received != 1 || snap.Outcomes[worker.Processed] != 1 {
		t.Errorf("%d calls, %d received, outcomes %v; want one of each, processed", calls.Load(), snap.Received, snap.Outcomes)
	}
	if _, err := readRecord(t, env, notify.Key{Bucket: inBucket, Name: "slow", Generation: a.Generation}); err != nil {
		t.Errorf("no record: %v", err)
	}
}
