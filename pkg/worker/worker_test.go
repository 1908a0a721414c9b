package worker_test

import (
	"context"
	"crypto/md5"
	"encoding/json"
	"errors"
	"hash/crc32"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sluice-dev/sluice/deploy/local/stack"
	"github.com/sluice-dev/sluice/internal/stacktest"
	"github.com/sluice-dev/sluice/pkg/checksum"
	"github.com/sluice-dev/sluice/pkg/notify"
	"github.com/sluice-dev/sluice/pkg/process"
	"github.com/sluice-dev/sluice/pkg/worker"
)

const (
	inBucket  = "in"
	outBucket = "out"
)

// runWorker runs a worker on env's subscription until want messages are settled, then
// shuts it down and returns its final counts.
func runWorker(t *testing.T, env *stacktest.Env, cfg worker.Config, proc process.Processor, want int64) worker.Snapshot {
	t.Helper()
	h := start(t, env, cfg, proc, harnessOpts{})
	h.waitSettled(want, 60*time.Second)
	return h.stop()
}

func settled(s worker.Snapshot) int64 {
	var n int64
	for _, c := range s.Outcomes {
		n += c
	}
	return n
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}

func newChecksum(t *testing.T, env *stacktest.Env) *checksum.Processor {
	t.Helper()
	p, err := checksum.New(env.Storage, checksum.Config{Bucket: outBucket, Prefix: "results/"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func readRecord(t *testing.T, env *stacktest.Env, key notify.Key) (checksum.Record, error) {
	t.Helper()
	data, err := env.Read(outBucket, checksum.RecordName("results/", key))
	if err != nil {
		return checksum.Record{}, err
	}
	var rec checksum.Record
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatalf("record for %s is not JSON: %v\n%s", key, err, data)
	}
	return rec, nil
}

// finalize returns the message Cloud Storage would send for attrs' object.
func finalize(bucket, name string, gen int64, data []byte) (map[string]string, []byte) {
	m := md5.Sum(data)
	return notify.Encode(notify.Event{
		Type: notify.Finalize, Bucket: bucket, Name: name, Generation: gen,
		Size: int64(len(data)), MD5: m[:],
		CRC32C: crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)), HasCRC32C: true,
	})
}

