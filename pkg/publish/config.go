package publish

import (
	"errors"
	"time"

	"cloud.google.com/go/pubsub/v2"
)

// Config tunes a Publisher. The zero value works.
type Config struct {
	// Attempts is how many times a message is sent before it counts as failed. 0 means
	// 3. Each attempt is itself retried by the client library on transient gRPC errors
	// until the publish timeout, so 3 rides out minutes of trouble.
	Attempts int
	// Backoff is the wait before the second attempt, doubled for each one after. 0 means
	// 1 s.
	Backoff time.Duration
	// Rate caps messages per second. 0 or negative means no cap.
	Rate float64
	// MaxOutstanding bounds the messages sent but not yet confirmed; Publish blocks at
	// the bound. 0 means 10,000: at ~1,000 messages a request that keeps ~10 requests in
	// flight, enough to hide a round trip of 50 ms at 20,000 messages/s, while holding
	// only ~5 MB of ~500-byte messages. Lower costs throughput, higher costs memory.
	MaxOutstanding int
	// Waiters is how many goroutines wait on results. 0 means 32. Results complete in
	// batches, so a few waiters keep up; more only matter while retries sleep.
	Waiters int
	// Attributes are added to every message, e.g. trace context.
	Attributes map[string]string
	// Settled, when set, is called exactly once for each message Publish accepted, once
	// its outcome is final: id is the server's message ID and err nil when published,
	// err the last error when every attempt failed. It is called from several goroutines
	// at once.
	Settled func(m Message, id string, err error)
	// Observer, when set, is told of every settled message before Settled, for metrics.
	Observer Observer
}

func (c *Config) setDefaults() {
	if c.Attempts == 0 {
		c.Attempts = 3
	}
	if c.Backoff == 0 {
		c.Backoff = time.Second
	}
	if c.MaxOutstanding == 0 {
		c.MaxOutstanding = 10_000
	}
	if c.Waiters == 0 {
		c.Waiters = 32
	}
}

// Validate reports a setting that cannot work.
func (c Config) Validate() error {
	switch {
	case c.Attempts < 0:
		return errors.New("publish: negative attempts")
	case c.Backoff < 0:
		return errors.New("publish: negative backoff")
	case c.MaxOutstanding < 0:
		return errors.New("publish: negative max outstanding")
	case c.Waiters < 0:
		return errors.New("publish: negative waiters")
	}
	return nil
}

// settings returns the client library's publish settings for c. Batches are as large as
// Pub/Sub takes (1,000 messages or ~10 MB a request) because per-request cost dominates
// at this message size; the 50 ms delay bounds latency when the input trickles. Flow
// control blocks: the library's default would buffer without limit.
func (c Config) settings() pubsub.PublishSettings {
	s := pubsub.DefaultPublishSettings
	s.CountThreshold = pubsub.MaxPublishRequestCount
	s.ByteThreshold = 9 << 20
	s.DelayThreshold = 50 * time.Millisecond
	s.FlowControlSettings = pubsub.FlowControlSettings{
		MaxOutstandingMessages: c.MaxOutstanding,
		MaxOutstandingBytes:    -1,
		LimitExceededBehavior:  pubsub.FlowControlBlock,
	}
	return s
}
