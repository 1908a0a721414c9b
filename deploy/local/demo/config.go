package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Names the demo gives the local resources.
const (
	ingestBucket   = "sluice-ingest"
	resultsBucket  = "sluice-results"
	resultsPrefix  = "results/"
	backfillPrefix = "archive/"
	notifyPrefix   = "incoming/"
)

// options are the demo's flags.
type options struct {
	dir      string
	workers  int
	bin      string
	timeout  time.Duration
	pubsub   string
	backfill int
	uploads  int
	verbose  bool
}

func parseOptions(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.StringVar(&o.dir, "dir", "", "corpus `directory` to upload (default: $DEMO_DIR, else the Go source tree)")
	fs.IntVar(&o.workers, "workers", 2, "worker processes to run side by side")
	fs.StringVar(&o.bin, "bin", "", "`directory` holding the worker and producer binaries (default: this binary's)")
	fs.DurationVar(&o.timeout, "timeout", 15*time.Minute, "give up after this long")
	fs.StringVar(&o.pubsub, "pubsub", "auto", "Pub/Sub engine: auto, emulator or pstest")
	fs.IntVar(&o.backfill, "backfill-every", 10, "every Nth file goes under "+backfillPrefix+" before the notification exists")
	fs.IntVar(&o.uploads, "uploaders", 16, "concurrent uploads")
	fs.BoolVar(&o.verbose, "v", false, "stream the workers' logs")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.dir == "" {
		o.dir = os.Getenv("DEMO_DIR")
	}
	if o.dir == "" {
		dir, err := goSourceTree()
		if err != nil {
			return o, err
		}
		o.dir = dir
	}
	if o.bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return o, err
		}
		o.bin = filepath.Dir(exe)
	}
	if o.backfill < 1 {
		o.backfill = 1
	}
	return o, nil
}

// goSourceTree returns $(go env GOROOT)/src: about 10,000 real files nobody here wrote.
func goSourceTree() (string, error) {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	root := strings.TrimSpace(string(out))
	if err != nil || root == "" {
		return "", fmt.Errorf("no corpus: -dir and DEMO_DIR are unset and go env GOROOT failed: %v", err)
	}
	return filepath.Join(root, "src"), nil
}