// TestWorkerOutcomes sends one message of every kind through a real worker and checks
// how each was settled and what it wrote.
func TestWorkerOutcomes(t *testing.T) {
	env := stacktest.Start(t, stack.Config{Buckets: []string{inBucket, outBucket}})

	names := []string{
		"plain.txt", "with space.txt", "hash#frag", "what?q=1", "literal%2Fslash",
		"plus+sign", "ünïcødé/日本語.txt", "empty.bin",
	}
	var keys []notify.Key
	for i, name := range names {
		data := []byte(name + " content")
		if name == "empty.bin" {
			// A zero-byte object. (Real folder placeholders end in "/", which
			// fake-gcs-server v1.56.1 stores but cannot read back: see the README.)
			data = nil
		}
		a := env.Upload(t, inBucket, name, data)
		attrs, payload := finalize(inBucket, name, a.Generation, data)
		if i%2 == 1 {
			// Alternate with attribute-only messages (payload format NONE).
			attrs, payload = notify.Encode(notify.Event{Type: notify.Finalize, Bucket: inBucket, Name: name, Generation: a.Generation, Size: -1})
		}
		env.Publish(t, attrs, payload)
		keys = append(keys, notify.Key{Bucket: inBucket, Name: name, Generation: a.Generation})
	}

	// The same generation announced again, as a backfill would: a duplicate.
	dupData := []byte("plain.txt content")
	attrs, payload := finalize(inBucket, "plain.txt", keys[0].Generation, dupData)
	attrs[notify.AttrSource] = notify.SourceBackfill
	env.Publish(t, attrs, payload)

	// A bare name with no generation: the live one is read and recorded.
	bare := env.Upload(t, inBucket, "bare.txt", []byte("bare"))
	attrs, payload = notify.Encode(notify.Event{Bucket: inBucket, Name: "bare.txt", Size: -1, Source: notify.SourceBackfill})
	env.Publish(t, attrs, payload)

	// Overwritten before it was processed: superseded.
	old := env.Upload(t, inBucket, "over.txt", []byte("v1"))
	env.Upload(t, inBucket, "over.txt", []byte("v2"))
	attrs, payload = finalize(inBucket, "over.txt", old.Generation, []byte("v1"))
	env.Publish(t, attrs, payload)

	// Deleted before it was processed: rejected as gone.
	gone := env.Upload(t, inBucket, "gone.txt", []byte("bye"))
	if err := env.Storage.Bucket(inBucket).Object("gone.txt").Delete(context.Background()); err != nil {
		t.Fatal(err)
	}
	attrs, payload = finalize(inBucket, "gone.txt", gone.Generation, []byte("bye"))
	env.Publish(t, attrs, payload)

	// Events without new content: skipped.
	for _, typ := range []notify.EventType{notify.Delete, notify.Archive, notify.MetadataUpdate} {
		attrs, payload = notify.Encode(notify.Event{Type: typ, Bucket: inBucket, Name: "plain.txt", Generation: keys[0].Generation, Size: -1})
		env.Publish(t, attrs, payload)
	}

	// Bad input: rejected and dead-lettered.
	bad := []struct {
		attrs map[string]string
		data  string
	}{
		{map[string]string{"x": "y"}, ""}, // no event attributes at all
		{map[string]string{"eventType": "OBJECT_FINALIZE", "payloadFormat": "JSON_API_V1", "bucketId": inBucket, "objectId": "x"}, "{not json"},
		{map[string]string{"eventType": "OBJECT_FINALIZE", "payloadFormat": "NONE", "bucketId": inBucket, "objectGeneration": "1"}, ""},
		{map[string]string{"eventType": "OBJECT_SHRUNK", "bucketId": inBucket, "objectId": "x"}, ""},
		{map[string]string{"eventType": "OBJECT_FINALIZE", "bucketId": inBucket, "objectId": "x", "objectGeneration": "abc"}, ""},
	}
	for _, b := range bad {
		env.Publish(t, b.attrs, []byte(b.data))
	}

	total := int64(len(names) + 1 + 1 + 1 + 1 + 3 + len(bad))
	snap := runWorker(t, env, worker.Config{MaxOutstandingMessages: 4}, newChecksum(t, env), total)

	wantOutcomes := map[worker.Outcome]int64{
		worker.Processed:  int64(len(names)) + 1,
		worker.Duplicate:  1,
		worker.Superseded: 1,
		worker.Skipped:    3,
		worker.Rejected:   int64(len(bad)) + 1,
		worker.Failed:     0,
	}
	if diff := cmp.Diff(wantOutcomes, snap.Outcomes); diff != "" {
		t.Errorf("outcomes mismatch (-want +got):\n%s", diff)
	}
	if snap.DeadLettered != int64(len(bad))+1 {
		t.Errorf("dead-lettered %d, want %d", snap.DeadLettered, len(bad)+1)
	}
	if snap.PeakInFlight > 4 {
		t.Errorf("peak in flight %d exceeds the limit of 4", snap.PeakInFlight)
	}

	for _, k := range keys {
		rec, err := readRecord(t, env, k)
		if err != nil {
			t.Errorf("record for %s: %v", k, err)
			continue
		}
		if rec.Name != k.Name || rec.Generation != k.Generation || !rec.Match {
			t.Errorf("record for %s = %+v, want a matching record of that name and generation", k, rec)
		}
	}
	rec, err := readRecord(t, env, notify.Key{Bucket: inBucket, Name: "bare.txt", Generation: bare.Generation})
	if err != nil || !rec.Match {
		t.Errorf("record for the bare name = %+v, %v; want one at the live generation", rec, err)
	}
	if _, err := readRecord(t, env, notify.Key{Bucket: inBucket, Name: "over.txt", Generation: old.Generation}); err == nil {
		t.Errorf("superseded generation got a record")
	}

	dead := env.Drain(t, env.DeadLetterTopic, time.Second, 20*time.Second)
	if len(dead) != len(bad)+1 {
		t.Fatalf("dead-letter subscription has %d messages, want %d", len(dead), len(bad)+1)
	}
	for _, m := range dead {
		if m.Attributes[worker.AttrDeadLetterReason] == "" || m.Attributes[worker.AttrDeadLetterError] == "" {
			t.Errorf("dead letter %v lacks reason attributes", m.Attributes)
		}
	}
}

// TestWorkerNacksTransientFailures checks that a failing processor's messages are nacked,
// not acknowledged, and succeed once the failure clears.
func TestWorkerNacksTransientFailures(t *testing.T) {
	env := stacktest.Start(t, stack.Config{Buckets: []string{inBucket, outBucket}})
	a := env.Upload(t, inBucket, "flaky.txt", []byte("flaky"))
	attrs, payload := finalize(inBucket, "flaky.txt", a.Generation, []byte("flaky"))
	env.Publish(t, attrs, payload)

	real := newChecksum(t, env)
	var calls int
	proc := process.Func(func(ctx context.Context, obj *process.Object) error {
		calls++
		if calls <= 2 {
			return errors.New("storage hiccup")
		}
		return real.Process(ctx, obj)
	})
	snap := runWorker(t, env, worker.Config{MaxOutstandingMessages: 1}, proc, 3)
	want := map[worker.Outcome]int64{worker.Failed: 2, worker.Processed: 1}
	for o, n := range want {
		if snap.Outcomes[o] != n {
			t.Errorf("outcome %s = %d, want %d (all: %v)", o, snap.Outcomes[o], n, snap.Outcomes)
		}
	}
	if _, err := readRecord(t, env, notify.Key{Bucket: inBucket, Name: "flaky.txt", Generation: a.Generation}); err != nil {
		t.Errorf("no record after recovery: %v", err)
	}
}
