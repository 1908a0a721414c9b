package harness

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// Growth summarises how a consumer's memory and goroutines moved after warm-up.
type Growth struct {
	// From and To are the message counts compared; RSSFrom and RSSTo the RSS there (the
	// first sample at or past each mark; To is the run's last sample).
	From, To       int64
	RSSFrom, RSSTo int64
	// RSSPeakAfter is the highest RSS sampled from From on.
	RSSPeakAfter int64
	// RSSEarly and RSSLate are the median RSS over the first and the last tenth of the
	// messages from From to To. A single sample swings by a few MiB with each GC cycle;
	// medians over a window compare levels, not phases of a cycle.
	RSSEarly, RSSLate int64
	// SlopePer100k is the least-squares slope of RSS over messages from From on, in
	// bytes per 100,000 messages.
	SlopePer100k float64
	// GoroutinesFrom is the count at From; GoroutinesMax the most seen from From on.
	GoroutinesFrom, GoroutinesMax int
}

// PeakGrowth returns how much the RSS peak after warm-up exceeds the RSS at warm-up,
// as a fraction (0.05 is 5%).
func (g Growth) PeakGrowth() float64 {
	return float64(g.RSSPeakAfter-g.RSSFrom) / float64(g.RSSFrom)
}

// Growth returns how much the late RSS level exceeds the early one, as a fraction: the
// figure the soak's 5% target applies to.
func (g Growth) Growth() float64 { return float64(g.RSSLate-g.RSSEarly) / float64(g.RSSEarly) }

// EndGrowth returns how much the last RSS exceeds the RSS at warm-up, as a fraction.
func (g Growth) EndGrowth() float64 { return float64(g.RSSTo-g.RSSFrom) / float64(g.RSSFrom) }

// GrowthAfter measures r's samples from the first one with at least from messages. It
// fails if no sample reaches from.
func GrowthAfter(r Result, from int64) (Growth, error) {
	i := 0
	for i < len(r.Samples) && r.Samples[i].Messages < from {
		i++
	}
	after := r.Samples[i:]
	if len(after) < 2 {
		return Growth{}, fmt.Errorf("%s: fewer than 2 samples past %d messages", r.Name, from)
	}
	g := Growth{
		From: after[0].Messages, To: after[len(after)-1].Messages,
		RSSFrom: after[0].RSSBytes, RSSTo: after[len(after)-1].RSSBytes,
		GoroutinesFrom: after[0].Goroutines,
	}
	tenth := (g.To - g.From) / 10
	var early, late []int64
	var n, sx, sy, sxx, sxy float64
	for _, s := range after {
		if s.Messages <= g.From+tenth {
			early = append(early, s.RSSBytes)
		}
		if s.Messages >= g.To-tenth {
			late = append(late, s.RSSBytes)
		}
		g.RSSPeakAfter = max(g.RSSPeakAfter, s.RSSBytes)
		g.GoroutinesMax = max(g.GoroutinesMax, s.Goroutines)
		x, y := float64(s.Messages), float64(s.RSSBytes)
		n, sx, sy, sxx, sxy = n+1, sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	g.RSSEarly, g.RSSLate = Median(early), Median(late)
	if d := n*sxx - sx*sx; d != 0 {
		g.SlopePer100k = (n*sxy - sx*sy) / d * 1e5
	}
	return g, nil
}

// Median returns the median of v (the upper one for an even count), 0 for none.
func Median(v []int64) int64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// WriteCSV writes samples as CSV with a header row.
func WriteCSV(w io.Writer, samples []Sample) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"consumer", "elapsed_s", "messages", "rss_bytes", "heap_bytes", "goroutines"})
	for _, s := range samples {
		cw.Write([]string{
			s.Consumer,
			strconv.FormatFloat(s.Elapsed, 'f', 1, 64),
			strconv.FormatInt(s.Messages, 10),
			strconv.FormatInt(s.RSSBytes, 10),
			strconv.FormatUint(s.HeapBytes, 10),
			strconv.Itoa(s.Goroutines),
		})
	}
	cw.Flush()
	return cw.Error()
}

// ReadCSV reads samples written by WriteCSV.
func ReadCSV(r io.Reader) ([]Sample, error) {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, nil
	}
	var samples []Sample
	for i, row := range rows[1:] {
		if len(row) != 6 {
			return nil, fmt.Errorf("row %d: %d fields, want 6", i+2, len(row))
		}
		s := Sample{Consumer: row[0]}
		var errs [5]error
		s.Elapsed, errs[0] = strconv.ParseFloat(row[1], 64)
		s.Messages, errs[1] = strconv.ParseInt(row[2], 10, 64)
		s.RSSBytes, errs[2] = strconv.ParseInt(row[3], 10, 64)
		s.HeapBytes, errs[3] = strconv.ParseUint(row[4], 10, 64)
		s.Goroutines, errs[4] = strconv.Atoi(row[5])
		if err := errors.Join(errs[:]...); err != nil {
			return nil, fmt.Errorf("row %d: %w", i+2, err)
		}
		samples = append(samples, s)
	}
	return samples, nil
}
