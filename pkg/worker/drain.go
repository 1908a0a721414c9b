package worker

import (
	"fmt"
	"time"
)

// drain runs a shutdown once Run's context is cancelled; the client has already stopped
// pulling. It turns readiness off, stops admitting messages that wait for the byte
// budget, lets in-flight work run until DrainTimeout and then abandons it (its messages
// are nacked), and waits for Receive and every callback to return. done yields
// Receive's result. If that takes longer than DrainTimeout plus ShutdownGrace, drain
// gives up with ErrShutdownStuck, leaving what is unsettled to lease expiry.
func (w *Worker) drain(done <-chan error, stopAdmit, abandon func()) error {
	w.ready.Store(false)
	stopAdmit()
	start, before := time.Now(), w.stats.Snapshot()
	w.log.Info("draining", "in_flight", before.InFlight, "received", before.Received,
		"drain_timeout", w.cfg.DrainTimeout)

	timer := time.AfterFunc(w.cfg.DrainTimeout, func() {
		w.log.Warn("drain timeout: abandoning in-flight work", "in_flight", w.stats.inFlight.Load())
		abandon()
	})
	defer timer.Stop()
	watchdog := time.NewTimer(w.cfg.DrainTimeout + w.cfg.ShutdownGrace)
	defer watchdog.Stop()

	var err error
	select {
	case err = <-done:
	case <-watchdog.C:
		w.log.Error("pubsub client did not return from receive: exiting with messages unsettled",
			"in_flight", w.stats.inFlight.Load(), "elapsed", time.Since(start).Round(time.Millisecond))
		return ErrShutdownStuck
	}
	// With its shutdown timeout disabled the client waits for callbacks itself; this
	// also covers a client that returns early.
	handlers := make(chan struct{})
	go func() {
		w.handlers.Wait()
		close(handlers)
	}()
	select {
	case <-handlers:
	case <-watchdog.C:
		w.log.Error("message handlers did not return: exiting with messages unsettled",
			"in_flight", w.stats.inFlight.Load(), "elapsed", time.Since(start).Round(time.Millisecond))
		return ErrShutdownStuck
	}

	after := w.stats.Snapshot()
	w.log.Info("drained",
		"elapsed", time.Since(start).Round(time.Millisecond),
		"in_flight_at_drain", before.InFlight,
		"received_at_drain", before.Received,
		"received", after.Received,
		"acked", after.Acked-before.Acked,
		"nacked", after.Nacked-before.Nacked,
		"abandoned", after.Abandoned-before.Abandoned,
		"stats", after)
	if err != nil {
		return fmt.Errorf("receive: %w", err)
	}
	return nil
}
