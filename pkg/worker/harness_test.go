package worker_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/storage"
	"github.com/googleapis/gax-go/v2"

	"github.com/sluice-dev/sluice/internal/faultproxy"
	"github.com/sluice-dev/sluice/internal/stacktest"
	"github.com/sluice-dev/sluice/pkg/process"
	"github.com/sluice-dev/sluice/pkg/worker"
)

// harness runs one worker in the background and records every settlement.
type harness struct {
	t      *testing.T
	w      *worker.Worker
	cancel context.CancelFunc
	done   chan error
	dl     *pubsub.Publisher

	mu      sync.Mutex
	settled []worker.Settlement
	times   []time.Time
}

// harnessOpts varies what start builds; the zero value reads through env.Storage.
type harnessOpts struct {
	storage    *storage.Client
	subscriber *pubsub.Subscriber
}

// start runs a worker with cfg and proc on env's subscription until stop.
func start(t *testing.T, env *stacktest.Env, cfg worker.Config, proc process.Processor, opts harnessOpts) *harness {
	t.Helper()
	h := &harness{t: t, done: make(chan error, 1), dl: env.PubSub.Publisher(env.DeadLetterTopic)}
	deps := worker.Deps{
		Subscriber: opts.subscriber,
		Storage:    opts.storage,
		Processor:  proc,
		DeadLetter: h.dl,
		Log:        slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Observer:   h,
	}
	if deps.Subscriber == nil {
		deps.Subscriber = env.PubSub.Subscriber(env.Subscription)
	}
	if deps.Storage == nil {
		deps.Storage = env.Storage
	}
	if cfg.DrainTimeout == 0 {
		cfg.DrainTimeout = 5 * time.Second
	}
	w, err := worker.New(cfg, deps)
	if err != nil {
		t.Fatalf("worker.New: %v", err)
	}
	h.w = w
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-h.done
		h.dl.Stop()
	})
	return h
}

// Settled records s; it implements worker.Observer.
func (h *harness) Settled(_ context.Context, s worker.Settlement) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.settled = append(h.settled, s)
	h.times = append(h.times, time.Now())
}

// settlements returns what has settled so far, with when.
func (h *harness) settlements() ([]worker.Settlement, []time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]worker.Settlement(nil), h.settled...), append([]time.Time(nil), h.times...)
}

// waitFor polls until cond holds for the worker's counts, failing the test at limit.
func (h *harness) waitFor(what string, limit time.Duration, cond func(worker.Snapshot) bool) worker.Snapshot {
	h.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		snap := h.w.Stats().Snapshot()
		if cond(snap) {
			return snap
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("waited %s for %s: %+v", limit, what, snap)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitSettled waits until n messages have settled.
func (h *harness) waitSettled(n int64, limit time.Duration) worker.Snapshot {
	h.t.Helper()
	return h.waitFor("settlements", limit, func(s worker.Snapshot) bool { return settled(s) >= n })
}

// stop shuts the worker down after letting stray redeliveries arrive, and returns its
// final counts.
func (h *harness) stop() worker.Snapshot {
	h.t.Helper()
	time.Sleep(300 * time.Millisecond)
	h.cancel()
	if err := <-h.done; err != nil {
		h.t.Fatalf("Run: %v", err)
	}
	h.done <- nil // for the cleanup
	return h.w.Stats().Snapshot()
}

// proxied starts a fault proxy in front of env's storage and returns it with a storage
// client that goes through it. The client backs off from 20ms instead of 1s, so retried
// faults cost the test little time; what is retried is the client's own decision.
func proxied(t *testing.T, env *stacktest.Env) (*faultproxy.Proxy, *storage.Client) {
	t.Helper()
	p, err := faultproxy.Start("http://" + env.StorageHost)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	t.Setenv("STORAGE_EMULATOR_HOST", p.Host)
	c, err := storage.NewClient(context.Background())
	t.Setenv("STORAGE_EMULATOR_HOST", env.StorageHost)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetRetry(storage.WithBackoff(gax.Backoff{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond, Multiplier: 2}))
	return p, c
}

// publishFinalize publishes the notification Cloud Storage would send for data stored
// at bucket/name#gen.
func publishFinalize(t *testing.T, env *stacktest.Env, bucket, name string, gen int64, data []byte) {
	t.Helper()
	attrs, payload := finalize(bucket, name, gen, data)
	env.Publish(t, attrs, payload)
}
