// Package worker consumes a Pub/Sub subscription of object events and runs a processor
// on each object.
//
// Each message goes through named stages: decode (the message into a notify.Event), skip
// (events without new content), read (the object at the notified generation, streamed),
// process (the Processor writes its output durably), and settle (ack, or nack, or
// dead-letter then ack). Nothing is acknowledged before its output is written. Flow
// control bounds the messages held, and processing runs synchronously in the receive
// callback, so no queue grows behind it.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/storage"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/sluice-dev/sluice/pkg/process"
)

// tracerName names the worker's instrumentation scope.
const tracerName = "github.com/sluice-dev/sluice/pkg/worker"

// ErrShutdownStuck is returned by Run when the Pub/Sub client did not return from
// Receive, or a callback did not return, within the drain timeout plus the shutdown
// grace. The caller should exit non-zero: unsettled messages are redelivered after their
// leases expire.
var ErrShutdownStuck = errors.New("shutdown overran the drain timeout")

// Deps are the clients and collaborators a Worker uses. The caller builds the clients
// once per process and closes them after Run returns.
type Deps struct {
	// Subscriber receives the messages. Required. Its ReceiveSettings are overwritten
	// from Config.
	Subscriber *pubsub.Subscriber
	// Storage reads objects. Required.
	Storage *storage.Client
	// Processor handles each object. Required.
	Processor process.Processor
	// DeadLetter, if set, receives a copy of every rejected message before it is
	// acknowledged.
	DeadLetter *pubsub.Publisher
	// Log receives the worker's logs; nil discards them.
	Log *slog.Logger
	// Observer, if set, is told about every settled message (metrics).
	Observer Observer
	// Tracer makes the worker's spans; nil means the global provider's tracer. The
	// trace of each message continues the W3C trace context in its attributes, extracted
	// with the global propagator.
	Tracer trace.Tracer
}

// Worker consumes one subscription. Create it with New; run it once with Run.
type Worker struct {
	cfg   Config
	deps  Deps
	log   *slog.Logger
	stats Stats
	ready atomic.Bool
	// budget admits objects by weight; nil when disabled.
	budget *budget
	// admit is cancelled when the drain begins: see Run. Set before Receive starts.
	admit context.Context
	// handlers counts running receive callbacks, for the drain.
	handlers sync.WaitGroup
	live     liveState
}

// New returns a Worker, or an error if cfg or deps cannot work.
func New(cfg Config, deps Deps) (*Worker, error) {
	cfg, warnings, err := cfg.Resolve()
	if err != nil {
		return nil, fmt.Errorf("worker config: %w", err)
	}
	switch {
	case deps.Subscriber == nil:
		return nil, errors.New("worker: no subscriber")
	case deps.Storage == nil:
		return nil, errors.New("worker: no storage client")
	case deps.Processor == nil:
		return nil, errors.New("worker: no processor")
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.Tracer == nil {
		deps.Tracer = otel.Tracer(tracerName)
	}
	w := &Worker{cfg: cfg, deps: deps, log: deps.Log}
	for _, msg := range warnings {
		w.log.Warn(msg)
	}
	w.budget = newBudget(cfg.MaxInFlightBytes, &w.stats)
	w.configureReceive()
	return w, nil
}

// Config returns the effective configuration, defaults applied.
func (w *Worker) Config() Config { return w.cfg }

// Stats returns the worker's counters. Safe for concurrent use while Run runs.
func (w *Worker) Stats() *Stats { return &w.stats }

// Ready reports whether the worker is receiving: true from the start of Run until
// shutdown begins.
func (w *Worker) Ready() bool { return w.ready.Load() }

func (w *Worker) configureReceive() {
	s := &w.deps.Subscriber.ReceiveSettings
	s.MaxOutstandingMessages = w.cfg.MaxOutstandingMessages
	s.MaxOutstandingBytes = w.cfg.MaxOutstandingBytes
	s.NumGoroutines = w.cfg.Streams
	s.MaxExtension = w.cfg.MaxExtension
	s.MaxDurationPerAckExtension = w.cfg.MaxExtensionPeriod
	s.EnablePerStreamFlowControl = false
	// No client timeout: the client then waits for every callback and flushes the acks
	// before Receive returns. With a timeout it returns when the timeout fires and
	// flushes in the background, racing the client's Close. Run bounds both the
	// callbacks (abandoned at DrainTimeout) and the whole shutdown (its watchdog).
	s.ShutdownOptions = &pubsub.ShutdownOptions{
		Timeout:  -1,
		Behavior: pubsub.ShutdownBehaviorWaitForProcessing,
	}
}

// Run receives and processes messages until ctx is cancelled, then drains: it stops
// pulling at once, lets in-flight work finish for up to the drain timeout, abandons (and
// nacks) what is left, and returns once every message is settled and the client has
// flushed its acks. It returns nil after a clean drain, ErrShutdownStuck if shutdown
// overran DrainTimeout plus ShutdownGrace, or the service's error if receiving failed.
// Run must be called once.
func (w *Worker) Run(ctx context.Context) error {
	// Work continues past ctx's cancellation, until the drain deadline.
	work, abandon := context.WithCancel(context.WithoutCancel(ctx))
	defer abandon()
	// Messages waiting for the byte budget give up as soon as the drain begins.
	admit, stopAdmit := context.WithCancel(work)
	defer stopAdmit()
	w.admit = admit

	done := make(chan error, 1)
	w.live.started.Store(true)
	go func() {
		err := w.deps.Subscriber.Receive(ctx, func(_ context.Context, m *pubsub.Message) {
			w.handle(work, m)
		})
		w.live.exited.Store(true)
		done <- err
	}()
	w.ready.Store(true)
	w.log.Info("receiving", "subscription", w.deps.Subscriber.String(),
		"max_outstanding_messages", w.cfg.MaxOutstandingMessages,
		"max_outstanding_bytes", w.cfg.MaxOutstandingBytes,
		"max_in_flight_bytes", w.cfg.MaxInFlightBytes,
		"memory_limit", w.cfg.MemoryLimit,
		"streams", w.cfg.Streams,
		"object_timeout", w.cfg.ObjectTimeout,
		"drain_timeout", w.cfg.DrainTimeout,
		"max_extension", w.cfg.MaxExtension,
		"max_extension_period", w.cfg.MaxExtensionPeriod)

	select {
	case err := <-done:
		w.ready.Store(false)
		if err != nil {
			return fmt.Errorf("receive: %w", err)
		}
		return nil
	case <-ctx.Done():
	}

	w.live.draining.Store(true)
	return w.drain(done, stopAdmit, abandon)
}
