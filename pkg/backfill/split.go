package backfill

import (
	"context"
	"fmt"
	"time"

	"cloud.google.com/go/storage"
)

// Range is a span of names: StartAfter < name < EndBefore, "" meaning unbounded.
type Range struct {
	StartAfter, EndBefore string
	// From, when set, replaces StartAfter as the lower bound, inclusive: From <= name.
	// Ranges split while listing start at their split point.
	From string
	// Objects is how many objects the range held when it was computed, to within the
	// sampling step.
	Objects int64
}

// maxSample bounds the names Split keeps. Twice the sample is held at most, so memory is
// ~2*maxSample names (~8 MB of 1 KiB names) whatever the bucket size; the boundaries are
// then within count/maxSample objects of ideal, under 0.03% of the bucket.
const maxSample = 4096

// sampled is one kept name, its listing index, and the name listed just before it.
type sampled struct {
	index      int64
	prev, name string
}

// Split lists the names cfg selects once and returns up to n ranges of about equal
// object counts that, in order, cover cfg's listing exactly: every name in exactly one
// range. A range boundary is a pair of adjacent names: the range before it ends before
// the upper name and the range after it starts after the lower one. An object created
// between the two while the ranges are in use may be listed by both (at least once,
// never missed). Fewer than n ranges are returned when there are fewer than n objects.
func Split(ctx context.Context, b *storage.BucketHandle, cfg Config, n int) ([]Range, error) {
	if n < 1 {
		return nil, fmt.Errorf("backfill: %d ranges", n)
	}
	cfg.UpdatedSince = time.Time{} // ranges split names, whatever their age
	var (
		sample []sampled
		step   int64 = 1
		count  int64
		prev   string
	)
	_, err := list(ctx, b, cfg, []string{"Name"}, func(o *storage.ObjectAttrs) error {
		if count%step == 0 {
			sample = append(sample, sampled{index: count, prev: prev, name: o.Name})
			if len(sample) >= 2*maxSample {
				sample = thin(sample, step*2)
				step *= 2
			}
		}
		prev = o.Name
		count++
		return nil
	})
	if err != nil {
		return nil, err
	}

	ranges := []Range{{StartAfter: cfg.StartAfter}}
	var lastIndex int64
	for i := 1; i < n; i++ {
		target := count * int64(i) / int64(n)
		s, ok := firstAtOrAfter(sample, target)
		if !ok || s.index == 0 || s.index <= lastIndex {
			continue
		}
		cur := &ranges[len(ranges)-1]
		cur.EndBefore, cur.Objects = s.name, s.index-lastIndex
		ranges = append(ranges, Range{StartAfter: s.prev})
		lastIndex = s.index
	}
	last := &ranges[len(ranges)-1]
	last.EndBefore, last.Objects = cfg.EndBefore, count-lastIndex
	return ranges, nil
}

// thin keeps the samples whose index is a multiple of step.
func thin(sample []sampled, step int64) []sampled {
	kept := sample[:0]
	for _, s := range sample {
		if s.index%step == 0 {
			kept = append(kept, s)
		}
	}
	return kept
}

func firstAtOrAfter(sample []sampled, index int64) (sampled, bool) {
	for _, s := range sample {
		if s.index >= index {
			return s, true
		}
	}
	return sampled{}, false
}
