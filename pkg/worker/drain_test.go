package worker_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/deploy/local/stack"
	"github.com/sluice-dev/sluice/internal/stacktest"
	"github.com/sluice-dev/sluice/pkg/process"
	"github.com/sluice-dev/sluice/pkg/worker"
)

// slow processes after a delay, or, with ignoreCancel, sleeps through cancellation.
type slow struct {
	next         process.Processor
	delay        time.Duration
	ignoreCancel bool
}

func (s slow) Process(ctx context.Context, obj *process.Object) error {
	if s.ignoreCancel {
		time.Sleep(s.delay)
	} else {
		select {
		case <-time.After(s.delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.next.Process(ctx, obj)
}

// TestDrain cancels a worker with work in flight and checks what the drain does with
// it, then runs a second worker to show that nothing was lost or done twice: acked
// messages do not come back (the acks were flushed), nacked ones are processed.
func TestDrain(t *testing.T) {
	// A short ack deadline bounds the wait for messages pstest pushed to a stopping
	// client's stream (it ignores streaming flow control), which the client never reads.
	env := stacktest.Start(t, stack.Config{Buckets: []string{inBucket, outBucket}, AckDeadline: 10 * time.Second})
	tests := []struct {
		name          string
		proc          slow
		cfg           worker.Config
		wantErr       error
		wantAcked     int64
		wantAbandoned int64
	}{
		{
			name:      "in-flight work finishes",
			proc:      slow{delay: 700 * time.Millisecond},
			cfg:       worker.Config{DrainTimeout: 3 * time.Second},
			wantAcked: 2,
		},
		{
			name:          "drain timeout abandons and nacks",
			proc:          slow{delay: time.Minute},
			cfg:           worker.Config{DrainTimeout: 500 * time.Millisecond},
			wantAbandoned: 2,
		},
		{
			name:    "watchdog: a handler ignores cancellation",
			proc:    slow{delay: 4 * time.Second, ignoreCancel: true},
			cfg:     worker.Config{DrainTimeout: 300 * time.Millisecond, ShutdownGrace: 700 * time.Millisecond},
			wantErr: worker.ErrShutdownStuck,
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Two messages are in flight at the drain; two more are published after
			// it. (pstest ignores streaming flow control and would push any others to
			// the draining client, where they wait out their lease.)
			const total = 4
			publish := func(j int) {
				name := fmt.Sprintf("drain-%d-%d", i, j)
				data := []byte(name)
				a := env.Upload(t, inBucket, name, data)
				publishFinalize(t, env, inBucket, name, a.Generation, data)
			}
			publish(0)
			publish(1)
			tt.proc.next = newChecksum(t, env)
			tt.cfg.MaxOutstandingMessages = 2
			w, err := worker.New(tt.cfg, worker.Deps{
				Subscriber: env.PubSub.Subscriber(env.Subscription),
				Storage:    env.Storage,
				Processor:  tt.proc,
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- w.Run(ctx) }()
			deadline := time.Now().Add(20 * time.Second)
			for w.Stats().Snapshot().InFlight < 2 {
				if time.Now().After(deadline) {
					t.Fatalf("never had 2 messages in flight: %+v", w.Stats().Snapshot())
				}
				time.Sleep(5 * time.Millisecond)
			}
			cancel()
			begun := time.Now()
			for ready := time.Now().Add(time.Second); w.Ready() && time.Now().Before(ready); {
				time.Sleep(5 * time.Millisecond)
			}
			if w.Ready() {
				t.Error("Ready() = true a second into the drain")
			}
			err = <-done
			took := time.Since(begun)
			snap := w.Stats().Snapshot()
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Run = %v, want %v", err, tt.wantErr)
			}
			if limit := tt.cfg.DrainTimeout + tt.cfg.ShutdownGrace + time.Second; tt.wantErr != nil && took > limit {
				t.Errorf("stuck shutdown returned after %s, want within %s", took, limit)
			}
			if tt.wantErr == nil {
				if snap.Received != 2 || snap.Acked != tt.wantAcked || snap.Abandoned != tt.wantAbandoned ||
					snap.Nacked != tt.wantAbandoned {
					t.Errorf("received %d, acked %d, nacked %d, abandoned %d; want 2, %d, %d, %d",
						snap.Received, snap.Acked, snap.Nacked, snap.Abandoned,
						tt.wantAcked, tt.wantAbandoned, tt.wantAbandoned)
				}
				if took > tt.cfg.DrainTimeout+time.Second {
					t.Errorf("drain took %s, want within the drain timeout %s", took, tt.cfg.DrainTimeout)
				}
			}

			if tt.wantErr != nil {
				// The stuck handlers still run; abandoned, they nack when they end. A
				// process would have exited, and their messages come back at lease
				// expiry.
				deadline := time.Now().Add(10 * time.Second)
				for w.Stats().Snapshot().InFlight > 0 && time.Now().Before(deadline) {
					time.Sleep(20 * time.Millisecond)
				}
				snap = w.Stats().Snapshot()
			}
			publish(2)
			publish(3)
			// What the first worker acked must not come back; the rest must.
			left := total - snap.Acked
			h := start(t, env, worker.Config{MaxOutstandingMessages: 4}, newChecksum(t, env), harnessOpts{})
			h.waitFor("the rest", 60*time.Second, func(s worker.Snapshot) bool {
				return s.Outcomes[worker.Processed]+s.Outcomes[worker.Duplicate] >= left
			})
			rest := h.stop()
			if rest.Outcomes[worker.Processed] != left || rest.Outcomes[worker.Duplicate] != 0 {
				t.Errorf("second worker outcomes %v, want %d processed and no duplicates", rest.Outcomes, left)
			}
			for j := range total {
				name := fmt.Sprintf("drain-%d-%d", i, j)
				if out := outputs(t, env, "checksum", name); len(out) != 1 {
					t.Errorf("%s: %d records, want 1", name, len(out))
				}
			}
		})
	}
}

// countCalls counts calls to Process.
type countCalls struct {
	next process.Processor
	n    *atomic.Int64
}

func (c countCalls) Process(ctx context.Context, obj *process.Object) error {
	c.n.Add(1)
	return c.next.Process(ctx, obj)
}
