package stack

import (
	"context"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
)

// startStack starts a stack for one test and closes it at cleanup.
func startStack(t *testing.T, cfg Config) *Stack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	s, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("Start(%+v) = %v", cfg, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	})
	return s
}

// requireEmulator skips the test when the official emulator is not
// installed.
func requireEmulator(t *testing.T) {
	t.Helper()
	if _, err := findEmulator(); err != nil {
		t.Skipf("pubsub emulator not installed (needs the Google Cloud CLI's "+
			"pubsub emulator component and java): %v", err)
	}
}

// engines lists the Pub/Sub engines to run a test against: pstest always,
// the emulator when installed.
func engines(t *testing.T) []string {
	t.Helper()
	if _, err := findEmulator(); err != nil {
		t.Logf("pubsub emulator not installed, testing pstest only: %v", err)
		return []string{PubSubPstest}
	}
	return []string{PubSubPstest, PubSubEmulator}
}

// receive acks and returns messages from sub until n have arrived, then
// keeps receiving for quiet to catch any extra; it fails the test if fewer
// than n arrive within 15 s.
func receive(t *testing.T, sub *pubsub.Subscriber, n int, quiet time.Duration) []*pubsub.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var (
		mu   sync.Mutex
		got  []*pubsub.Message
		once sync.Once
	)
	err := sub.Receive(ctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		mu.Lock()
		defer mu.Unlock()
		got = append(got, m)
		if len(got) >= n {
			once.Do(func() { time.AfterFunc(quiet, cancel) })
		}
	})
	if err != nil {
		t.Fatalf("Receive(%s) = %v", sub, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) < n {
		t.Fatalf("Receive(%s) got %d messages in 15s, want %d", sub, len(got), n)
	}
	return got
}
