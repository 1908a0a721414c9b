// Package consume holds what the benchmark consumers share, so that they differ only in
// what is measured: their flags, the Pub/Sub receive settings, and the work done on each
// object (read it to the end and hash it, keeping nothing).
package consume

import (
	"context"
	"crypto/md5"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"sync"
	"syscall"
	"time"

	"cloud.google.com/go/pubsub/v2"

	"github.com/sluice-dev/sluice/bench/internal/probe"
)

// Flags are every consumer's command-line settings. The harness passes the same values
// to each consumer it compares.
type Flags struct {
	Project      string
	Subscription string
	// Concurrency is the number of messages held and processed at once
	// (MaxOutstandingMessages); Streams the number of StreamingPull streams.
	Concurrency int
	Streams     int
	// Count is how many messages to process before stopping; 0 runs until SIGTERM.
	Count int64
	// CPUProfile, if set, is where a CPU profile of the whole run is written.
	CPUProfile string
}

// ParseFlags parses the command line into Flags.
func ParseFlags() Flags {
	var f Flags
	flag.StringVar(&f.Project, "project", "sluice-local", "project of the subscription")
	flag.StringVar(&f.Subscription, "subscription", "", "subscription ID to consume (required)")
	flag.IntVar(&f.Concurrency, "concurrency", 32, "messages held and processed at once")
	flag.IntVar(&f.Streams, "streams", 2, "StreamingPull streams")
	flag.Int64Var(&f.Count, "count", 0, "stop after this many messages; 0 runs until SIGTERM")
	flag.StringVar(&f.CPUProfile, "cpuprofile", "", "write a CPU profile of the run to this file")
	flag.Parse()
	if f.Subscription == "" {
		fmt.Fprintln(os.Stderr, "-subscription is required")
		os.Exit(2)
	}
	return f
}

// SubscriptionName returns the subscription's full resource name.
func (f Flags) SubscriptionName() string {
	return fmt.Sprintf("projects/%s/subscriptions/%s", f.Project, f.Subscription)
}

// Configure applies f to a subscriber's receive settings the way pkg/worker does with
// its defaults, so that the raw loops hold, process and lease messages as the Sluice
// worker does and differ from it only in code. (MaxDurationPerAckExtension is also the
// stream's ack deadline, StreamAckDeadlineSeconds.)
func (f Flags) Configure(s *pubsub.Subscriber) {
	rs := &s.ReceiveSettings
	rs.MaxOutstandingMessages = f.Concurrency
	rs.MaxOutstandingBytes = 16 << 20
	rs.NumGoroutines = f.Streams
	rs.EnablePerStreamFlowControl = false
	rs.MaxExtension = 11 * time.Minute // the worker's ObjectTimeout plus one minute
	rs.MaxDurationPerAckExtension = time.Minute
}

// Main runs a consumer: it starts a probe on stdout, calls run with a context that is
// cancelled on SIGTERM, SIGINT or when f.Count messages are done, writes the final
// sample and exits non-zero if run failed.
func Main(name string, run func(ctx context.Context, f Flags, p *probe.Probe) error) {
	f := ParseFlags()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if f.CPUProfile != "" {
		stopProfile, err := startProfile(f.CPUProfile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
			os.Exit(1)
		}
		defer stopProfile()
	}
	p := probe.Start(os.Stdout, f.Count)
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-p.Reached():
			cancel()
		case <-ctx.Done():
		}
	}()
	err := run(ctx, f, p)
	cancel()
	p.Close()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// startProfile starts a CPU profile to path and returns what stops it.
func startProfile(path string) (func(), error) {
	out, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(out); err != nil {
		out.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		out.Close()
	}, nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// bufPool holds copy buffers, as the checksum processor does.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// Hash reads r to the end through CRC32C and MD5, the checksum processor's work, and
// discards the result: the benchmark measures the pipeline around it, not its output.
//
// r is read through the pooled buffer even when it implements io.WriterTo:
// storage.Reader does, and its WriteTo allocates a buffer per call, which cost the
// minimal loop about a fifth more CPU per message than the worker (whose counting
// reader hides WriteTo) before every consumer was made to hash the same way.
func Hash(r io.Reader) (int64, error) {
	c, m := crc32.New(castagnoli), md5.New()
	buf := bufPool.Get().(*[]byte)
	defer bufPool.Put(buf)
	return io.CopyBuffer(io.MultiWriter(c, m), readerOnly{r}, *buf)
}

// readerOnly hides every method of its reader but Read.
type readerOnly struct{ r io.Reader }

func (o readerOnly) Read(p []byte) (int, error) { return o.r.Read(p) }
