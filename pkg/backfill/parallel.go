package backfill

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"cloud.google.com/go/storage"
)

// RangeFuncs receive what ListRanges finds.
type RangeFuncs struct {
	// Object is called for every object cfg selects in range r, in the range's name
	// order; the objects of different ranges interleave. It is called from the calling
	// goroutine, one call at a time. An error stops the listing and is returned as is.
	Object func(r int, o *storage.ObjectAttrs) error
	// Done, if set, is called from the calling goroutine once range r is listed to its
	// end, after its last Object.
	Done func(r int)
	// Split, if set, is told when an idle lister splits range r at name at: r now ends
	// before at, and range child holds the names from at (inclusive) to r's former end.
	// Split ranges take the next indexes in order: len(ranges), then one more per
	// split. It is called from a lister goroutine, before any Object of child, one call
	// at a time but concurrently with Object.
	Split func(r, child int, at string)
}

// maxEmptyProbes bounds the splits of a range that find nothing between two of its
// pages: each costs a list request.
const maxEmptyProbes = 8

// span is one range being listed or waiting to be, with what its lister has seen.
type span struct {
	Range
	// first and last are the first and last names of the last page fetched; split
	// points lie above last.
	first, last string
	// more reports that the service had more to list after the last page fetched.
	more bool
	// pages counts the pages fetched since the span was last split.
	pages int
	// probeEmpty reports that the range split off this span last found no objects, so
	// the span may be split again before its lister fetches another page; emptyProbes
	// counts those since the page, up to maxEmptyProbes.
	probeEmpty  bool
	emptyProbes int
	parent      int // the span this one was split from, -1 for none
	objects     int
}

// ListRanges lists ranges (each within cfg, whose StartAfter and EndBefore it replaces)
// with up to workers concurrent listers, and hands every object to fns.
//
// A lister with no range left to start splits one still being listed (work stealing):
// it cuts the key space between the last name that range's lister has fetched and its
// end (or a nearer bound, aim) in two (splitPoint), shortens that range to end at the
// cut and lists from the cut to the old end itself. So one range fans out to every
// worker without a listing pass to find boundaries. A range is split only once its
// lister has fetched a page since its last split, or when the half split off it last
// time turned out empty (at most maxEmptyProbes times between two pages), so splitting
// adds a bounded number of list requests per page listed, about one where names are
// dense.
//
// Each lister holds at most one page (PageSize objects) waiting for fns, so memory
// grows with workers, not with the object count. Errors are reported as List reports
// them; the first one cancels the other listers. Stats add up over all ranges.
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

	l := &lister{cfg: cfg, b: b, split: fns.Split, items: make(chan item), live: map[int]*span{}, n: len(ranges)}
	l.cond = sync.NewCond(&l.mu)
	for _, r := range ranges {
		l.waiting = append(l.waiting, &span{Range: r, parent: -1})
	}
	stop := context.AfterFunc(ctx, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.cond.Broadcast()
	})
	defer stop()

	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() { l.work(ctx, cancel) })
	}
	go func() {
		wg.Wait()
		close(l.items)
	}()

	var fnErr error
	for it := range l.items {
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
	st.Splits = int64(l.n - len(ranges))
	if fnErr != nil {
		return st, fnErr
	}
	return st, l.first
}

// item is a page of range r, or with page nil the end of range r.
type item struct {
	r    int
	page []*storage.ObjectAttrs
}

// lister is the shared state of ListRanges' workers.
type lister struct {
	cfg   Config
	b     *storage.BucketHandle
	split func(r, child int, at string)
	items chan item

	mu   sync.Mutex
	cond *sync.Cond // signalled when a span fetches a page or ends, and on cancellation
	// waiting are the ranges given, by index; started moves through them in order.
	waiting []*span
	started int
	// live are the spans being listed, by index: a finished span is forgotten, so
	// memory does not grow with the splits of a long listing.
	live  map[int]*span
	n     int   // indexes given out: the ranges, then one per split
	first error // the first listing error
}

// work lists spans until none is left to start or split.
func (l *lister) work(ctx context.Context, cancel context.CancelFunc) {
	for {
		r, ok := l.next(ctx)
		if !ok {
			return
		}
		err := l.list(ctx, r)
		l.mu.Lock()
		sp := l.live[r]
		delete(l.live, r)
		if parent, ok := l.live[sp.parent]; ok && sp.objects == 0 {
			parent.probeEmpty = true
			parent.emptyProbes++
		}
		if err != nil {
			// The cancellations that follow a first error must not hide it.
			if l.first == nil || errors.Is(l.first, context.Canceled) && !errors.Is(err, context.Canceled) {
				l.first = fmt.Errorf("list gs://%s/%s: %w", l.cfg.Bucket, l.cfg.Prefix, err)
			}
		}
		l.cond.Broadcast()
		l.mu.Unlock()
		if err != nil {
			cancel()
			return
		}
	}
}

