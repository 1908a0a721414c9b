package main

import (
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"
)

// printSummary writes the demo's final report.
func printSummary(w io.Writer, files []*file, rep report, workers []*proc, elapsed time.Duration) {
	var backfilled int
	for _, f := range files {
		if f.backfill {
			backfilled++
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "== Sluice demo summary")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "objects\t%d (%d by notification, %d by backfill)\n", len(files), len(files)-backfilled, backfilled)
	fmt.Fprintf(tw, "bytes\t%d (%.1f MiB)\n", rep.bytes, float64(rep.bytes)/(1<<20))
	fmt.Fprintf(tw, "correct results\t%d\n", rep.ok)
	fmt.Fprintf(tw, "missing results\t%d\n", rep.missing)
	fmt.Fprintf(tw, "wrong results\t%d\n", rep.wrong)
	fmt.Fprintf(tw, "wall time\t%s (from the first worker start to the last result)\n", elapsed.Round(time.Millisecond))
	fmt.Fprintf(tw, "throughput\t%.0f objects/s\n", float64(rep.ok)/elapsed.Seconds())
	tw.Flush()

	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "worker\tresults\treceived\tprocessed\tduplicate\tskipped\trejected\tfailed\tpeak RSS MiB\t")
	var dups, fails int64
	for _, p := range workers {
		received, oc, ok := p.finalStats()
		if !ok {
			fmt.Fprintf(tw, "%s\t%d\t?\t?\t?\t?\t?\t?\t%.1f\t\n", p.name, rep.perWorker[p.name], mib(p.peakRSS()))
			continue
		}
		dups += oc["duplicate"]
		fails += oc["failed"]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.1f\t\n", p.name, rep.perWorker[p.name], received,
			oc["processed"], oc["duplicate"], oc["skipped"], oc["rejected"], oc["failed"], mib(p.peakRSS()))
	}
	tw.Flush()
	fmt.Fprintf(w, "\nduplicates %d, transient failures (retried) %d\n", dups, fails)
	if len(rep.examples) > 0 {
		fmt.Fprintln(w, "\nproblems, first few:")
		sort.Strings(rep.examples)
		for _, e := range rep.examples {
			fmt.Fprintln(w, "  "+e)
		}
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
