package worker_test

import (
	"crypto/rand"
	"net/http"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/deploy/local/stack"
	"github.com/sluice-dev/sluice/internal/faultproxy"
	"github.com/sluice-dev/sluice/internal/stacktest"
	"github.com/sluice-dev/sluice/pkg/notify"
	"github.com/sluice-dev/sluice/pkg/worker"
)

// TestStorageFaults puts a fault proxy between the worker and fake-gcs-server and checks
// that each fault ends with exactly one correct record and the right settlements.
func TestStorageFaults(t *testing.T) {
	env := stacktest.Start(t, stack.Config{Buckets: []string{inBucket, outBucket}})
	proxy, gcs := proxied(t, env)
	reads := faultproxy.ObjectReads(inBucket)

	tests := []struct {
		name string
		rule faultproxy.Rule
		size int
		// clearAfter removes the rule once this many messages have failed; 0 leaves it.
		clearAfter    int64
		cfg           worker.Config
		wantHits      int // at least
		wantFailed    int64
		wantFailedWhy string
	}{
		{
			name:     "503 twice then success",
			rule:     faultproxy.Rule{Match: reads, Action: faultproxy.Status, Code: http.StatusServiceUnavailable, Times: 2},
			wantHits: 2,
		},
		{
			name:     "429 with backoff",
			rule:     faultproxy.Rule{Match: reads, Action: faultproxy.Status, Code: http.StatusTooManyRequests, Times: 3},
			wantHits: 3,
		},
		{
			name:          "503 forever: per-object deadline, nack, redelivery",
			rule:          faultproxy.Rule{Match: reads, Action: faultproxy.Status, Code: http.StatusServiceUnavailable},
			clearAfter:    2,
			cfg:           worker.Config{ObjectTimeout: time.Second},
			wantHits:      4,
			wantFailed:    2,
			wantFailedWhy: "deadline exceeded",
		},
		{
			name:     "connection reset mid-body",
			rule:     faultproxy.Rule{Match: reads, Action: faultproxy.Reset, AfterBytes: 256 << 10, Times: 1},
			size:     1 << 20,
			wantHits: 1,
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			size := tt.size
			if size == 0 {
				size = 1000
			}
			data := make([]byte, size)
			rand.Read(data)
			name := "fault-" + string(rune('a'+i))
			a := env.Upload(t, inBucket, name, data)
			key := notify.Key{Bucket: inBucket, Name: name, Generation: a.Generation}
			rule := proxy.Add(tt.rule)
			defer proxy.Remove(rule)
			publishFinalize(t, env, inBucket, name, a.Generation, data)

			cfg := tt.cfg
			cfg.MaxOutstandingMessages = 1
			h := start(t, env, cfg, newChecksum(t, env), harnessOpts{storage: gcs})
			if tt.clearAfter > 0 {
				h.waitFor("failures", 30*time.Second, func(s worker.Snapshot) bool {
					return s.Outcomes[worker.Failed] >= tt.clearAfter
				})
				proxy.Remove(rule)
			}
			h.waitFor("processed", 30*time.Second, func(s worker.Snapshot) bool {
				return s.Outcomes[worker.Processed] >= 1
			})
			snap := h.stop()

			if got := proxy.Hits(rule); got < tt.wantHits {
				t.Errorf("fault applied %d times, want at least %d", got, tt.wantHits)
			}
			if snap.Outcomes[worker.Processed] != 1 || snap.Outcomes[worker.Failed] != tt.wantFailed ||
				settled(snap) != 1+tt.wantFailed {
				t.Errorf("outcomes %v, want 1 processed and %d failed", snap.Outcomes, tt.wantFailed)
			}
			if snap.Acked != 1 || snap.Nacked != tt.wantFailed {
				t.Errorf("acked %d, nacked %d; want 1, %d", snap.Acked, snap.Nacked, tt.wantFailed)
			}
			ss, times := h.settlements()
			for j, s := range ss {
				if s.Outcome == worker.Failed && s.Reason != tt.wantFailedWhy {
					t.Errorf("failure reason %q, want %q (%v)", s.Reason, tt.wantFailedWhy, s.Err)
				}
				// A nack releases the lease: the next attempt comes at once, not after
				// the subscription's 60s ack deadline.
				if j > 0 && ss[j-1].Outcome == worker.Failed {
					if gap := times[j].Sub(times[j-1]); gap > cfg.ObjectTimeout+5*time.Second {
						t.Errorf("redelivery %s after the nack, want it within the object timeout plus 5s", gap)
					}
				}
			}
			rec, err := readRecord(t, env, key)
			if err != nil || !rec.Match || rec.Size != int64(size) {
				t.Fatalf("record = %+v, %v; want a matching record of %d bytes", rec, err, size)
			}
			if want := []string{"size", "crc32c", "payload_crc32c", "payload_md5", "payload_size"}; len(rec.Checked) != len(want) {
				t.Errorf("record checked %v, want %v", rec.Checked, want)
			}
		})
	}
}

// TestPermissionDenied checks the 403 decision: a denied read is transient, nacked with
// its delivery attempt logged, and after the subscription's maximum delivery attempts
// it ends in the subscription's own dead-letter topic, never acknowledged and lost.
func TestPermissionDenied(t *testing.T) {
	env := stacktest.Start(t, stack.Config{Buckets: []string{inBucket, outBucket}, MaxDeliveryAttempts: 5})
	proxy, gcs := proxied(t, env)
	proxy.Add(faultproxy.Rule{Match: faultproxy.Bucket(inBucket), Action: faultproxy.Status, Code: http.StatusForbidden})
	a := env.Upload(t, inBucket, "denied", []byte("secret"))
	publishFinalize(t, env, inBucket, "denied", a.Generation, []byte("secret"))

	h := start(t, env, worker.Config{MaxOutstandingMessages: 1}, newChecksum(t, env), harnessOpts{storage: gcs})
	h.waitSettled(5, 30*time.Second)
	// pstest republishes a dead-lettered message on every pull tick (its pull acks the
	// message by message ID, which its ack ignores), so read for a moment only.
	dead := env.Drain(t, env.DeadLetterTopic, time.Second, 2*time.Second)
	snap := h.stop()

	if snap.Outcomes[worker.Failed] != 5 || snap.Acked != 0 || snap.DeadLettered != 0 {
		t.Errorf("outcomes %v, acked %d, dead-lettered by the worker %d; want 5 failures and neither",
			snap.Outcomes, snap.Acked, snap.DeadLettered)
	}
	ss, _ := h.settlements()
	for i, s := range ss {
		if s.Reason != "permission denied" || s.Attempt != i+1 {
			t.Errorf("settlement %d: reason %q attempt %d; want permission denied, attempt %d", i, s.Reason, s.Attempt, i+1)
		}
	}
	if len(dead) == 0 {
		t.Fatal("dead-letter topic is empty, want the denied message from the subscription's policy")
	}
	for _, m := range dead {
		if m.Attributes[notify.AttrObject] != "denied" {
			t.Errorf("dead letter for %q, want only the denied object", m.Attributes[notify.AttrObject])
		}
		if _, ok := m.Attributes[worker.AttrDeadLetterReason]; ok {
			t.Errorf("dead letter carries %s: the worker dead-lettered it, not the policy", worker.AttrDeadLetterReason)
		}
	}
}
