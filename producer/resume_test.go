package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/sluice-dev/sluice/pkg/checkpoint"
)

// buildProducer builds this command into a temporary directory.
func buildProducer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "producer")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func manyObjects(bucket string, n int) ([]fakestorage.Object, []string) {
	var objs []fakestorage.Object
	var names []string
	for i := range n {
		name := fmt.Sprintf("obj/%05d", i)
		names = append(names, name)
		objs = append(objs, object(bucket, name, name))
	}
	return objs, names
}

// TestResumeAfterKill kills a producer process mid-run with SIGKILL, resumes it, and
// checks that every object was published at least once, listing one range or, with
// several list workers and small pages, ranges split while they are listed (each with
// its own watermark in the checkpoint, and split again on resume).
//
// With SIGTERM instead, the producer must stop on its own: exit status 1 (objects remain),
// a summary, and a last checkpoint that has settled exactly the objects published.
func TestResumeAfterKill(t *testing.T) {
	bin := buildProducer(t)
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		for _, workers := range []int{1, 4} {
			t.Run(fmt.Sprint(sig, ", ", workers, " list workers"), func(t *testing.T) {
				testResumeAfter(t, bin, sig, workers)
			})
		}
	}
}

func testResumeAfter(t *testing.T, bin string, sig syscall.Signal, workers int) {
	const n = 1000
	objs, names := manyObjects("bk", n)
	e := startEngines(t, objs...)
	ckpt := filepath.Join(t.TempDir(), "ckpt.json")

	listing := []string{"--list-workers", fmt.Sprint(workers), "--page-size", "20"}
	cmd := exec.Command(bin, append([]string{"backfill", "--bucket", "bk", "--rate", "500", "--progress", "0",
		"--checkpoint", ckpt, "--checkpoint-interval", "50ms"}, listing...)...)
	cmd.Env = append(os.Environ(), e.env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := waitForCheckpoint(t, ckpt, 200, 20*time.Second)
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	waitErr := cmd.Wait()
	before := len(e.ps.Messages())
	if before >= n {
		t.Fatalf("the first run published all %d objects before the kill; stderr:\n%s", before, stderr.String())
	}
	if sig == syscall.SIGTERM {
		var exit *exec.ExitError
		if !errors.As(waitErr, &exit) || exit.ExitCode() != 1 {
			t.Errorf("after SIGTERM: %v, want exit status 1; stderr:\n%s", waitErr, stderr.String())
		}
		if !strings.Contains(stderr.String(), `"msg":"summary"`) {
			t.Errorf("no summary after SIGTERM; stderr:\n%s", stderr.String())
		}
		last, err := checkpoint.Load(ckpt)
		// Everything in flight settles before the last save, so the watermarks pass
		// exactly the objects published.
		if err != nil || last.Settled != int64(before) {
			t.Errorf("checkpoint after SIGTERM settled %d (%v), want the %d published",
				last.Settled, err, before)
		}
		killed = last
	}
	if workers > 1 && len(killed.Ranges) < 2 {
		t.Errorf("%d list workers left %d ranges in the checkpoint, want splits", workers, len(killed.Ranges))
	}

	_, errOut, err := runProducer(t, "", append([]string{"backfill", "--bucket", "bk", "--progress", "0",
		"--checkpoint", ckpt, "--resume"}, listing...)...)
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, errOut)
	}

	seen := map[string]int{}
	for _, ev := range e.published(t) {
		seen[ev.Name]++
	}
	for _, name := range names {
		if seen[name] == 0 {
			t.Errorf("%q never published", name)
		}
	}
	resumed := len(e.ps.Messages()) - before
	if resumed > n-int(killed.Settled) {
		t.Errorf("resume published %d, want at most %d (the checkpoint had %d settled)",
			resumed, n-int(killed.Settled), killed.Settled)
	}
	st, err := checkpoint.Load(ckpt)
	if err != nil || len(st.Ranges) != 0 || st.Settled != n {
		t.Errorf("final checkpoint = %+v, %v; want no ranges left, settled %d", st, err, n)
	}
}

// waitForCheckpoint waits until the checkpoint at path has passed min objects.
func waitForCheckpoint(t *testing.T, path string, min int64, timeout time.Duration) checkpoint.State {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		st, err := checkpoint.Load(path)
		if err == nil && st.Settled >= min {
			return st
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("checkpoint %s did not pass %d objects within %v", path, min, timeout)
	return checkpoint.State{}
}

// TestShardsCoverOnce splits a bucket with producer ranges, backfills each range, and
// checks that every object was published exactly once.
func TestShardsCoverOnce(t *testing.T) {
	for _, shards := range []int{1, 3, 7, 200} {
		t.Run(fmt.Sprint(shards, " shards"), func(t *testing.T) {
			objs, names := manyObjects("bk", 50)
			e := startEngines(t, objs...)
			stdout, stderr, err := runProducer(t, "", "ranges", "--bucket", "bk", "--shards", fmt.Sprint(shards))
			if err != nil {
				t.Fatalf("ranges: %v\n%s", err, stderr)
			}
			lines := strings.Split(strings.TrimSpace(stdout), "\n")
			if want := min(shards, len(names)); len(lines) != want {
				t.Errorf("ranges printed %d ranges, want %d:\n%s", len(lines), want, stdout)
			}
			for _, line := range lines {
				var r struct {
					StartAfter string `json:"start_after"`
					EndBefore  string `json:"end_before"`
				}
				if err := json.Unmarshal([]byte(line), &r); err != nil {
					t.Fatalf("range %q: %v", line, err)
				}
				_, stderr, err := runProducer(t, "", "backfill", "--bucket", "bk", "--progress", "0",
					"--start-after", r.StartAfter, "--end-before", r.EndBefore)
				if err != nil {
					t.Fatalf("backfill %s: %v\n%s", line, err, stderr)
				}
			}
			seen := map[string]int{}
			for _, ev := range e.published(t) {
				seen[ev.Name]++
			}
			for _, name := range names {
				if seen[name] != 1 {
					t.Errorf("%q published %d times, want once", name, seen[name])
				}
			}
		})
	}
}
