package harness

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestGrowthAfter(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name       string
		rss        []int64 // MiB, one sample per 1,000 messages from 0
		from       int64
		wantGrowth float64
		wantSlope  float64 // MiB per 100k messages
	}{
		{name: "flat", rss: []int64{40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40}, from: 0, wantGrowth: 0, wantSlope: 0},
		{name: "warm-up ignored", rss: []int64{10, 20, 30, 40, 40, 40, 40, 40, 40, 40, 40}, from: 3000, wantGrowth: 0, wantSlope: 0},
		// Early window: 0 and 1,000 messages, median 11 (the upper middle); late: 20.
		{name: "climb", rss: []int64{10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}, from: 0, wantGrowth: 20.0/11 - 1, wantSlope: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Result{Name: tt.name}
			for i, v := range tt.rss {
				r.Samples = append(r.Samples, Sample{Messages: int64(i) * 1000, RSSBytes: v * mib, Goroutines: 10})
			}
			g, err := GrowthAfter(r, tt.from)
			if err != nil {
				t.Fatalf("GrowthAfter: %v", err)
			}
			if got := g.Growth(); !near(got, tt.wantGrowth) {
				t.Errorf("GrowthAfter(%v).Growth() = %.3f, want %.3f", tt.rss, got, tt.wantGrowth)
			}
			if got := g.SlopePer100k / mib; !near(got, tt.wantSlope) {
				t.Errorf("GrowthAfter(%v).SlopePer100k = %.3f MiB, want %.3f", tt.rss, got, tt.wantSlope)
			}
		})
	}
}

func TestGrowthAfterTooFew(t *testing.T) {
	r := Result{Samples: []Sample{{Messages: 10}, {Messages: 20}}}
	if _, err := GrowthAfter(r, 15); err == nil {
		t.Error("GrowthAfter with one sample past the mark: no error, want one")
	}
}

func TestCSVRoundTrip(t *testing.T) {
	in := []Sample{
		{Consumer: "sluice", Elapsed: 1.5, Messages: 1200, RSSBytes: 40 << 20, HeapBytes: 7 << 20, Goroutines: 150},
		{Consumer: "naive", Elapsed: 2, Messages: 99, RSSBytes: 1 << 30, HeapBytes: 1 << 29, Goroutines: 40068},
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, in); err != nil {
		t.Fatal(err)
	}
	got, err := ReadCSV(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, got); diff != "" {
		t.Errorf("ReadCSV(WriteCSV(in)) mismatch (-want +got):\n%s", diff)
	}
}

func near(a, b float64) bool { return a-b < 1e-6 && b-a < 1e-6 }
