//go:build !race

package soak

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/bench/internal/harness"
)

const (
	messages = 50_000
	warmup   = 10_000
	// maxGrowth bounds the median RSS over the last tenth of the messages past warm-up
	// against the first tenth. A consumer that holds anything per message grows far more
	// (the naive loop grows by hundreds of percent over the same span); below 10% the
	// guard would trip on the allocator settling on a 2-core machine.
	maxGrowth   = 0.10
	concurrency = 32
	// goroutineSlack is how far goroutines may move and still be flat: a callback per
	// message in flight and two per pooled storage connection (bench/cmd/bench's
	// goroutineSlack). A leak adds them per message: thousands by 50,000.
	goroutineSlack = 3 * concurrency
)

func TestSoak(t *testing.T) {
	for _, tool := range []string{"gcloud", "java"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the official Pub/Sub emulator is not installed (%s: %v); "+
				"install google-cloud-cli-pubsub-emulator to run the soak guard", tool, err)
		}
	}
	bin := buildConsumer(t)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	env, err := harness.Setup(ctx, harness.Config{Dir: t.TempDir(), Objects: 500})
	if err != nil {
		t.Fatalf("harness.Setup: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		os.Unsetenv("STORAGE_EMULATOR_HOST")
	})
	if err := env.Queue(ctx, "soak", "soak"); err != nil {
		t.Fatal(err)
	}
	pub := env.Publisher("soak")
	defer pub.Stop()
	if err := pub.Publish(ctx, messages); err != nil {
		t.Fatal(err)
	}

	res, err := harness.Run(ctx, harness.Spec{
		Name:  "sluice",
		Path:  bin,
		Args:  []string{"-project=" + env.Stack.ProjectID, "-subscription=soak", fmt.Sprintf("-concurrency=%d", concurrency)},
		Env:   env.ChildEnv(""),
		Count: messages,
	})
	if err != nil {
		t.Fatalf("run consumer: %v", err)
	}
	if res.Failed > 0 {
		t.Errorf("%d messages failed", res.Failed)
	}
	g, err := harness.GrowthAfter(res, warmup)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d messages at %.0f msg/s; RSS median %.1f MiB early, %.1f MiB late (%+.1f%%), "+
		"slope %+.2f MiB/100k; goroutines %d, at most %d",
		res.Messages, res.Rate(), mib(g.RSSEarly), mib(g.RSSLate), 100*g.Growth(),
		g.SlopePer100k/(1<<20), g.GoroutinesFrom, g.GoroutinesMax)
	if g.Growth() > maxGrowth {
		t.Errorf("RSS grew %.1f%% from %d to %d messages (%.1f to %.1f MiB), want at most %.0f%%",
			100*g.Growth(), g.From, g.To, mib(g.RSSEarly), mib(g.RSSLate), 100*maxGrowth)
	}
	if g.GoroutinesMax > g.GoroutinesFrom+goroutineSlack {
		t.Errorf("goroutines rose from %d to %d after %d messages, want at most +%d",
			g.GoroutinesFrom, g.GoroutinesMax, g.From, goroutineSlack)
	}
}

// buildConsumer builds bench/cmd/sluice, without the race detector, into a temporary
// directory.
func buildConsumer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sluice")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/sluice-dev/sluice/bench/cmd/sluice")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
