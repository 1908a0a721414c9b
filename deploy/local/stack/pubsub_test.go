package stack

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/storage"
	"github.com/google/go-cmp/cmp"
)

// pubsubClient returns a client built the way the worker builds one: plain
// pubsub.NewClient, pointed at the stack only by PUBSUB_EMULATOR_HOST, which
// Start has set.
func pubsubClient(t *testing.T, s *Stack) *pubsub.Client {
	t.Helper()
	if got := os.Getenv("PUBSUB_EMULATOR_HOST"); got != s.PubSubHost {
		t.Fatalf("PUBSUB_EMULATOR_HOST = %q, want %q", got, s.PubSubHost)
	}
	c, err := pubsub.NewClient(context.Background(), s.ProjectID)
	if err != nil {
		t.Fatalf("pubsub.NewClient() = %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestPubSub runs the worker-facing checks against each engine, sharing one
// stack per engine because the emulator takes a second or more to start.
func TestPubSub(t *testing.T) {
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			s, err := Start(context.Background(), Config{
				PubSub:      engine,
				Buckets:     []string{"uploads"},
				AckDeadline: 20 * time.Second,
			})
			if err != nil {
				t.Fatalf("Start() = %v", err)
			}
			defer s.Close()
			if s.PubSub != engine {
				t.Fatalf("Stack.PubSub = %q, want %q", s.PubSub, engine)
			}
			t.Logf("%s answered after %v", engine, s.PubSubStartup)
			c := pubsubClient(t, s)

			t.Run("subscription", func(t *testing.T) { testSubscription(t, s, c) })
			t.Run("notify", func(t *testing.T) { testNotify(t, s, c) })
			t.Run("dead letter", func(t *testing.T) { testDeadLetter(t, s, c) })
			t.Run("close", func(t *testing.T) { testClose(t, s) })
		})
	}
}

// testNotify checks that a notification configuration made by Notify
// publishes one message per write under its prefix, and none for others.
func testNotify(t *testing.T, s *Stack, c *pubsub.Client) {
	ctx := context.Background()
	if err := s.Notify(ctx, "uploads", "in/"); err != nil {
		t.Fatalf("Notify() = %v", err)
	}
	bucket := storageClient(t, s).Bucket("uploads")
	sub := c.Subscriber(s.Subscription)

	mustWrite(t, bucket.Object("out/ignored"), "outside the prefix")
	first := mustWrite(t, bucket.Object("in/a.txt"), "first")
	second := mustWrite(t, bucket.Object("in/a.txt"), "second")

	msgs := receive(t, sub, 2, 300*time.Millisecond)
	if len(msgs) != 2 {
		t.Fatalf("got %d messages, want 2 (none for out/): %v", len(msgs), attrsOf(msgs))
	}
	slices.SortFunc(msgs, func(a, b *pubsub.Message) int {
		return strings.Compare(a.Attributes["objectGeneration"],
			b.Attributes["objectGeneration"])
	})
	checkFinalize(t, msgs[0], first, nil)
	checkFinalize(t, msgs[1], second, map[string]string{
		"overwroteGeneration": strconv.FormatInt(first.Generation, 10),
	})
}

func attrsOf(msgs []*pubsub.Message) []map[string]string {
	var out []map[string]string
	for _, m := range msgs {
		out = append(out, m.Attributes)
	}
	return out
}

// checkFinalize checks that m is the OBJECT_FINALIZE notification of the
// object written as want, with exactly the attributes a notification
// configuration's JSON_API_V1 message has, plus extra.
func checkFinalize(t *testing.T, m *pubsub.Message, want *storage.ObjectAttrs, extra map[string]string) {
	t.Helper()
	wantAttrs := map[string]string{
		"bucketId":         want.Bucket,
		"objectId":         want.Name,
		"objectGeneration": strconv.FormatInt(want.Generation, 10),
		"eventType":        "OBJECT_FINALIZE",
		"payloadFormat":    "JSON_API_V1",
		"eventTime":        m.Attributes["eventTime"],
	}
	for k, v := range extra {
		wantAttrs[k] = v
	}
	if diff := cmp.Diff(wantAttrs, m.Attributes); diff != "" {
		t.Errorf("message %s attributes (-want +got):\n%s", m.ID, diff)
	}
	if _, err := time.Parse(time.RFC3339, m.Attributes["eventTime"]); err != nil {
		t.Errorf("eventTime %q: %v", m.Attributes["eventTime"], err)
	}

	var got struct {
		Kind        string `json:"kind"`
		Bucket      string `json:"bucket"`
		Name        string `json:"name"`
		Generation  int64  `json:"generation,string"`
		Size        int64  `json:"size,string"`
		ContentType string `json:"contentType"`
	}
	if err := json.Unmarshal(m.Data, &got); err != nil {
		t.Fatalf("message %s data %q: %v", m.ID, m.Data, err)
	}
	wantData := got
	wantData.Kind, wantData.Bucket, wantData.Name = "storage#object", want.Bucket, want.Name
	wantData.Generation, wantData.Size, wantData.ContentType = want.Generation, want.Size, want.ContentType
	if diff := cmp.Diff(wantData, got); diff != "" {
		t.Errorf("message %s data (-want +got):\n%s", m.ID, diff)
	}
}

