package worker

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// liveState records where Run is, for Live.
type liveState struct {
	started  atomic.Bool // Run has begun receiving
	draining atomic.Bool // shutdown has begun
	exited   atomic.Bool // Subscriber.Receive has returned
}

// stuckMargin is what a message may take past ObjectTimeout to settle: its dead-letter
// publish (bounded at one minute in deadLetter) and its ack, which on exactly-once
// subscriptions waits for the service. Too small a margin restarts a pod whose
// dead-letter topic is merely slow; too large leaves a wedged pod holding its leases,
// and its share of the subscription's flow, for longer before the kubelet restarts it.
const stuckMargin = 2 * time.Minute

// ErrReceiveStopped is returned by Live when Subscriber.Receive has returned although
// the worker was not shutting down: no more messages will arrive.
var ErrReceiveStopped = errors.New("receive loop exited")

// Live reports whether the receive loop is making progress, as a liveness probe asks.
// It returns an error when messages are held but none has begun or settled for
// ObjectTimeout plus two minutes, or when Receive has returned while the worker was not
// draining. It does not fail because a dependency is slow: a slow read, process or
// write ends at ObjectTimeout and settles its message, which is progress. Before Run and
// during a drain it returns nil. now is the current time (a parameter so tests can move
// the clock). Safe for concurrent use.
func (w *Worker) Live(now time.Time) error {
	if !w.live.started.Load() || w.live.draining.Load() {
		return nil
	}
	if w.live.exited.Load() {
		return ErrReceiveStopped
	}
	held := w.stats.inFlight.Load()
	if held == 0 {
		return nil
	}
	limit := w.cfg.ObjectTimeout + stuckMargin
	idle := now.Sub(time.Unix(0, w.stats.progress.Load()))
	if idle > limit {
		return fmt.Errorf("receive loop stuck: %d messages held, none begun or settled for %s (limit %s)",
			held, idle.Round(time.Second), limit)
	}
	return nil
}
