package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/storage"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/sluice-dev/sluice/pkg/notify"
	"github.com/sluice-dev/sluice/pkg/process"
)

// ackResultTimeout bounds the wait for an exactly-once ack's confirmation. On other
// subscriptions the result is immediate.
const ackResultTimeout = 10 * time.Second

// consumerSpan starts each message's span as a consumer's. It is built once: an option
// built per message is an allocation per message.
var consumerSpan = trace.WithSpanKind(trace.SpanKindConsumer)

// handle runs one message through its stages and settles it. It blocks until the message
// is acknowledged or nacked. work is cancelled only when a drain overruns.
func (w *Worker) handle(work context.Context, m *pubsub.Message) {
	w.handlers.Add(1)
	defer w.handlers.Done()
	start := time.Now()
	w.stats.begin()
	ctx := otel.GetTextMapPropagator().Extract(work, propagation.MapCarrier(m.Attributes))
	ctx, span := w.deps.Tracer.Start(ctx, "sluice.handle", consumerSpan,
		trace.WithAttributes(attribute.String("messaging.message.id", m.ID)))
	// Attributes are built only for a span that records them: with no tracer provider
	// every span is a no-op, and each SetAttributes call would still allocate its list.
	recording := span.IsRecording()
	defer span.End()

	ev, res := w.decode(m)
	var read int64
	if res.outcome == "" {
		if recording {
			span.SetAttributes(
				attribute.String("gcs.bucket", ev.Bucket),
				attribute.String("gcs.object", ev.Name),
				attribute.Int64("gcs.generation", ev.Generation),
			)
		}
		octx, cancel := context.WithTimeout(ctx, w.cfg.ObjectTimeout)
		var err error
		read, err = w.read(octx, &ev)
		res = classify(err)
		cancel()
		if res.outcome == Failed && work.Err() != nil {
			res.reason = reasonAbandoned
		}
	}
	if recording {
		span.SetAttributes(attribute.String("sluice.outcome", string(res.outcome)))
	}
	if res.outcome == Failed || res.outcome == Rejected {
		span.SetStatus(codes.Error, res.reason)
		if res.err != nil {
			span.RecordError(res.err)
		}
	}
	w.settle(ctx, m, &res)

	s := Settlement{
		Outcome: res.outcome, Reason: res.reason, Event: ev, MessageID: m.ID,
		PublishTime: m.PublishTime, Duration: time.Since(start), BytesRead: read, Err: res.err,
	}
	if m.DeliveryAttempt != nil {
		s.Attempt = *m.DeliveryAttempt
	}
	w.stats.end(res.outcome)
	w.logSettled(ctx, s)
	if w.deps.Observer != nil {
		w.deps.Observer.Settled(ctx, s)
	}
}

// decode turns m into an event. It returns a zero outcome when the event is to be
// processed, and the final result otherwise.
func (w *Worker) decode(m *pubsub.Message) (notify.Event, result) {
	ev, err := notify.Decode(m.Attributes, m.Data)
	if err == nil {
		err = checkName(ev.Name)
	}
	if err != nil {
		return ev, classify(err)
	}
	if reason := ev.SkipReason(); reason != "" {
		return ev, result{outcome: Skipped, reason: reason}
	}
	return ev, result{}
}

// read opens the object at the event's generation and runs the processor on it. It
// returns the bytes the processor read.
func (w *Worker) read(ctx context.Context, ev *notify.Event) (int64, error) {
	ctx, span := w.deps.Tracer.Start(ctx, "sluice.read_and_process")
	defer span.End()
	// With a size from the payload the object waits for the byte budget before it opens a
	// connection; without one, it opens first and waits with the stored size (an Attrs
	// call first would double the requests of every attribute-only message).
	var adm admission
	if ev.Size >= 0 {
		var err error
		if adm, err = w.admitObject(ctx, ev.Size); err != nil {
			return 0, err
		}
	}
	defer func() { adm.release() }()

	obj := w.deps.Storage.Bucket(ev.Bucket).Object(ev.Name).ReadCompressed(true)
	if ev.Generation > 0 {
		obj = obj.Generation(ev.Generation)
	}
	r, err := obj.NewReader(ctx)
	if errors.Is(err, storage.ErrObjectNotExist) {
		return 0, w.gone(ctx, ev)
	}
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", ev.Key(), err)
	}
	defer r.Close()
	if ev.Size < 0 {
		// adm must stay releasable: the deferred call above runs on this return too.
		a, err := w.admitObject(ctx, r.Attrs.Size)
		if err != nil {
			return 0, err
		}
		adm = a
	}
	w.stats.reading.Add(r.Attrs.Size)
	defer w.stats.reading.Add(-r.Attrs.Size)

	if ev.Generation == 0 {
		ev.Generation = r.Attrs.Generation
	}
	body := &countingReader{r: r}
	err = w.deps.Processor.Process(ctx, &process.Object{
		Event:           *ev,
		Size:            r.Attrs.Size,
		ContentType:     r.Attrs.ContentType,
		ContentEncoding: r.Attrs.ContentEncoding,
		CRC32C:          r.Attrs.CRC32C,
		HasCRC32C:       r.Attrs.CRC32C != 0 || r.Attrs.Size == 0,
		Body:            body,
		Worker:          w.cfg.WorkerID,
	})
	w.stats.bytesRead.Add(body.n)
	if span.IsRecording() {
		span.SetAttributes(attribute.Int64("gcs.bytes_read", body.n))
	}
	return body.n, err
}

