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

// acquire blocks until n bytes fit, or ctx ends; an n above the whole budget takes all
// of it. It returns the function that gives the bytes back.
func (b *budget) acquire(ctx context.Context, n int64) (release func(), err error) {
	if b == nil {
		return func() {}, nil
	}
	n = min(n, b.max)
	if err := b.sem.Acquire(ctx, n); err != nil {
		return nil, err
	}
	raisePeak(&b.stats.budgetPeak, b.stats.budgetBytes.Add(n))
	return func() {
		b.stats.budgetBytes.Add(-n)
		b.sem.Release(n)
	}, nil
}

// errNotAdmitted reports that an object's wait for the byte budget ended, at its object
// timeout or because the drain began: it is nacked, for this or another pod to retry.
var errNotAdmitted = errors.New("not admitted by the in-flight byte budget")

// admitObject waits until the byte budget admits an object of size bytes (-1 if
// unknown), or until ctx ends or the drain begins. It returns the function that gives
// the bytes back.
func (w *Worker) admitObject(ctx context.Context, size int64) (release func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if w.admit != nil {
		defer context.AfterFunc(w.admit, cancel)()
	}
	release, err = w.budget.acquire(ctx, w.cfg.weight(size))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNotAdmitted, err)
	}
	return release, nil
}
