package checkpoint

import (
	"fmt"
	"runtime"
	"testing"
)

// TestFinishedRangesDropWatermarks checks a range listed and settled keeps no
// watermark, in either order of the two events, and still counts what it passed.
func TestFinishedRangesDropWatermarks(t *testing.T) {
	rs := NewRanges([]Range{{}})
	a := rs.Add(0, "a")
	c := rs.Split(0, "c")
	d := rs.Add(c, "d")
	rs.Done(a)
	rs.Listed(0) // settled first, then listed
	rs.Listed(c)
	rs.Done(d) // listed first, then settled
	for i, r := range rs.ranges {
		if r.w != nil {
			t.Errorf("range %d keeps its watermark after it is listed and settled", i)
		}
	}
	if pending, passed := rs.Position(); len(pending) != 0 || passed != 2 {
		t.Errorf("Position() = %v, %d; want no ranges, 2 passed", pending, passed)
	}
	rs.Done(d) // a repeated result is ignored
}

// BenchmarkSplitListing settles a listing split into a range per page of 1,000 names,
// with 1,000 names outstanding at a time as a publisher would leave them, and reports
// the heap the tracker keeps per finished range.
func BenchmarkSplitListing(b *testing.B) {
	const ranges, page = 2000, 1000
	for range b.N {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		rs := NewRanges([]Range{{}})
		r := 0
		for i := range ranges {
			tokens := make([]uint64, page)
			for j := range page {
				tokens[j] = rs.Add(r, fmt.Sprintf("%06d/%04d", i, j))
			}
			if i < ranges-1 {
				next := rs.Split(r, fmt.Sprintf("%06d", i+1))
				rs.Listed(r)
				r = next
			} else {
				rs.Listed(r)
			}
			for j := len(tokens) - 1; j >= 0; j-- { // out of order: gaps wait
				rs.Done(tokens[j])
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/ranges, "retained-B/range")
		runtime.KeepAlive(rs)
	}
}
