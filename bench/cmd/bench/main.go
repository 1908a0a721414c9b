// Command bench measures Sluice against the local stack: the three-way comparison with
// the minimal and naive loops (-mode=compare), throughput against concurrency behind a
// storage latency proxy (-mode=latency), and the memory soak (-mode=soak). It prints
// tables, writes CSV and PNG charts to -out, and exits non-zero when a target is missed.
//
// The consumers are separate binaries in -bin (built by `make bench`): sluice, minimal
// and naive from bench/cmd.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/sluice-dev/sluice/bench/internal/harness"
)

type options struct {
	mode        string
	bin, out    string
	objects     int
	objectSize  int
	messages    int64
	naiveCount  int64
	naiveLimit  time.Duration
	concurrency int
	streams     int
	rounds      int
	latency     time.Duration
	levels      string
	keep        bool
	peers       []string
	profileDir  string
}

func main() {
	var o options
	flag.StringVar(&o.mode, "mode", "compare", "compare, latency, soak, or chart (redraw the soak chart from -out/soak.csv)")
	flag.StringVar(&o.bin, "bin", "bin/bench", "directory holding the consumer binaries")
	flag.StringVar(&o.out, "out", "docs/bench", "directory for CSV and charts")
	flag.IntVar(&o.objects, "objects", 1000, "distinct objects in the corpus")
	flag.IntVar(&o.objectSize, "object-size", 4<<10, "bytes per object")
	flag.Int64Var(&o.messages, "messages", 0, "messages per consumer (default: compare 100000, soak 1000000)")
	flag.Int64Var(&o.naiveCount, "naive-messages", 0, "messages for the naive loop (default: as -messages)")
	flag.DurationVar(&o.naiveLimit, "naive-limit", 5*time.Minute, "stop the naive loop after this long")
	flag.IntVar(&o.concurrency, "concurrency", 32, "messages in flight per consumer")
	flag.IntVar(&o.streams, "streams", 2, "StreamingPull streams per consumer")
	flag.IntVar(&o.rounds, "rounds", 3, "compare: rounds, each consumer once a round, order rotated")
	flag.DurationVar(&o.latency, "latency", 30*time.Millisecond, "latency: delay added to each storage request")
	flag.StringVar(&o.levels, "levels", "1,2,4,8,16,32,64,128,256", "latency: concurrency levels")
	flag.BoolVar(&o.keep, "keep", false, "keep the stack's directory")
	flag.Func("peers", "compare: more consumers in -bin, comma-separated (e.g. gocdk from bench/peers)",
		func(s string) error {
			o.peers = append(o.peers, strings.Split(s, ",")...)
			return nil
		})
	flag.StringVar(&o.profileDir, "cpuprofile-dir", "", "write each consumer run's CPU profile to this directory")
	flag.Parse()

	if o.mode == "chart" {
		// Redraw the soak chart from its CSV, without running anything.
		if err := redraw(filepath.Join(o.out, "soak.csv"), filepath.Join(o.out, "soak-memory.png")); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "sluice-bench-")
	if err != nil {
		return err
	}
	if !o.keep {
		defer os.RemoveAll(dir)
	}
	fmt.Printf("# %s, %s, %d CPUs; stack in %s\n",
		o.mode, time.Now().UTC().Format(time.RFC3339), runtime.NumCPU(), dir)

	setupCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	env, err := harness.Setup(setupCtx, harness.Config{
		Dir: dir, Objects: o.objects, ObjectSize: o.objectSize,
	})
	if err != nil {
		return err
	}
	defer env.Close()
	// fake-gcs-server runs in this process and logs through package log: keep its
	// complaints (the naive loop exhausts its file descriptors) out of the tables.
	if f, err := os.Create(filepath.Join(dir, "storage-server.log")); err == nil {
		log.SetOutput(f)
		defer f.Close()
	}
	fmt.Printf("# pubsub %s at %s, storage at %s, %d objects of %d bytes\n",
		env.Stack.PubSub, env.Stack.PubSubHost, env.Stack.StorageHost, o.objects, o.objectSize)

	b := bench{o: o, env: env, logDir: dir}
	switch o.mode {
	case "compare":
		return b.compare(ctx)
	case "latency":
		return b.latencySweep(ctx)
	case "soak":
		return b.soak(ctx)
	default:
		return fmt.Errorf("-mode %q: want compare, latency or soak", o.mode)
	}
}

// bench runs consumers against one environment.
type bench struct {
	o      options
	env    *harness.Env
	logDir string
}

// spec returns the Spec for consumer name on subscription sub.
func (b bench) spec(name, sub string, count int64, storageHost string) (harness.Spec, error) {
	log, err := os.Create(filepath.Join(b.logDir, sub+".log"))
	if err != nil {
		return harness.Spec{}, err
	}
	args := []string{
		"-project=" + b.env.Stack.ProjectID,
		"-subscription=" + sub,
		fmt.Sprintf("-concurrency=%d", b.o.concurrency),
		fmt.Sprintf("-streams=%d", b.o.streams),
	}
	if b.o.profileDir != "" {
		args = append(args, "-cpuprofile="+filepath.Join(b.o.profileDir, sub+".pprof"))
	}
	return harness.Spec{
		Name:  name,
		Path:  filepath.Join(b.o.bin, name),
		Args:  args,
		Env:   b.env.ChildEnv(storageHost),
		Count: count,
		Log:   log,
	}, nil
}
