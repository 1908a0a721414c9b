package backfill

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"cloud.google.com/go/storage"
)

// RangeFuncs receive what ListRanges finds. Both are called from the calling goroutine,
// one call at a time.
type RangeFuncs struct {
	// Object is called for every object cfg selects in ranges[r], in the range's name
	// order; the objects of different ranges interleave. An error stops the listing and
	// is returned as is.
	Object func(r int, o *storage.ObjectAttrs) error
	// Done, if set, is called once ranges[r] is listed to its end, after its last Object.
	Done func(r int)
}

// ListRanges lists ranges (each within cfg, whose StartAfter and EndBefore it replaces)
// with up to workers concurrent listers, and hands every object to fns. Each lister
// holds at most one page (PageSize objects) waiting for fns, so memory grows with
// workers, not with the object count. Errors are reported as List reports them; the
// first one cancels the other listers. Stats add up over all ranges.
func ListRanges(ctx context.Context, b *storage.BucketHandle, cfg Config, ranges []Range, workers int, fns RangeFuncs) (Stats, error) {
	var st Stats
	if err := cfg.Validate(); err != nil {
		return st, err
	}
	if workers < 1 {
		return st, fmt.Errorf("backfill: %d list workers", workers)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// A page, or with page nil the end of range r.
	type item struct {
		r    int
		page []*storage.ObjectAttrs
	}
	items := make(chan item)
	todo := make(chan int, len(ranges))
	for i := range ranges {
		todo <- i
	}
	close(todo)
	var (
		wg    sync.WaitGroup
		errMu sync.Mutex
		first error
	)
	for range min(workers, len(ranges)) {
		wg.Go(func() {
			for r := range todo {
				rc := cfg
				rc.StartAfter, rc.EndBefore = ranges[r].StartAfter, ranges[r].EndBefore
				err := rc.Validate()
				if err == nil {
					err = fetchEach(ctx, b, rc, rc.query(fields), func(page []*storage.ObjectAttrs) error {
						return sendItem(ctx, items, item{r: r, page: page})
					})
				}
				if err == nil {
					err = sendItem(ctx, items, item{r: r})
				}
				if err != nil {
					errMu.Lock()
					// The cancellations that follow a first error must not hide it.
					if first == nil || errors.Is(first, context.Canceled) && !errors.Is(err, context.Canceled) {
						first = fmt.Errorf("list gs://%s/%s: %w", cfg.Bucket, cfg.Prefix, err)
					}
					errMu.Unlock()
					cancel()
					return
				}
			}
		})
	}
	go func() {
		wg.Wait()
		close(items)
	}()

	var fnErr error
	for it := range items {
		if fnErr != nil {
			continue // drain so the listers can stop
		}
		if it.page == nil {
			if fns.Done != nil {
				fns.Done(it.r)
			}
			continue
		}
		for _, o := range it.page {
			if o.Name == ranges[it.r].StartAfter {
				continue
			}
			if !cfg.UpdatedSince.IsZero() && o.Updated.Before(cfg.UpdatedSince) {
				st.Skipped++
				continue
			}
			st.Listed++
			if err := fns.Object(it.r, o); err != nil {
				fnErr = err
				cancel()
				break
			}
		}
	}
	if fnErr != nil {
		return st, fnErr
	}
	return st, first
}

func sendItem[T any](ctx context.Context, c chan<- T, v T) error {
	select {
	case c <- v:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
