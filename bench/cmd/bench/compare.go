package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"

	"github.com/sluice-dev/sluice/bench/internal/harness"
)

// baseConsumers are compared in this order, rotated each round so that none always
// runs first on a fresh emulator or last on a warm one. -peers adds more.
var baseConsumers = []string{"sluice", "minimal", "naive"}

// Targets published in docs/benchmarks.md, against the minimal loop measured in the same run.
const (
	maxCPURatio  = 1.25
	minRateRatio = 0.9
)

// total sums one consumer's rounds.
type total struct {
	name     string
	messages int64
	failed   int64
	busy     float64
	cpu      float64
	maxRSS   int64
	slope    float64 // bytes per 100k messages, first round, after its first 20%
	timedOut bool
}

func (t total) rate() float64      { return float64(t.messages) / t.busy }
func (t total) cpuPer10k() float64 { return t.cpu / float64(t.messages) * 1e4 }

// compare runs the three consumers on the same messages: one topic with a subscription
// per consumer and round, so every run receives the same messages and drains its own
// subscription. (Runs sharing a subscription would not work on the emulator: it
// delivers far past a stream's flow control, and what one process held but did not
// process stays leased, out of the next one's reach, for the ack deadline.)
func (b bench) compare(ctx context.Context) error {
	consumers := append(slices.Clone(baseConsumers), b.o.peers...)
	n := b.o.messages
	if n == 0 {
		n = 100_000
	}
	perRound := n / int64(b.o.rounds)
	var subs []string
	for round := range b.o.rounds {
		for _, c := range consumers {
			subs = append(subs, subName(c, round))
		}
	}
	if err := b.env.Queue(ctx, "compare", subs...); err != nil {
		return err
	}
	pub := b.env.Publisher("compare")
	defer pub.Stop()
	if err := pub.Publish(ctx, perRound); err != nil {
		return err
	}
	fmt.Printf("# published %d messages to %d subscriptions: %d rounds, each consumer once a round\n",
		pub.Sent(), len(subs), b.o.rounds)

	totals := map[string]*total{}
	var samples []harness.Sample
	for round := range b.o.rounds {
		for i := range consumers {
			name := consumers[(i+round)%len(consumers)]
			count := perRound
			if name == "naive" && b.o.naiveCount > 0 {
				// The naive loop slows as it exhausts file descriptors: a share of the
				// messages is enough to measure it.
				count = b.o.naiveCount / int64(b.o.rounds)
			}
			spec, err := b.spec(name, subName(name, round), count, "")
			if err != nil {
				return err
			}
			if name == "naive" {
				spec.Timeout = b.o.naiveLimit
			}
			res, err := harness.Run(ctx, spec)
			if err != nil {
				return err
			}
			fmt.Printf("round %d %-8s %7d msgs %8.0f msg/s %6.2f CPU s/10k  peak RSS %5.1f MiB%s\n",
				round+1, name, res.Messages, res.Rate(), res.CPUPer10k(), mib(res.MaxRSS),
				map[bool]string{true: "  (stopped at the time limit)"}[res.TimedOut])
			t := totals[name]
			if t == nil {
				t = &total{name: name}
				totals[name] = t
				if g, err := harness.GrowthAfter(res, res.Messages/5); err == nil {
					t.slope = g.SlopePer100k
				}
			}
			t.messages += res.Messages
			t.failed += res.Failed
			t.busy += res.Busy
			t.cpu += res.CPU
			t.maxRSS = max(t.maxRSS, res.MaxRSS)
			t.timedOut = t.timedOut || res.TimedOut
			for _, s := range res.Samples {
				s.Consumer = fmt.Sprintf("%s#%d", name, round+1)
				samples = append(samples, s)
			}
		}
	}
	if err := writeCSV(filepath.Join(b.o.out, "compare.csv"), samples); err != nil {
		return err
	}
	return report(consumers, totals)
}

func subName(consumer string, round int) string {
	return fmt.Sprintf("compare-%s-%d", consumer, round+1)
}

func report(consumers []string, totals map[string]*total) error {
	floor := totals["minimal"]
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "consumer\tmessages\tmsg/s\tCPU s/10k msgs\tpeak RSS MiB\tRSS slope MiB/100k\tthroughput vs minimal\tCPU/msg vs minimal\t")
	for _, name := range consumers {
		t := totals[name]
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.2f\t%.1f\t%+.2f\t%.2fx\t%.2fx\t\n",
			name, t.messages, t.rate(), t.cpuPer10k(), mib(t.maxRSS), t.slope/(1<<20),
			t.rate()/floor.rate(), t.cpuPer10k()/floor.cpuPer10k())
	}
	tw.Flush()

	s := totals["sluice"]
	cpu, rate := s.cpuPer10k()/floor.cpuPer10k(), s.rate()/floor.rate()
	fmt.Printf("\nsluice CPU per message %.2fx the minimal loop's (target <= %.2fx): %s\n",
		cpu, maxCPURatio, verdict(cpu <= maxCPURatio))
	fmt.Printf("sluice throughput %.2fx the minimal loop's (target >= %.2fx): %s\n",
		rate, minRateRatio, verdict(rate >= minRateRatio))
	if n := totals["naive"]; n.timedOut {
		fmt.Printf("naive loop stopped at the time limit after %d messages\n", n.messages)
	}
	if cpu > maxCPURatio || rate < minRateRatio {
		return fmt.Errorf("targets missed")
	}
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func writeCSV(path string, samples []harness.Sample) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := harness.WriteCSV(f, samples); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
