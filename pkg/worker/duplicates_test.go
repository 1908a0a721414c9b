package worker_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"

	"github.com/sluice-dev/sluice/deploy/local/stack"
	"github.com/sluice-dev/sluice/internal/stacktest"
	"github.com/sluice-dev/sluice/pkg/gzipcopy"
	"github.com/sluice-dev/sluice/pkg/notify"
	"github.com/sluice-dev/sluice/pkg/process"
	"github.com/sluice-dev/sluice/pkg/worker"
)

// processors returns the processors under test, each writing under its own prefix.
func processors(t *testing.T, env *stacktest.Env) map[string]process.Processor {
	t.Helper()
	gz, err := gzipcopy.New(env.Storage, gzipcopy.Config{Bucket: outBucket, Prefix: "copies/"})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]process.Processor{"checksum": newChecksum(t, env), "gzip": gz}
}

// outputs lists the output objects for name: checksum records or gzip copies.
func outputs(t *testing.T, env *stacktest.Env, proc, name string) []*storage.ObjectAttrs {
	t.Helper()
	prefix := "results/" + inBucket + "/" + name + "@"
	if proc == "gzip" {
		prefix = gzipcopy.CopyName("copies/", inBucket, name)
	}
	var out []*storage.ObjectAttrs
	it := env.Storage.Bucket(outBucket).Objects(context.Background(), &storage.Query{Prefix: prefix})
	for {
		a, err := it.Next()
		if err == iterator.Done {
			return out
		}
		if err != nil {
			t.Fatalf("list %s: %v", prefix, err)
		}
		out = append(out, a)
	}
}

// gate holds the first n calls to Process until all n are inside it, so duplicates
// really are processed at the same time; it gives up waiting after a second.
type gate struct {
	next    process.Processor
	n       int
	mu      sync.Mutex
	arrived int
	open    chan struct{}
}

func (g *gate) Process(ctx context.Context, obj *process.Object) error {
	g.mu.Lock()
	g.arrived++
	if g.arrived == g.n {
		close(g.open)
	}
	g.mu.Unlock()
	select {
	case <-g.open:
	case <-time.After(time.Second):
	}
	return g.next.Process(ctx, obj)
}

// TestDuplicates delivers one object generation three times at once as notifications,
// once as a backfill message, and once more late: one output, four duplicates, each
// message with its own ID.
func TestDuplicates(t *testing.T) {
	env := stacktest.Start(t, stack.Config{Buckets: []string{inBucket, outBucket}})
	for procName, proc := range processors(t, env) {
		t.Run(procName, func(t *testing.T) {
			name := "dup-" + procName
			data := []byte("the same bytes, announced five times")
			a := env.Upload(t, inBucket, name, data)
			for range 3 {
				publishFinalize(t, env, inBucket, name, a.Generation, data)
			}
			attrs, payload := finalize(inBucket, name, a.Generation, data)
			attrs[notify.AttrSource] = notify.SourceBackfill
			env.Publish(t, attrs, payload)

			g := &gate{next: proc, n: 3, open: make(chan struct{})}
			h := start(t, env, worker.Config{MaxOutstandingMessages: 4}, g, harnessOpts{})
			h.waitSettled(4, 30*time.Second)
			publishFinalize(t, env, inBucket, name, a.Generation, data)
			h.waitSettled(5, 30*time.Second)
			snap := h.stop()

			if snap.Outcomes[worker.Processed] != 1 || snap.Outcomes[worker.Duplicate] != 4 || settled(snap) != 5 {
				t.Errorf("outcomes %v, want 1 processed and 4 duplicates", snap.Outcomes)
			}
			if snap.Acked != 5 || snap.PeakInFlight < 3 {
				t.Errorf("acked %d, peak in flight %d; want 5 acked and at least 3 at once", snap.Acked, snap.PeakInFlight)
			}
			ids := map[string]bool{}
			ss, _ := h.settlements()
			for _, s := range ss {
				ids[s.MessageID] = true
			}
			if len(ids) != 5 {
				t.Errorf("%d distinct message IDs, want 5: duplicates are found by key, not ID", len(ids))
			}
			if out := outputs(t, env, procName, name); len(out) != 1 {
				t.Errorf("%d outputs, want 1", len(out))
			}
		})
	}
}

// TestOverwrites checks that a new generation is new content: processed in order, both
// generations get their output (checksum) or the copy moves forward (gzip); when the
// first generation is gone before it is read, it is superseded.
func TestOverwrites(t *testing.T) {
	env := stacktest.Start(t, stack.Config{Buckets: []string{inBucket, outBucket}})
	for procName, proc := range processors(t, env) {
		t.Run(procName+" readable", func(t *testing.T) {
			name := "over-" + procName
			v1 := env.Upload(t, inBucket, name, []byte("v1"))
			publishFinalize(t, env, inBucket, name, v1.Generation, []byte("v1"))
			h := start(t, env, worker.Config{MaxOutstandingMessages: 1}, proc, harnessOpts{})
			h.waitSettled(1, 30*time.Second)

			v2 := env.Upload(t, inBucket, name, []byte("v2 is longer"))
			publishFinalize(t, env, inBucket, name, v2.Generation, []byte("v2 is longer"))
			h.waitSettled(2, 30*time.Second)
			// generation 1 again, late: it can no longer be read.
			publishFinalize(t, env, inBucket, name, v1.Generation, []byte("v1"))
			h.waitSettled(3, 30*time.Second)
			snap := h.stop()

			want := map[worker.Outcome]int64{worker.Processed: 2, worker.Superseded: 1}
			for o, n := range want {
				if snap.Outcomes[o] != n {
					t.Errorf("outcomes %v, want %v", snap.Outcomes, want)
					break
				}
			}
			out := outputs(t, env, procName, name)
			switch procName {
			case "checksum":
				if len(out) != 2 {
					t.Errorf("%d records, want one per generation", len(out))
				}
			case "gzip":
				if len(out) != 1 || out[0].Metadata[gzipcopy.MetaSourceGeneration] != strconv.FormatInt(v2.Generation, 10) {
					t.Errorf("copies %v, want one of generation %d", out, v2.Generation)
				}
			}
		})
		t.Run(procName+" overwritten first", func(t *testing.T) {
			name := "over-first-" + procName
			v1 := env.Upload(t, inBucket, name, []byte("v1"))
			v2 := env.Upload(t, inBucket, name, []byte("v2"))
			publishFinalize(t, env, inBucket, name, v1.Generation, []byte("v1"))
			publishFinalize(t, env, inBucket, name, v2.Generation, []byte("v2"))
			h := start(t, env, worker.Config{MaxOutstandingMessages: 2}, proc, harnessOpts{})
			h.waitSettled(2, 30*time.Second)
			snap := h.stop()
			if snap.Outcomes[worker.Processed] != 1 || snap.Outcomes[worker.Superseded] != 1 {
				t.Errorf("outcomes %v, want 1 processed and 1 superseded", snap.Outcomes)
			}
			if out := outputs(t, env, procName, name); len(out) != 1 {
				t.Errorf("%d outputs, want 1", len(out))
			}
		})
	}
}