// next returns a span to list: one not yet started, else one split off a span being
// listed. It waits while neither exists but a span is still being listed, and reports
// false once every span is done or ctx is cancelled.
func (l *lister) next(ctx context.Context) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		if err := ctx.Err(); err != nil {
			// A span no lister started would be left out silently: the listers of
			// started spans report their own errors, or finish.
			if l.started < len(l.waiting) && l.first == nil {
				l.first = fmt.Errorf("list gs://%s/%s: %w", l.cfg.Bucket, l.cfg.Prefix, err)
			}
			return 0, false
		}
		if r := l.started; r < len(l.waiting) {
			l.live[r], l.waiting[r] = l.waiting[r], nil
			l.started++
			return r, true
		}
		if len(l.live) == 0 {
			return 0, false
		}
		if r, ok := l.steal(); ok {
			return r, true
		}
		l.cond.Wait()
	}
}

// steal splits the span being listed that has fetched the most pages since its last
// split, and returns the new span, already started. Called with l.mu held.
func (l *lister) steal() (int, bool) {
	var order []int
	for i, sp := range l.live {
		if sp.last != "" && sp.more && (sp.pages > 0 || sp.probeEmpty && sp.emptyProbes < maxEmptyProbes) {
			order = append(order, i)
		}
	}
	slices.SortFunc(order, func(a, b int) int {
		if d := l.live[b].pages - l.live[a].pages; d != 0 {
			return d
		}
		return a - b
	})
	for _, p := range order {
		parent := l.live[p]
		at, ok := splitPoint(parent.last, aim(parent.first, parent.last, parent.EndBefore))
		if !ok {
			continue
		}
		child := l.n
		l.n++
		l.live[child] = &span{Range: Range{From: at, EndBefore: parent.EndBefore}, parent: p}
		parent.EndBefore, parent.pages, parent.probeEmpty = at, 0, false
		if l.split != nil {
			l.split(p, child, at)
		}
		return child, true
	}
	return 0, false
}

// aim returns the upper bound to split between last and end at: end, or below it the
// end of the names that share all but the last byte of the prefix common to the last
// page (first to last), since the names still to list are likely to look like those just
// listed. Bisecting all the way to a far or unbounded end would mostly cut off empty key
// space: "data/2026/099/x" and no end split at "q", while the prefix "data/2026/0" aims
// the split below "data/20260", at "data/2026/W", then "C", then "9".
func aim(first, last, end string) string {
	n := 0
	for n < len(first) && n < len(last) && first[n] == last[n] {
		n++
	}
	for i := n - 2; i >= 0; i-- {
		if last[i] < 0xff {
			guide := last[:i] + string([]byte{last[i] + 1})
			if end == "" || guide < end {
				return guide
			}
			break
		}
	}
	return end
}

// list fetches span r's pages, cut at its end as splits lower it, and sends them to
// l.items, then the end of the range.
func (l *lister) list(ctx context.Context, r int) error {
	l.mu.Lock()
	sp := l.live[r]
	rc := l.cfg
	rc.StartAfter, rc.from, rc.EndBefore = sp.StartAfter, sp.From, sp.EndBefore
	l.mu.Unlock()
	if err := rc.Validate(); err != nil {
		return err
	}
	errEnd := errors.New("range ended")
	err := fetchEach(ctx, l.b, rc, rc.query(fields), func(page []*storage.ObjectAttrs, more bool) error {
		if rc.from == "" && page[0].Name == rc.StartAfter {
			page = page[1:] // StartOffset is inclusive
		}
		l.mu.Lock()
		cut := len(page)
		if sp.EndBefore != "" {
			cut, _ = slices.BinarySearchFunc(page, sp.EndBefore, func(o *storage.ObjectAttrs, end string) int {
				return strings.Compare(o.Name, end)
			})
		}
		ended := cut < len(page)
		page = page[:cut]
		if len(page) > 0 {
			sp.first, sp.last = page[0].Name, page[len(page)-1].Name
		}
		sp.more = more && !ended
		sp.pages++
		sp.emptyProbes = 0
		sp.objects += len(page)
		l.cond.Broadcast()
		l.mu.Unlock()
		if len(page) > 0 {
			if err := sendItem(ctx, l.items, item{r: r, page: page}); err != nil {
				return err
			}
		}
		if ended {
			return errEnd
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnd) {
		return err
	}
	// The service may end a listing with an empty page after one that said there was
	// more: a split now would follow the range's Done.
	l.mu.Lock()
	sp.more = false
	l.mu.Unlock()
	return sendItem(ctx, l.items, item{r: r})
}

func sendItem[T any](ctx context.Context, c chan<- T, v T) error {
	select {
	case c <- v:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
