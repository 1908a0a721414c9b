package worker_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/deploy/local/stack"
	"github.com/sluice-dev/sluice/internal/stacktest"
	"github.com/sluice-dev/sluice/pkg/notify"
	"github.com/sluice-dev/sluice/pkg/worker"
)

// TestBadInput sends the harder kinds of bad input (oversized or unstorable names, control
// characters, gzip content encoding) and checks each message's defined outcome.
func TestBadInput(t *testing.T) {
	env := stacktest.Start(t, stack.Config{Buckets: []string{inBucket, outBucket}})

	// Rejected before any read: names Cloud Storage cannot hold, generations that are
	// not numbers.
	long := strings.Repeat("n", 2000)
	rejected := []map[string]string{
		{"eventType": "OBJECT_FINALIZE", "bucketId": inBucket, "objectId": long, "objectGeneration": "1"},
		{"eventType": "OBJECT_FINALIZE", "bucketId": inBucket, "objectId": "x", "objectGeneration": "12x"},
		{"eventType": "OBJECT_FINALIZE", "bucketId": inBucket, "objectId": "line\nfeed", "objectGeneration": "1"},
		{"eventType": "OBJECT_FINALIZE", "bucketId": inBucket, "objectId": "x", "objectGeneration": "-3"},
	}
	for _, attrs := range rejected {
		attrs[notify.AttrPayloadFormat] = notify.PayloadNone
		env.Publish(t, attrs, nil)
	}

	// Processed: control characters other than CR and LF are legal in a name.
	ctl := "ctl\x01\x1f\x7f\ttab"
	ctlData := []byte("odd name")
	ctlAttrs := env.Upload(t, inBucket, ctl, ctlData)
	publishFinalize(t, env, inBucket, ctl, ctlAttrs.Generation, ctlData)

	// Processed: stored gzip-encoded. The worker reads the stored bytes (no
	// decompressive transcoding), so the stored CRC32C and the payload's hashes apply.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(bytes.Repeat([]byte("compressible "), 1000))
	zw.Close()
	wr := env.Storage.Bucket(inBucket).Object("encoded.txt").NewWriter(context.Background())
	wr.ContentEncoding, wr.ContentType = "gzip", "text/plain"
	if _, err := wr.Write(gz.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := wr.Close(); err != nil {
		t.Fatal(err)
	}
	encGen := wr.Attrs().Generation
	publishFinalize(t, env, inBucket, "encoded.txt", encGen, gz.Bytes())

	h := start(t, env, worker.Config{MaxOutstandingMessages: 2}, newChecksum(t, env), harnessOpts{})
	h.waitSettled(int64(len(rejected)+2), 30*time.Second)
	snap := h.stop()

	want := map[worker.Outcome]int64{worker.Rejected: int64(len(rejected)), worker.Processed: 2}
	for o, n := range want {
		if snap.Outcomes[o] != n {
			t.Errorf("outcomes %v, want %v", snap.Outcomes, want)
			break
		}
	}
	if snap.DeadLettered != int64(len(rejected)) {
		t.Errorf("dead-lettered %d, want %d", snap.DeadLettered, len(rejected))
	}

	rec, err := readRecord(t, env, notify.Key{Bucket: inBucket, Name: ctl, Generation: ctlAttrs.Generation})
	if err != nil || !rec.Match || rec.Name != ctl {
		t.Errorf("record for %q = %+v, %v; want a matching record with the exact name", ctl, rec, err)
	}
	rec, err = readRecord(t, env, notify.Key{Bucket: inBucket, Name: "encoded.txt", Generation: encGen})
	if err != nil || !rec.Match || rec.Size != int64(gz.Len()) {
		t.Errorf("record for the gzip-encoded object = %+v, %v; want a match over its %d stored bytes", rec, err, gz.Len())
	}

	dead := env.Drain(t, env.DeadLetterTopic, time.Second, 10*time.Second)
	if len(dead) != len(rejected) {
		t.Fatalf("%d dead letters, want %d", len(dead), len(rejected))
	}
	for _, m := range dead {
		if m.Attributes[worker.AttrDeadLetterReason] != "invalid message" {
			t.Errorf("dead letter reason %q, want invalid message", m.Attributes[worker.AttrDeadLetterReason])
		}
		if id := m.Attributes[notify.AttrObject]; strings.HasPrefix(id, "nnn") {
			if len(id) != 1024 || m.Attributes[worker.AttrDeadLetterTrimmed] != "true" {
				t.Errorf("oversized name dead-lettered as %d bytes, trimmed %q; want 1024 and true",
					len(id), m.Attributes[worker.AttrDeadLetterTrimmed])
			}
		}
	}
}
