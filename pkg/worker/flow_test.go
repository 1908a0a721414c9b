package worker_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/deploy/local/stack"
	"github.com/sluice-dev/sluice/internal/stacktest"
	"github.com/sluice-dev/sluice/pkg/notify"
	"github.com/sluice-dev/sluice/pkg/process"
	"github.com/sluice-dev/sluice/pkg/worker"
)

// concurrency wraps a processor, counting how many calls run at once.
type concurrency struct {
	next      process.Processor
	delay     time.Duration
	now, peak atomic.Int64
}

func (c *concurrency) Process(ctx context.Context, obj *process.Object) error {
	n := c.now.Add(1)
	defer c.now.Add(-1)
	for p := c.peak.Load(); n > p && !c.peak.CompareAndSwap(p, n); p = c.peak.Load() {
	}
	time.Sleep(c.delay)
	return c.next.Process(ctx, obj)
}

// TestFlowControl checks both limits: the message limit bounds concurrent processing,
// and the byte budget bounds it further by object weight. Sampling the counts while it
// runs shows that nothing queues behind the callback: every message received is being
// processed.
func TestFlowControl(t *testing.T) {
	env := stacktest.Start(t, stack.Config{Buckets: []string{inBucket, outBucket}})
	const mib = 1 << 20
	tests := []struct {
		name     string
		cfg      worker.Config
		size     int
		count    int
		wantPeak int64
	}{
		{
			name:     "message limit",
			cfg:      worker.Config{MaxOutstandingMessages: 3},
			size:     100,
			count:    15,
			wantPeak: 3,
		},
		{
			// Each 512 KiB object weighs 1.5 MiB; 3.5 MiB admits two.
			name:     "byte budget",
			cfg:      worker.Config{MaxOutstandingMessages: 6, MaxInFlightBytes: 3*mib + mib/2},
			size:     512 << 10,
			count:    8,
			wantPeak: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := make([]byte, tt.size)
			for i := range tt.count {
				name := fmt.Sprintf("flow-%s-%02d", tt.name, i)
				a := env.Upload(t, inBucket, name, data)
				publishFinalize(t, env, inBucket, name, a.Generation, data)
			}
			proc := &concurrency{next: newChecksum(t, env), delay: 100 * time.Millisecond}
			h := start(t, env, tt.cfg, proc, harnessOpts{})
			var maxHeld, maxBudget int64
			h.waitFor("all processed", 60*time.Second, func(s worker.Snapshot) bool {
				// Received and not settled: held by this worker, in the callback.
				maxHeld = max(maxHeld, s.Received-settled(s))
				maxBudget = max(maxBudget, s.BudgetBytes)
				return s.Outcomes[worker.Processed] >= int64(tt.count)
			})
			snap := h.stop()

			if got := proc.peak.Load(); got != tt.wantPeak {
				t.Errorf("peak concurrent processing %d, want exactly %d", got, tt.wantPeak)
			}
			if maxHeld > int64(tt.cfg.MaxOutstandingMessages) || snap.PeakInFlight > int64(tt.cfg.MaxOutstandingMessages) {
				t.Errorf("held %d messages at once (peak in flight %d), want at most %d",
					maxHeld, snap.PeakInFlight, tt.cfg.MaxOutstandingMessages)
			}
			if tt.cfg.MaxInFlightBytes > 0 && snap.PeakBudgetBytes > tt.cfg.MaxInFlightBytes {
				t.Errorf("peak budget %d bytes, over the budget of %d", snap.PeakBudgetBytes, tt.cfg.MaxInFlightBytes)
			}
			if snap.Outcomes[worker.Processed] != int64(tt.count) || settled(snap) != int64(tt.count) {
				t.Errorf("outcomes %v, want %d processed", snap.Outcomes, tt.count)
			}
		})
	}
}

// TestDrainWhileWaitingForBudget drains a worker while attribute-only messages (no size
// in the payload, so they are admitted by their stored size after the read opens) wait for
// the byte budget: the waiting ones are nacked, the one in progress finishes, and Run
// returns cleanly.
func TestDrainWhileWaitingForBudget(t *testing.T) {
	env := stacktest.Start(t, stack.Config{Buckets: []string{inBucket, outBucket}})
	const mib = 1 << 20
	data := make([]byte, 512<<10)
	const count = 4
	for i := range count {
		name := fmt.Sprintf("waiting-%02d", i)
		a := env.Upload(t, inBucket, name, data)
		attrs, payload := notify.Encode(notify.Event{Bucket: inBucket, Name: name, Generation: a.Generation, Size: -1})
		env.Publish(t, attrs, payload)
	}
	// Each object weighs 1.5 MiB: a 2 MiB budget admits one at a time.
	cfg := worker.Config{MaxOutstandingMessages: count, MaxInFlightBytes: 2 * mib}
	proc := &concurrency{next: newChecksum(t, env), delay: 700 * time.Millisecond}
	h := start(t, env, cfg, proc, harnessOpts{})
	h.waitFor("all held, one admitted", 30*time.Second, func(s worker.Snapshot) bool {
		return s.Received >= count && s.BudgetBytes > 0
	})
	h.cancel()
	if err := <-h.done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	h.done <- nil // for the cleanup
	snap := h.w.Stats().Snapshot()

	if got := proc.peak.Load(); got != 1 {
		t.Errorf("peak concurrent processing %d, want 1 under the budget", got)
	}
	if snap.Outcomes[worker.Processed] < 1 || snap.Outcomes[worker.Failed] < 1 {
		t.Errorf("outcomes %v: want the admitted object processed and the waiting ones nacked", snap.Outcomes)
	}
	if settled(snap) != snap.Received {
		t.Errorf("settled %d of %d received: every message must be settled by the drain", settled(snap), snap.Received)
	}
}
