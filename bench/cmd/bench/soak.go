package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/sluice-dev/sluice/bench/internal/chart"
	"github.com/sluice-dev/sluice/bench/internal/harness"
)

// Soak targets published in docs/benchmarks.md.
const (
	soakWarmup    = 100_000
	maxSoakGrowth = 0.05
)

// goroutineSlack is how far the goroutine count may move after warm-up and still be
// flat: one callback goroutine per message in flight plus two per pooled storage
// connection, at most one connection per message in flight. A leak adds goroutines
// per message, thousands past warm-up, not a bounded few dozen.
func goroutineSlack(concurrency int) int { return 3 * concurrency }

// backlog bounds the messages published ahead of the consumer: the emulator keeps them
// in its JVM heap, and a backlog of millions slows its delivery.
const (
	backlogHigh = 200_000
	backlogLow  = 100_000
)

// soak runs the Sluice consumer, then the naive loop, through many messages each,
// feeding the backlog as they go, and charts their memory over messages processed.
func (b bench) soak(ctx context.Context) error {
	n := b.o.messages
	if n == 0 {
		n = 1_000_000
	}
	naiveN := b.o.naiveCount
	if naiveN == 0 {
		naiveN = n
	}
	var runs []harness.Result
	var samples []harness.Sample
	for _, name := range []string{"sluice", "naive"} {
		count, limit := n, time.Duration(0)
		if name == "naive" {
			count, limit = naiveN, b.o.naiveLimit
		}
		res, err := b.soakOne(ctx, name, count, limit)
		if err != nil {
			return err
		}
		runs = append(runs, res)
		samples = append(samples, res.Samples...)
		fmt.Printf("%-7s %8d msgs in %5.0f s (%4.0f msg/s), peak RSS %6.1f MiB%s\n",
			name, res.Messages, res.Busy, res.Rate(), mib(res.MaxRSS),
			map[bool]string{true: ", stopped at the time limit"}[res.TimedOut])
	}
	if err := writeCSV(filepath.Join(b.o.out, "soak.csv"), samples); err != nil {
		return err
	}
	path := filepath.Join(b.o.out, "soak-memory.png")
	if err := chart.Memory(path, soakTitle, runs); err != nil {
		return err
	}
	fmt.Println("chart:", path)
	return soakVerdict(runs[0], runs[1], goroutineSlack(b.o.concurrency))
}

const soakTitle = "Memory over time: the Sluice worker and the naive client-per-message loop"

// redraw renders the soak chart from the CSV a soak wrote.
func redraw(csvPath, pngPath string) error {
	f, err := os.Open(csvPath)
	if err != nil {
		return err
	}
	defer f.Close()
	samples, err := harness.ReadCSV(f)
	if err != nil {
		return fmt.Errorf("%s: %w", csvPath, err)
	}
	var runs []harness.Result
	for _, s := range samples {
		if len(runs) == 0 || runs[len(runs)-1].Name != s.Consumer {
			runs = append(runs, harness.Result{Name: s.Consumer})
		}
		r := &runs[len(runs)-1]
		r.Samples = append(r.Samples, s)
	}
	return chart.Memory(pngPath, soakTitle, runs)
}

// soakOne runs one consumer through count messages on its own topic, publishing in
// batches so the backlog stays between backlogLow and backlogHigh.
func (b bench) soakOne(ctx context.Context, name string, count int64, limit time.Duration) (harness.Result, error) {
	topic := "soak-" + name
	if err := b.env.Queue(ctx, topic, topic); err != nil {
		return harness.Result{}, err
	}
	pub := b.env.Publisher(topic)
	defer pub.Stop()
	if err := pub.Publish(ctx, min(count, backlogHigh)); err != nil {
		return harness.Result{}, err
	}

	var done atomic.Int64
	feedCtx, stopFeed := context.WithCancel(ctx)
	defer stopFeed()
	feedErr := make(chan error, 1)
	go func() { feedErr <- feed(feedCtx, pub, count, &done) }()

	spec, err := b.spec(name, topic, count, "")
	if err != nil {
		return harness.Result{}, err
	}
	spec.Timeout = limit
	spec.OnSample = func(s harness.Sample) { done.Store(s.Messages) }
	res, err := harness.Run(ctx, spec)
	stopFeed()
	if ferr := <-feedErr; ferr != nil && err == nil && ctx.Err() == nil {
		err = ferr
	}
	return res, err
}

// feed publishes until count messages are sent, topping the backlog up to backlogHigh
// whenever it falls below backlogLow.
func feed(ctx context.Context, pub *harness.Publisher, count int64, done *atomic.Int64) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for pub.Sent() < count {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if pub.Sent()-done.Load() > backlogLow {
			continue
		}
		if err := pub.Publish(ctx, min(count-pub.Sent(), backlogHigh-backlogLow)); err != nil {
			return err
		}
	}
	return nil
}

func soakVerdict(sluice, naive harness.Result, slack int) error {
	g, err := harness.GrowthAfter(sluice, soakWarmup)
	if err != nil {
		return err
	}
	fmt.Printf("\nsluice after warm-up (%d to %d messages): median RSS %.1f MiB over the first "+
		"tenth, %.1f MiB over the last: %+.1f%%; slope %+.2f MiB per 100k messages; "+
		"samples %.1f MiB at %d, peak %.1f MiB (%+.1f%%)\n",
		g.From, g.To, mib(g.RSSEarly), mib(g.RSSLate), 100*g.Growth(),
		g.SlopePer100k/(1<<20), mib(g.RSSFrom), g.From, mib(g.RSSPeakAfter), 100*g.PeakGrowth())
	fmt.Printf("sluice goroutines: %d at %d messages, at most %d after\n",
		g.GoroutinesFrom, g.From, g.GoroutinesMax)
	if ng, err := harness.GrowthAfter(naive, min(soakWarmup, naive.Messages/10)); err == nil {
		fmt.Printf("naive from %d to %d messages: RSS %.1f -> %.1f MiB (%+.0f%%), goroutines %d -> at most %d; "+
			"slope %+.2f MiB per 100k messages\n",
			ng.From, ng.To, mib(ng.RSSFrom), mib(ng.RSSTo), 100*ng.EndGrowth(),
			ng.GoroutinesFrom, ng.GoroutinesMax, ng.SlopePer100k/(1<<20))
	}
	okRSS := g.Growth() <= maxSoakGrowth
	okG := g.GoroutinesMax <= g.GoroutinesFrom+slack
	fmt.Printf("RSS growth after warm-up <= %.0f%%: %s; goroutines flat (+%d): %s\n",
		100*maxSoakGrowth, verdict(okRSS), slack, verdict(okG))
	if !okRSS || !okG {
		return fmt.Errorf("soak targets missed")
	}
	return nil
}
