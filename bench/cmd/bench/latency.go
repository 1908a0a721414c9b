package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sluice-dev/sluice/bench/internal/chart"
	"github.com/sluice-dev/sluice/bench/internal/harness"
)

// levelSeconds is roughly how long each concurrency level runs: long enough that
// startup and the first lease round are a small part of it.
const levelSeconds = 15

// latencySweep runs the Sluice consumer at each concurrency level with every storage
// request delayed by the proxy, and compares its throughput with concurrency / latency,
// what a consumer that only waits on storage can reach.
func (b bench) latencySweep(ctx context.Context) error {
	levels, err := parseLevels(b.o.levels)
	if err != nil {
		return err
	}
	proxy, err := harness.StartLatencyProxy(b.env.Stack.StorageHost, b.o.latency)
	if err != nil {
		return err
	}
	defer proxy.Close()
	fmt.Printf("# storage through a proxy adding %s per request\n", b.o.latency)

	var points []chart.Point
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "concurrency\tmessages\tmsg/s\tconcurrency/latency\tof ideal\tCPU s/10k msgs\t")
	for _, c := range levels {
		ideal := float64(c) / b.o.latency.Seconds()
		n := int64(min(max(ideal*levelSeconds, 500), 60_000))
		sub := fmt.Sprintf("latency-%d", c)
		if err := b.env.Queue(ctx, sub, sub); err != nil {
			return err
		}
		pub := b.env.Publisher(sub)
		err := pub.Publish(ctx, n)
		pub.Stop()
		if err != nil {
			return err
		}
		lb := b
		lb.o.concurrency = c
		spec, err := lb.spec("sluice", sub, n, proxy.Addr)
		if err != nil {
			return err
		}
		spec.Timeout = 3 * levelSeconds * time.Second
		res, err := harness.Run(ctx, spec)
		if err != nil {
			return err
		}
		points = append(points, chart.Point{Concurrency: c, Rate: res.Rate(), Ideal: ideal})
		fmt.Fprintf(tw, "%d\t%d\t%.0f\t%.0f\t%.0f%%\t%.2f\t\n",
			c, res.Messages, res.Rate(), ideal, 100*res.Rate()/ideal, res.CPUPer10k())
	}
	tw.Flush()
	path := filepath.Join(b.o.out, "latency.png")
	title := fmt.Sprintf("Sluice throughput against concurrency, storage latency %s", b.o.latency)
	if err := chart.Latency(path, title, points); err != nil {
		return err
	}
	fmt.Println("chart:", path)
	return nil
}

func parseLevels(s string) ([]int, error) {
	var levels []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-levels %q: want positive integers separated by commas", s)
		}
		levels = append(levels, n)
	}
	return levels, nil
}
