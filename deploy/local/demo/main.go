// Command demo runs Sluice's main job end to end on the local stack, on real files.
//
// It starts the local engines, uploads a corpus (by default the Go distribution's own
// source tree) into a watched bucket, and runs two worker processes side by side. Part of
// the corpus is uploaded before the bucket's notification exists, and is published by
// `producer backfill`; the rest arrives through finalize notifications. The demo waits
// until every object has a correct checksum record, prints a summary, and stops all it
// started. It exits non-zero if any object lacks a correct record.
//
//	demo [-dir DIR] [-workers N] [-bin DIR] [-timeout D]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "demo:", err)
		}
		os.Exit(1)
	}
}
