package checkpoint

import (
	"sync"
	"sync/atomic"
)

// Range is one name range of a backfill still to settle: names after After and before
// EndBefore ("" means unbounded). After is the range's watermark: it starts as the
// range's lower bound and moves up as names settle. A range split off another while
// listing starts at its split point instead: From, inclusive, until its first name
// settles and After takes over.
type Range struct {
	After     string `json:"after"`
	From      string `json:"from,omitempty"`
	EndBefore string `json:"end_before"`
}

// rangeBits is how many low bits of a token hold the sequence number within its range:
// 2^40 (10^12) names a range, 2^24 ranges.
const rangeBits = 40

// Ranges tracks a Watermark per Range, for a listing split into ranges that are listed
// concurrently: each range's names are added in name order, but ranges interleave, so
// one watermark over them all would be wrong (or stuck). It is safe for concurrent use.
type Ranges struct {
	mu     sync.Mutex
	ranges []*rangeMark
}

type rangeMark struct {
	from, end string
	// w is nil once the range is listed and every name in it settled: a backfill
	// split into thousands of ranges keeps only this small record of each.
	w      *Watermark
	passed int64       // the names w passed, once w is dropped
	listed atomic.Bool // every name of the range has been added
}

// NewRanges tracks rs; the index of a range in rs names it in Add and Listed.
func NewRanges(rs []Range) *Ranges {
	t := &Ranges{}
	for _, r := range rs {
		t.ranges = append(t.ranges, &rangeMark{from: r.From, end: r.EndBefore, w: NewWatermark(r.After)})
	}
	return t
}

// Add registers the next name of range i, in the range's name order, and returns the
// token Done takes. Range i must not be Listed yet.
func (t *Ranges) Add(i int, name string) uint64 {
	_, w := t.mark(i)
	return uint64(i)<<rangeBits | w.Add(name)
}

// Done marks the name of token settled.
func (t *Ranges) Done(token uint64) {
	i := int(token >> rangeBits)
	r, w := t.mark(i)
	if w == nil {
		return
	}
	w.Done(token & (1<<rangeBits - 1))
	// Read after Done: if Listed has not stored it yet, its own finish sees this name
	// settled. Until then a settled name costs no second lock.
	if r.listed.Load() {
		t.finish(i)
	}
}

// Split ends range i before at and adds a range for the names from at (inclusive) to
// range i's former end, in one step, so that every Position covers the same names. It
// returns the new range's index: the ranges of NewRanges, then one per Split, in order.
// Names range i has added must all be below at.
func (t *Ranges) Split(i int, at string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.ranges[i]
	t.ranges = append(t.ranges, &rangeMark{from: at, end: r.end, w: NewWatermark("")})
	r.end = at
	return len(t.ranges) - 1
}

// Listed records that every name of range i has been added.
func (t *Ranges) Listed(i int) {
	r, _ := t.mark(i)
	r.listed.Store(true)
	t.finish(i)
}

// finish drops range i's watermark once the range is listed and settled. Its maps
// keep the buckets of their largest size, and a listing may split into a range per
// page.
func (t *Ranges) finish(i int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.ranges[i]
	if r.w != nil && r.listed.Load() && r.w.settled() {
		_, r.passed = r.w.Position()
		// end stays: a range split after it is listed gives the new range this end.
		r.w, r.from = nil, ""
	}
}

// mark returns range i and its watermark, nil once dropped.
func (t *Ranges) mark(i int) (*rangeMark, *Watermark) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ranges[i], t.ranges[i].w
}

// Position returns the ranges still to settle, each from its watermark, and how many
// names all watermarks have passed. A range is left out once it is listed and every
// name in it is settled. Resuming lists exactly the ranges returned.
func (t *Ranges) Position() (pending []Range, passed int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	pending = []Range{}
	for _, r := range t.ranges {
		if r.w == nil {
			passed += r.passed
			continue
		}
		name, n := r.w.Position()
		passed += n
		if r.listed.Load() && r.w.settled() {
			continue
		}
		if r.from != "" && n == 0 {
			pending = append(pending, Range{From: r.from, EndBefore: r.end})
		} else {
			pending = append(pending, Range{After: name, EndBefore: r.end})
		}
	}
	return pending, passed
}
