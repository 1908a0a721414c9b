// Package harness runs benchmark consumers as separate processes against the local
// stack and measures them: CPU time and peak RSS from the kernel's accounting of the
// child, RSS over time from /proc, and progress, Go heap and goroutines from the
// consumer's own probe lines.
//
// The local stack (the official Pub/Sub emulator and fake-gcs-server on its filesystem
// backend) runs in, or is started by, the harness process, so its CPU is never counted
// against a consumer.
package harness

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"strings"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/storage"

	"github.com/sluice-dev/sluice/deploy/local/stack"
	"github.com/sluice-dev/sluice/pkg/notify"
)

// SourceBucket holds the objects the benchmark messages name.
const SourceBucket = "bench-src"

// Config describes the corpus a benchmark reads.
type Config struct {
	// Dir holds the stack's files. Required.
	Dir string
	// Objects is how many distinct objects are uploaded; messages cycle through them.
	// Default 1,000.
	Objects int
	// ObjectSize is each object's size in bytes. Default 4 KiB.
	ObjectSize int
	// PubSub is the engine (stack.PubSubEmulator unless set).
	PubSub string
}

// Env is a running local stack with a corpus uploaded.
type Env struct {
	Stack   *stack.Stack
	PubSub  *pubsub.Client
	Storage *storage.Client
	// Events are the uploaded objects, with the generation, size and hashes a
	// notification would carry.
	Events []notify.Event
}

// Setup starts the stack and uploads the corpus. Close stops it.
func Setup(ctx context.Context, cfg Config) (_ *Env, err error) {
	if cfg.Objects == 0 {
		cfg.Objects = 1000
	}
	if cfg.ObjectSize == 0 {
		cfg.ObjectSize = 4 << 10
	}
	if cfg.PubSub == "" {
		cfg.PubSub = stack.PubSubEmulator
	}
	s, err := stack.Start(ctx, stack.Config{
		PubSub:  cfg.PubSub,
		Dir:     cfg.Dir,
		Buckets: []string{SourceBucket},
		// Long enough that a slow consumer never sees redeliveries from lease expiry.
		AckDeadline: 600 * time.Second,
	})
	if err != nil {
		return nil, err
	}
	e := &Env{Stack: s}
	defer func() {
		if err != nil {
			err = errors.Join(err, e.Close())
		}
	}()
	// stack.Start set PUBSUB_EMULATOR_HOST; the storage client reads this one.
	if err := os.Setenv("STORAGE_EMULATOR_HOST", s.StorageHost); err != nil {
		return nil, err
	}
	if e.PubSub, err = pubsub.NewClient(ctx, s.ProjectID); err != nil {
		return nil, fmt.Errorf("pubsub client: %w", err)
	}
	if e.Storage, err = storage.NewClient(ctx); err != nil {
		return nil, fmt.Errorf("storage client: %w", err)
	}
	if err := e.upload(ctx, cfg.Objects, cfg.ObjectSize); err != nil {
		return nil, err
	}
	return e, nil
}

// upload writes n objects of size bytes, each with distinct content.
func (e *Env) upload(ctx context.Context, n, size int) error {
	castagnoli := crc32.MakeTable(crc32.Castagnoli)
	data := make([]byte, size)
	for i := range n {
		for j := range data {
			data[j] = byte(i*31 + j*7)
		}
		name := fmt.Sprintf("corpus/%06d", i)
		w := e.Storage.Bucket(SourceBucket).Object(name).NewWriter(ctx)
		w.ChunkSize = 0 // one request; no 16 MiB buffer
		if _, err := w.Write(data); err != nil {
			return fmt.Errorf("upload %s: %w", name, err)
		}
		if err := w.Close(); err != nil {
			return fmt.Errorf("upload %s: %w", name, err)
		}
		sum := md5.Sum(data)
		e.Events = append(e.Events, notify.Event{
			Type:       notify.Finalize,
			Bucket:     SourceBucket,
			Name:       name,
			Generation: w.Attrs().Generation,
			Size:       int64(size),
			CRC32C:     crc32.Checksum(data, castagnoli),
			HasCRC32C:  true,
			MD5:        sum[:],
		})
	}
	return nil
}

// Queue creates topic id and one subscription per name in subs, without dead-lettering.
func (e *Env) Queue(ctx context.Context, id string, subs ...string) error {
	topic := "projects/" + e.Stack.ProjectID + "/topics/" + id
	if _, err := e.PubSub.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topic}); err != nil {
		return fmt.Errorf("create topic %s: %w", id, err)
	}
	for _, sub := range subs {
		_, err := e.PubSub.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
			Name:               "projects/" + e.Stack.ProjectID + "/subscriptions/" + sub,
			Topic:              topic,
			AckDeadlineSeconds: 600,
		})
		if err != nil {
			return fmt.Errorf("create subscription %s: %w", sub, err)
		}
	}
	return nil
}

// Publisher publishes corpus messages to one topic, cycling through the objects.
type Publisher struct {
	e    *Env
	pub  *pubsub.Publisher
	sent int64
}

// Publisher returns a publisher to topic id. Stop it when done.
func (e *Env) Publisher(id string) *Publisher {
	pub := e.PubSub.Publisher(id)
	pub.PublishSettings.CountThreshold = 1000
	pub.PublishSettings.DelayThreshold = 10 * time.Millisecond
	return &Publisher{e: e, pub: pub}
}

// Sent returns how many messages have been published.
func (p *Publisher) Sent() int64 { return p.sent }

// Publish publishes n more messages and waits until the server has accepted them all.
func (p *Publisher) Publish(ctx context.Context, n int64) error {
	results := make([]*pubsub.PublishResult, 0, n)
	for range n {
		ev := p.e.Events[p.sent%int64(len(p.e.Events))]
		attrs, data := notify.Encode(ev)
		results = append(results, p.pub.Publish(ctx, &pubsub.Message{Attributes: attrs, Data: data}))
		p.sent++
	}
	for _, r := range results {
		if _, err := r.Get(ctx); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
	}
	return nil
}

// Stop flushes and stops the publisher.
func (p *Publisher) Stop() { p.pub.Stop() }

// ChildEnv returns the environment for a consumer process: this one's, with the
// emulator variables pointing at the stack (storage at storageHost if not empty).
func (e *Env) ChildEnv(storageHost string) []string {
	if storageHost == "" {
		storageHost = e.Stack.StorageHost
	}
	env := make([]string, 0, len(os.Environ())+2)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PUBSUB_EMULATOR_HOST=") && !strings.HasPrefix(kv, "STORAGE_EMULATOR_HOST=") {
			env = append(env, kv)
		}
	}
	return append(env, "PUBSUB_EMULATOR_HOST="+e.Stack.PubSubHost, "STORAGE_EMULATOR_HOST="+storageHost)
}

// Close stops the clients and the stack.
func (e *Env) Close() error {
	var errs []error
	if e.Storage != nil {
		errs = append(errs, e.Storage.Close())
	}
	if e.PubSub != nil {
		errs = append(errs, e.PubSub.Close())
	}
	errs = append(errs, e.Stack.Close())
	return errors.Join(errs...)
}
