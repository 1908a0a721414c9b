// Package probe reports a consumer process's own progress and Go runtime figures to the
// harness that started it: one JSON line a second on an io.Writer (the consumer's
// stdout), and a final line when it stops.
//
// The harness reads RSS and CPU time from the operating system; only what the kernel
// cannot see (messages done, Go heap, goroutines) comes through the probe.
package probe

import (
	"encoding/json"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Sample is one line a consumer reports.
type Sample struct {
	// Elapsed is the time since the probe started, in seconds.
	Elapsed float64 `json:"elapsed_s"`
	// Messages counts messages acknowledged after their object was processed; Failed
	// counts those nacked.
	Messages int64 `json:"messages"`
	Failed   int64 `json:"failed"`
	// HeapBytes is runtime.MemStats.HeapAlloc; Goroutines is runtime.NumGoroutine.
	HeapBytes  uint64 `json:"heap_bytes"`
	Goroutines int    `json:"goroutines"`
	// Final marks the last line. Then Busy is the time from the first message done to
	// the last, in seconds: the denominator of throughput.
	Final bool    `json:"final,omitempty"`
	Busy  float64 `json:"busy_s,omitempty"`
}

// Probe counts messages and writes samples. Its methods are safe for concurrent use.
type Probe struct {
	out     io.Writer
	start   time.Time
	done    atomic.Int64
	failed  atomic.Int64
	target  int64
	first   atomic.Int64 // unix nanoseconds of the first message done; 0 before it
	last    atomic.Int64 // unix nanoseconds of the message that reached target
	reached chan struct{}
	once    sync.Once
	stop    chan struct{}
	stopped chan struct{}
	mu      sync.Mutex // serialises writes to out
}

// Start returns a probe that writes a sample to out every second until Close. Reached
// is closed once target messages are done; target 0 means never.
func Start(out io.Writer, target int64) *Probe {
	p := &Probe{
		out:     out,
		start:   time.Now(),
		target:  target,
		reached: make(chan struct{}),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	go p.loop()
	return p
}

// Done counts one message processed and acknowledged.
func (p *Probe) Done() {
	now := time.Now().UnixNano()
	p.first.CompareAndSwap(0, now)
	if n := p.done.Add(1); n == p.target {
		p.last.Store(now)
		p.once.Do(func() { close(p.reached) })
	}
}

// Failed counts one message nacked.
func (p *Probe) Failed() { p.failed.Add(1) }

// Reached is closed when the target number of messages is done.
func (p *Probe) Reached() <-chan struct{} { return p.reached }

// Close stops the sampling and writes the final line. It blocks until it is written.
func (p *Probe) Close() {
	close(p.stop)
	<-p.stopped
	s := p.sample()
	s.Final = true
	last := p.last.Load()
	if last == 0 {
		last = time.Now().UnixNano()
	}
	if first := p.first.Load(); first != 0 {
		s.Busy = time.Duration(last - first).Seconds()
	}
	p.write(s)
}

func (p *Probe) loop() {
	defer close(p.stopped)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-tick.C:
			p.write(p.sample())
		}
	}
}

func (p *Probe) sample() Sample {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return Sample{
		Elapsed:    time.Since(p.start).Seconds(),
		Messages:   p.done.Load(),
		Failed:     p.failed.Load(),
		HeapBytes:  ms.HeapAlloc,
		Goroutines: runtime.NumGoroutine(),
	}
}

func (p *Probe) write(s Sample) {
	line, _ := json.Marshal(s) // a struct of numbers always marshals
	p.mu.Lock()
	defer p.mu.Unlock()
	p.out.Write(append(line, '\n'))
}
