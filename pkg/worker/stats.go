package worker

import (
	"sync/atomic"
	"time"
)

// Stats counts what a Worker did. It is safe for concurrent use; the zero value is ready.
type Stats struct {
	received   atomic.Int64
	inFlight   atomic.Int64
	peak       atomic.Int64
	bytesRead  atomic.Int64
	deadLetter atomic.Int64
	ackFailed  atomic.Int64
	outcomes   [6]atomic.Int64 // indexed like Outcomes
	acked      atomic.Int64
	nacked     atomic.Int64
	abandoned  atomic.Int64
	// budgetBytes is the weight the byte budget has admitted now; budgetPeak the most.
	budgetBytes atomic.Int64
	budgetPeak  atomic.Int64
	// reading is the size of the objects open for reading now.
	reading atomic.Int64
	// progress is when a message last began or settled, in Unix nanoseconds: see Live.
	progress atomic.Int64
}

// Snapshot is a point-in-time copy of Stats.
type Snapshot struct {
	Received int64 `json:"received"`
	// InFlight is the number of messages being handled now; PeakInFlight the most at once.
	InFlight     int64 `json:"in_flight"`
	PeakInFlight int64 `json:"peak_in_flight"`
	// ReadingBytes is the size of the objects being read now.
	ReadingBytes int64 `json:"reading_bytes"`
	BytesRead    int64 `json:"bytes_read"`
	// DeadLettered counts rejected messages published to the dead-letter topic.
	DeadLettered int64 `json:"dead_lettered"`
	// AckFailed counts acknowledgements the service did not confirm (exactly-once
	// subscriptions only): those messages will be redelivered.
	AckFailed int64 `json:"ack_failed"`
	// Acked counts acknowledgements sent (and, on exactly-once subscriptions, confirmed);
	// Nacked counts nacks. Abandoned counts the nacks of work cut off by a drain timeout.
	Acked     int64 `json:"acked"`
	Nacked    int64 `json:"nacked"`
	Abandoned int64 `json:"abandoned"`
	// BudgetBytes is the weight of the objects the byte budget admits now, and
	// PeakBudgetBytes the most at once (see Config.MaxInFlightBytes).
	BudgetBytes     int64             `json:"budget_bytes"`
	PeakBudgetBytes int64             `json:"peak_budget_bytes"`
	Outcomes        map[Outcome]int64 `json:"outcomes"`
}

func (s *Stats) begin() {
	s.progress.Store(time.Now().UnixNano())
	s.received.Add(1)
	n := s.inFlight.Add(1)
	for {
		p := s.peak.Load()
		if n <= p || s.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

// raisePeak sets peak to n if n is higher.
func raisePeak(peak *atomic.Int64, n int64) {
	for {
		p := peak.Load()
		if n <= p || peak.CompareAndSwap(p, n) {
			return
		}
	}
}

func (s *Stats) end(o Outcome) {
	s.progress.Store(time.Now().UnixNano())
	s.inFlight.Add(-1)
	for i, known := range Outcomes {
		if known == o {
			s.outcomes[i].Add(1)
		}
	}
}

// Snapshot returns the current counts.
func (s *Stats) Snapshot() Snapshot {
	snap := Snapshot{
		Received:     s.received.Load(),
		InFlight:     s.inFlight.Load(),
		PeakInFlight: s.peak.Load(),
		ReadingBytes: s.reading.Load(),
		BytesRead:    s.bytesRead.Load(),
		DeadLettered: s.deadLetter.Load(),
		AckFailed:    s.ackFailed.Load(),
		Acked:        s.acked.Load(),
		Nacked:       s.nacked.Load(),
		Abandoned:    s.abandoned.Load(),
		BudgetBytes:  s.budgetBytes.Load(),
		Outcomes:     make(map[Outcome]int64, len(Outcomes)),
	}
	snap.PeakBudgetBytes = s.budgetPeak.Load()
	for i, o := range Outcomes {
		snap.Outcomes[o] = s.outcomes[i].Load()
	}
	return snap
}
