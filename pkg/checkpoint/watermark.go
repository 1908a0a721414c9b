package checkpoint

import "sync"

// Watermark tracks the contiguous settled prefix of a sequence of names. Add is called
// in listing order; Done in any order. It is safe for concurrent use. Its memory grows
// with the names added but not yet passed by the watermark, which the publisher's flow
// control bounds.
type Watermark struct {
	mu      sync.Mutex
	next    uint64            // sequence number the next Add assigns
	low     uint64            // lowest sequence number not yet settled
	pending map[uint64]string // names from low on, by sequence number
	done    map[uint64]bool   // settled sequence numbers above low
	name    string            // name of low-1: the watermark
	passed  int64             // names the watermark has passed
}

// NewWatermark returns a Watermark that starts after name (which may be "").
func NewWatermark(name string) *Watermark {
	return &Watermark{pending: map[uint64]string{}, done: map[uint64]bool{}, name: name}
}

// Add registers the next name in listing order and returns its sequence number.
func (w *Watermark) Add(name string) uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	seq := w.next
	w.next++
	w.pending[seq] = name
	return seq
}

// Done marks seq settled and moves the watermark over every settled name after it.
func (w *Watermark) Done(seq uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if seq < w.low || seq >= w.next {
		return
	}
	w.done[seq] = true
	for w.done[w.low] {
		delete(w.done, w.low)
		w.name = w.pending[w.low]
		delete(w.pending, w.low)
		w.low++
		w.passed++
	}
}

// Position returns the watermark name (every name up to it is settled) and how many
// names it has passed since NewWatermark.
func (w *Watermark) Position() (name string, passed int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.name, w.passed
}

// settled reports whether every name added so far is settled.
func (w *Watermark) settled() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.low == w.next
}
