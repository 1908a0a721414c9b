package worker

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sync/semaphore"
)

// budget admits objects while their total weight fits. Waiters are served in order, so
// a heavy object is not starved by a stream of light ones. A nil *budget admits all.
type budget struct {
	max   int64
	sem   *semaphore.Weighted
	stats *Stats // budgetBytes and budgetPeak
}

// newBudget returns a budget of max bytes that reports to stats, or nil (no budget)
// when max is negative.
func newBudget(max int64, stats *Stats) *budget {
	if max < 0 {
		return nil
	}
	return &budget{max: max, sem: semaphore.NewWeighted(max), stats: stats}
}

// admission is the weight one object holds in a budget. Its zero value holds nothing.
// It is a value, not a closure, so that admitting an object allocates nothing.
type admission struct {
	b *budget
	n int64
}

// release gives the weight back. It must be called once per admission that holds
// weight; on the zero admission it does nothing.
func (a admission) release() {
	if a.b == nil {
		return
	}
	a.b.stats.budgetBytes.Add(-a.n)
	a.b.sem.Release(a.n)
}

// weigh returns the weight an object of n bytes takes: an n above the whole budget
// takes all of it.
func (b *budget) weigh(n int64) int64 { return min(n, b.max) }

// tryAcquire takes n bytes if they fit now and nobody waits, without blocking.
func (b *budget) tryAcquire(n int64) (admission, bool) {
	n = b.weigh(n)
	if !b.sem.TryAcquire(n) {
		return admission{}, false
	}
	return b.admitted(n), true
}

// acquire blocks until n bytes fit, or ctx ends; an n above the whole budget takes all
// of it.
func (b *budget) acquire(ctx context.Context, n int64) (admission, error) {
	n = b.weigh(n)
	if err := b.sem.Acquire(ctx, n); err != nil {
		return admission{}, err
	}
	return b.admitted(n), nil
}

// admitted records n bytes just taken from the semaphore.
func (b *budget) admitted(n int64) admission {
	raisePeak(&b.stats.budgetPeak, b.stats.budgetBytes.Add(n))
	return admission{b: b, n: n}
}

// errNotAdmitted reports that an object's wait for the byte budget ended, at its object
// timeout or because the drain began: it is nacked, for this or another pod to retry.
var errNotAdmitted = errors.New("not admitted by the in-flight byte budget")

// admitObject waits until the byte budget admits an object of size bytes (-1 if
// unknown), or until ctx ends or the drain begins. The caller releases the admission
// it returns.
func (w *Worker) admitObject(ctx context.Context, size int64) (admission, error) {
	if w.budget == nil {
		return admission{}, nil
	}
	// The common case, weight that fits with nobody waiting, needs no wait and so no
	// context of its own. The drain abandons only objects that wait: one that fits is
	// in-flight work, and runs. A done ctx refuses, as the semaphore's Acquire does.
	if ctx.Err() == nil {
		if a, ok := w.budget.tryAcquire(w.cfg.weight(size)); ok {
			return a, nil
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if w.admit != nil {
		defer context.AfterFunc(w.admit, cancel)()
	}
	a, err := w.budget.acquire(ctx, w.cfg.weight(size))
	if err != nil {
		return admission{}, fmt.Errorf("%w: %w", errNotAdmitted, err)
	}
	return a, nil
}