// testSubscription checks the worker subscription's settings.
func testSubscription(t *testing.T, s *Stack, c *pubsub.Client) {
	sub, err := c.SubscriptionAdminClient.GetSubscription(context.Background(),
		&pubsubpb.GetSubscriptionRequest{Subscription: s.subscriptionName(s.Subscription)})
	if err != nil {
		t.Fatalf("GetSubscription() = %v", err)
	}
	got := []any{sub.Topic, sub.AckDeadlineSeconds,
		sub.DeadLetterPolicy.GetDeadLetterTopic(), sub.DeadLetterPolicy.GetMaxDeliveryAttempts()}
	want := []any{s.topicName(s.Topic), int32(20), s.topicName(s.DeadLetterTopic), int32(5)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("subscription topic, ack deadline, dead letter (-want +got):\n%s", diff)
	}
}

// testDeadLetter nacks one message until Pub/Sub gives up on it and checks
// that it arrives on the dead-letter subscription.
func testDeadLetter(t *testing.T, s *Stack, c *pubsub.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pub := c.Publisher(s.Topic)
	defer pub.Stop()
	if _, err := pub.Publish(ctx, &pubsub.Message{Data: []byte("poison")}).Get(ctx); err != nil {
		t.Fatalf("Publish() = %v", err)
	}

	var attempts atomic.Int32
	go c.Subscriber(s.Subscription).Receive(ctx, func(_ context.Context, m *pubsub.Message) {
		attempts.Add(1)
		m.Nack()
	})
	dead := receive(t, c.Subscriber(s.DeadLetterTopic), 1, 0)
	if got := string(dead[0].Data); got != "poison" {
		t.Errorf("dead letter data = %q, want %q", got, "poison")
	}
	if got := attempts.Load(); got < 5 {
		t.Errorf("dead-lettered after %d deliveries, want at least 5", got)
	}
}

// TestEmulatorStartFailure runs stand-in launchers that fail the ways the
// emulator does, and checks that the wait ends early with their output.
func TestEmulatorStartFailure(t *testing.T) {
	tests := []struct {
		name   string
		script string
		want   string
	}{
		{
			name:   "exits",
			script: "echo no java here; exit 3",
			want:   "exited (exit status 3); output ends:\nno java here",
		},
		{
			// The real emulator stays up after failing to bind its port.
			name: "fails but keeps running",
			script: "echo 'Exception in thread \"main\" java.net.BindException: " +
				"Address already in use'; sleep 60",
			want: "failed; output ends:\nException in thread",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			launcher := filepath.Join(dir, "launcher")
			if err := os.WriteFile(launcher, []byte("#!/bin/sh\n"+tt.script+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			e, err := startEmulator(launcher, loopback, 0, dir)
			if err != nil {
				t.Fatalf("startEmulator() = %v", err)
			}
			defer e.stop()
			c, err := newPubSubClient(context.Background(), e.host, "p")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()

			start := time.Now()
			err = e.waitReady(context.Background(), c, "p")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("waitReady() = %v, want error containing %q", err, tt.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("waitReady() took %v to fail, want well under %v", d, emulatorReadyTimeout)
			}
		})
	}
}

func TestStartBusyPort(t *testing.T) {
	l, err := net.Listen("tcp", loopback+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := l.Addr().(*net.TCPAddr).Port

	tests := []struct {
		name string
		cfg  Config
	}{
		{name: "pstest", cfg: Config{PubSub: PubSubPstest, PubSubPort: busy}},
		{name: "emulator", cfg: Config{PubSub: PubSubEmulator, PubSubPort: busy}},
		{name: "storage", cfg: Config{PubSub: PubSubPstest, StoragePort: busy}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.cfg.PubSub == PubSubEmulator {
				requireEmulator(t)
			}
			s, err := Start(context.Background(), tt.cfg)
			if err == nil {
				s.Close()
				t.Fatalf("Start(port %d in use) = nil, want error", busy)
			}
			if !errors.Is(err, syscall.EADDRINUSE) && !strings.Contains(err.Error(), "address already in use") {
				t.Errorf("Start(port %d in use) = %v, want address already in use", busy, err)
			}
		})
	}
	// A failed Start releases what it took, the environment claim
	// included, so the next Start works.
	startStack(t, Config{PubSub: PubSubPstest})
}

// testClose closes s and checks that its Pub/Sub engine is gone: the port
// refuses connections and, for the emulator, no process of its group is
// left.
func testClose(t *testing.T, s *Stack) {
	pgid := 0
	if em, ok := s.pubsub.(*emulator); ok {
		pgid = em.cmd.Process.Pid
		if err := syscall.Kill(-pgid, 0); err != nil {
			t.Fatalf("emulator process group %d not running: %v", pgid, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if pgid != 0 {
		if err := syscall.Kill(-pgid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("after Close, signalling process group %d = %v, want ESRCH", pgid, err)
		}
	}
	if conn, err := net.Dial("tcp", s.PubSubHost); err == nil {
		conn.Close()
		t.Errorf("after Close, %s still accepts connections", s.PubSubHost)
	}
}