// gone explains a missing object generation: superseded if a newer generation is live,
// gone (deleted) otherwise.
func (w *Worker) gone(ctx context.Context, ev *notify.Event) error {
	if ev.Generation == 0 {
		return fmt.Errorf("%s: %w", ev.Key(), errObjectGone)
	}
	attrs, err := w.deps.Storage.Bucket(ev.Bucket).Object(ev.Name).Attrs(ctx)
	switch {
	case errors.Is(err, storage.ErrObjectNotExist):
		return fmt.Errorf("%s: %w", ev.Key(), errObjectGone)
	case err != nil:
		return fmt.Errorf("stat %s: %w", ev.Key(), err)
	case attrs.Generation > ev.Generation:
		return fmt.Errorf("%s: live generation is %d: %w", ev.Key(), attrs.Generation, process.ErrSuperseded)
	default:
		// An older live generation means the read raced a restore or the listing was
		// stale: retry rather than guess.
		return fmt.Errorf("%s: not found, live generation %d", ev.Key(), attrs.Generation)
	}
}

// settle acknowledges or nacks m according to res, dead-lettering rejected messages
// first. It may turn a rejection into a failure, if the dead letter cannot be published.
func (w *Worker) settle(work context.Context, m *pubsub.Message, res *result) {
	if res.outcome == Rejected && w.deps.DeadLetter != nil {
		if err := w.deadLetter(work, m, *res); err != nil {
			// Without its dead letter, acknowledging would lose the message.
			*res = result{Failed, "dead-letter publish failed", fmt.Errorf("%w (rejected because: %v)", err, res.err)}
		} else {
			w.stats.deadLetter.Add(1)
		}
	}

	if res.outcome.Acks() {
		w.ack(work, m)
		return
	}
	m.Nack()
	w.stats.nacked.Add(1)
	if res.reason == reasonAbandoned {
		w.stats.abandoned.Add(1)
	}
}

// ack acknowledges m and, on exactly-once subscriptions, waits for the service to
// confirm. An unconfirmed ack is counted and logged: the message will come back, and its
// idempotent output makes the second attempt a duplicate.
func (w *Worker) ack(work context.Context, m *pubsub.Message) {
	status, err := ackResult(work, m.AckWithResult())
	if err == nil && status == pubsub.AcknowledgeStatusSuccess {
		w.stats.acked.Add(1)
		return
	}
	w.stats.ackFailed.Add(1)
	w.log.Warn("ack not committed, expect redelivery",
		"message_id", m.ID, "ack_status", int(status), "err", err)
}

// ackResult returns the outcome of an ack. On subscriptions without exactly-once
// delivery the result is ready as the ack is sent, so no timer is started for it.
func ackResult(work context.Context, r *pubsub.AckResult) (pubsub.AcknowledgeStatus, error) {
	select {
	case <-r.Ready():
		// Get returns a ready result whatever the context.
		return r.Get(work)
	default:
	}
	// The wait must outlive an abandoned drain: the ack is sent either way, and only the
	// service's answer says whether it counted.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(work), ackResultTimeout)
	defer cancel()
	return r.Get(ctx)
}

// logSettled logs one settled message: at Debug when all went to plan, at Warn when it
// was rejected or will be retried.
func (w *Worker) logSettled(ctx context.Context, s Settlement) {
	level := slog.LevelDebug
	if s.Outcome == Rejected || s.Outcome == Failed {
		level = slog.LevelWarn
	}
	if !w.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("message_id", s.MessageID),
		slog.String("bucket", s.Event.Bucket),
		slog.String("object", strconv.Quote(s.Event.Name)),
		slog.Int64("generation", s.Event.Generation),
		slog.String("outcome", string(s.Outcome)),
		slog.Duration("duration", s.Duration),
	}
	if s.Attempt > 0 {
		attrs = append(attrs, slog.Int("attempt", s.Attempt))
	}
	if s.Reason != "" {
		attrs = append(attrs, slog.String("reason", s.Reason))
	}
	if s.Err != nil {
		attrs = append(attrs, slog.String("err", s.Err.Error()))
	}
	w.log.LogAttrs(ctx, level, "message settled", attrs...)
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
