// Package stacktest starts the local stack for a test, with clients built the way the
// binaries build theirs: plain pubsub.NewClient and storage.NewClient, pointed at the
// local engines only by PUBSUB_EMULATOR_HOST and STORAGE_EMULATOR_HOST.
package stacktest

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/storage"

	"github.com/sluice-dev/sluice/deploy/local/stack"
)

// Env is a running stack with clients for it.
type Env struct {
	*stack.Stack
	PubSub  *pubsub.Client
	Storage *storage.Client
	// Topic publishes to the stack's topic.
	Topic *pubsub.Publisher
}

// Start starts a stack for one test and stops it at cleanup. cfg's zero value gives a
// pstest-backed stack; set cfg.PubSub to use the emulator. It sets the emulator
// variables with t.Setenv, so the test must not be parallel.
func Start(t testing.TB, cfg stack.Config) *Env {
	t.Helper()
	if cfg.PubSub == "" {
		cfg.PubSub = stack.PubSubPstest
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := stack.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("stack.Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("stack.Close: %v", err)
		}
	})
	t.Setenv("STORAGE_EMULATOR_HOST", s.StorageHost)

	ps, err := pubsub.NewClient(ctx, s.ProjectID)
	if err != nil {
		t.Fatalf("pubsub.NewClient: %v", err)
	}
	gcs, err := storage.NewClient(ctx)
	if err != nil {
		t.Fatalf("storage.NewClient: %v", err)
	}
	e := &Env{Stack: s, PubSub: ps, Storage: gcs, Topic: ps.Publisher(s.Topic)}
	t.Cleanup(func() {
		e.Topic.Stop()
		gcs.Close()
		ps.Close()
	})
	return e
}

// Upload writes data to gs://bucket/name and returns the new object's attributes.
func (e *Env) Upload(t testing.TB, bucket, name string, data []byte) *storage.ObjectAttrs {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w := e.Storage.Bucket(bucket).Object(name).NewWriter(ctx)
	if _, err := w.Write(data); err != nil {
		t.Fatalf("upload %q: %v", name, err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("upload %q: %v", name, err)
	}
	return w.Attrs()
}

// Read returns the content of gs://bucket/name, or the read error.
func (e *Env) Read(bucket, name string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := e.Storage.Bucket(bucket).Object(name).NewReader(ctx)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// Publish publishes one message to the stack's topic and waits for the server's ack.
func (e *Env) Publish(t testing.TB, attrs map[string]string, data []byte) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, err := e.Topic.Publish(ctx, &pubsub.Message{Attributes: attrs, Data: data}).Get(ctx)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	return id
}

// Drain acks and returns the messages on subscription id that arrive until quiet
// passes with none, or limit passes in all.
func (e *Env) Drain(t testing.TB, id string, quiet, limit time.Duration) []*pubsub.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var (
		mu   sync.Mutex
		got  []*pubsub.Message
		last = time.Now()
	)
	go func() {
		tick := time.NewTicker(quiet / 4)
		defer tick.Stop()
		for range tick.C {
			mu.Lock()
			idle := time.Since(last) > quiet
			mu.Unlock()
			if idle || ctx.Err() != nil {
				cancel()
				return
			}
		}
	}()
	sub := e.PubSub.Subscriber(id)
	err := sub.Receive(ctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		mu.Lock()
		got = append(got, m)
		last = time.Now()
		mu.Unlock()
	})
	if err != nil {
		t.Fatalf("receive from %s: %v", id, err)
	}
	mu.Lock()
	defer mu.Unlock()
	return got
}
