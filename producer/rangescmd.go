package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/sluice-dev/sluice/pkg/backfill"
)

func runRanges(ctx context.Context, args []string, std stdio) error {
	fset := flag.NewFlagSet("ranges", flag.ContinueOnError)
	var cfg backfill.Config
	fset.StringVar(&cfg.Bucket, "bucket", "", "bucket to split (required)")
	fset.StringVar(&cfg.Prefix, "prefix", "", "split only names that start with this")
	shards := fset.Int("shards", 4, "number of ranges")
	fset.Usage = func() {
		fmt.Fprintf(fset.Output(), "Usage: producer ranges --bucket B [--prefix P] --shards N\n\n"+
			"Lists the names once and prints N ranges holding about as many objects each, one JSON\n"+
			"object a line: {\"shard\":i,\"start_after\":...,\"end_before\":...,\"objects\":n}. Pass them to\n"+
			"producer backfill --start-after/--end-before (\"\" means unbounded). Together the ranges\n"+
			"cover every name once.\n\nFlags:\n")
		fset.PrintDefaults()
	}
	if err := parseFlags(fset, args, std.errOut); err != nil {
		return err
	}
	if cfg.Bucket == "" || *shards < 1 {
		fmt.Fprintln(std.errOut, "producer ranges: --bucket is required and --shards must be at least 1")
		return errUsage
	}
	gcs, err := newStorage(ctx)
	if err != nil {
		return err
	}
	defer gcs.Close()
	ranges, err := backfill.Split(ctx, gcs.Bucket(cfg.Bucket), cfg, *shards)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(std.out)
	for i, r := range ranges {
		line := struct {
			Shard      int    `json:"shard"`
			StartAfter string `json:"start_after"`
			EndBefore  string `json:"end_before"`
			Objects    int64  `json:"objects"`
		}{i, r.StartAfter, r.EndBefore, r.Objects}
		if err := enc.Encode(line); err != nil {
			return err
		}
	}
	return nil
}
