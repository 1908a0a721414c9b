package publish

import (
	"context"
	"fmt"
	"maps"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"golang.org/x/time/rate"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sluice-dev/sluice/pkg/notify"
)

// Message is one event to publish. Seq is the caller's tag, handed back to Settled.
type Message struct {
	Event notify.Event
	Seq   uint64
}

// Result is the final outcome of one message, as an Observer sees it.
type Result struct {
	// Duration runs from handing the message to the client library (after any --rate
	// wait, so flow control, batching and every retry are in it) to its final result.
	Duration time.Duration
	// Attempts is how many times the message was sent.
	Attempts int
	// Err is nil when the message was published, else the last attempt's error.
	Err error
}

// Observer receives the Result of every message a Publisher settles. Settled is called
// from several goroutines at once and must not block.
type Observer interface {
	Settled(Result)
}

// Counts tallies outcomes.
type Counts struct {
	// Published messages were confirmed by the server.
	Published int64
	// Failed messages failed every attempt and went to Settled with their error.
	Failed int64
	// Retries counts attempts after the first, over all messages.
	Retries int64
}

// Publisher publishes Messages through a *pubsub.Publisher. Publish is safe for
// concurrent use; Close must be called once, after the last Publish.
type Publisher struct {
	topic   *pubsub.Publisher
	cfg     Config
	limiter *rate.Limiter
	pending chan inflight
	wg      sync.WaitGroup

	published, failed, retries atomic.Int64
}

// inflight is a message and the result of its current attempt.
type inflight struct {
	m       Message
	msg     *pubsub.Message
	result  *pubsub.PublishResult
	attempt int
	start   time.Time // when the first attempt was handed to the library
}

// New returns a Publisher over topic, replacing topic's PublishSettings with ones tuned
// for throughput whose flow control blocks. topic must not have published yet; the
// caller still owns it and calls its Stop after Close.
func New(topic *pubsub.Publisher, cfg Config) (*Publisher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	topic.PublishSettings = cfg.settings()

	p := &Publisher{
		topic: topic,
		cfg:   cfg,
		// Results beyond MaxOutstanding cannot exist: the library's flow control holds
		// Publish until older ones complete, so this buffer never blocks for long.
		pending: make(chan inflight, cfg.MaxOutstanding),
	}
	if cfg.Rate > 0 {
		// A burst of a twentieth of a second keeps the rate smooth at any setting.
		burst := int(math.Max(1, math.Ceil(cfg.Rate/20)))
		p.limiter = rate.NewLimiter(rate.Limit(cfg.Rate), burst)
	}
	for range cfg.Waiters {
		p.wg.Go(p.wait)
	}
	return p, nil
}

// Publish sends m. It blocks while the rate cap or flow control hold it back. It returns
// an error only when ctx ends first, and then m was not sent and Settled is not called
// for it; otherwise Settled reports m's outcome later.
func (p *Publisher) Publish(ctx context.Context, m Message) error {
	if p.limiter != nil {
		if err := p.limiter.Wait(ctx); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	attrs, data := notify.Encode(m.Event)
	maps.Copy(attrs, p.cfg.Attributes)
	msg := &pubsub.Message{Data: data, Attributes: attrs}
	start := time.Now()
	res := p.topic.Publish(ctx, msg)
	if ctx.Err() != nil {
		// Cancelled while flow control held the message: the library fails it without
		// sending it. That is not a publish failure: the message was never accepted.
		select {
		case <-res.Ready():
			if _, err := res.Get(context.Background()); err != nil {
				return fmt.Errorf("publish: %w", ctx.Err())
			}
		default:
		}
	}
	p.pending <- inflight{m: m, msg: msg, result: res, attempt: 1, start: start}
	return nil
}

// wait settles results until Close.
func (p *Publisher) wait() {
	for f := range p.pending {
		p.await(f)
	}
}

// await waits for f's result, retrying as configured, and settles it.
func (p *Publisher) await(f inflight) {
	backoff := p.cfg.Backoff
	for {
		// Results are awaited without a deadline: the library's publish timeout
		// bounds each attempt.
		id, err := f.result.Get(context.Background())
		if err == nil || f.attempt >= p.cfg.Attempts || !retryable(err) {
			p.settle(f, id, err)
			return
		}
		time.Sleep(backoff)
		backoff *= 2
		f.attempt++
		p.retries.Add(1)
		f.result = p.topic.Publish(context.Background(), f.msg)
	}
}

func (p *Publisher) settle(f inflight, id string, err error) {
	if err != nil {
		p.failed.Add(1)
	} else {
		p.published.Add(1)
	}
	if p.cfg.Observer != nil {
		p.cfg.Observer.Settled(Result{Duration: time.Since(f.start), Attempts: f.attempt, Err: err})
	}
	if p.cfg.Settled != nil {
		p.cfg.Settled(f.m, id, err)
	}
}

// retryable reports whether another attempt could succeed: not when the topic is
// missing, access is denied or the message is malformed.
func retryable(err error) bool {
	switch status.Code(err) {
	case codes.NotFound, codes.PermissionDenied, codes.InvalidArgument,
		codes.Unauthenticated, codes.FailedPrecondition:
		return false
	}
	return true
}

// Close flushes what is batched and blocks until every accepted message has settled. It
// returns the final counts.
func (p *Publisher) Close() Counts {
	p.topic.Flush()
	close(p.pending)
	p.wg.Wait()
	return p.Counts()
}

// Counts returns the counts so far. It is safe to call at any time.
func (p *Publisher) Counts() Counts {
	return Counts{
		Published: p.published.Load(),
		Failed:    p.failed.Load(),
		Retries:   p.retries.Load(),
	}
}
