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

	"github.com/sluice-dev/sluice/pkg/notify"
	"github.com/sluice-dev/sluice/pkg/process"
)

// Dead-letter attributes added to the original message's own.
const (
	AttrDeadLetterReason  = "sluice_reason"
	AttrDeadLetterError   = "sluice_error"
	AttrDeadLetterMessage = "sluice_message_id"
	AttrDeadLetterWorker  = "sluice_worker"
)

// maxErrorAttr bounds the error text copied into a dead-letter attribute; Pub/Sub limits
// attribute values to 1024 bytes.
const maxErrorAttr = 512

// handle runs one message through its stages and settles it. It blocks until the message
// is acknowledged or nacked. work is cancelled only when a drain overruns.
func (w *Worker) handle(work context.Context, m *pubsub.Message) {
	start := time.Now()
	w.stats.begin()

	ev, res := w.decode(m)
	if res.outcome == "" {
		ctx, cancel := context.WithTimeout(work, w.cfg.ObjectTimeout)
		res = classify(w.read(ctx, &ev))
		cancel()
	}
	w.settle(work, m, ev, res, time.Since(start))
}

// decode turns m into an event. It returns a zero outcome when the event is to be
// processed, and the final result otherwise.
func (w *Worker) decode(m *pubsub.Message) (notify.Event, result) {
	ev, err := notify.Decode(m.Attributes, m.Data)
	if err != nil {
		return ev, classify(err)
	}
	if reason := ev.SkipReason(); reason != "" {
		return ev, result{outcome: Skipped, reason: reason}
	}
	return ev, result{}
}

// read opens the object at the event's generation and runs the processor on it.
func (w *Worker) read(ctx context.Context, ev *notify.Event) error {
	obj := w.deps.Storage.Bucket(ev.Bucket).Object(ev.Name).ReadCompressed(true)
	if ev.Generation > 0 {
		obj = obj.Generation(ev.Generation)
	}
	r, err := obj.NewReader(ctx)
	if errors.Is(err, storage.ErrObjectNotExist) {
		return w.gone(ctx, ev)
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", ev.Key(), err)
	}
	defer r.Close()

	if ev.Generation == 0 {
		ev.Generation = r.Attrs.Generation
	}
	body := &countingReader{r: r}
	defer func() { w.stats.bytesRead.Add(body.n) }()
	return w.deps.Processor.Process(ctx, &process.Object{
		Event:           *ev,
		Size:            r.Attrs.Size,
		ContentType:     r.Attrs.ContentType,
		ContentEncoding: r.Attrs.ContentEncoding,
		CRC32C:          r.Attrs.CRC32C,
		HasCRC32C:       r.Attrs.CRC32C != 0 || r.Attrs.Size == 0,
		Body:            body,
		Worker:          w.cfg.WorkerID,
	})
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
// first, and records the outcome.
func (w *Worker) settle(work context.Context, m *pubsub.Message, ev notify.Event, res result, elapsed time.Duration) {
	if res.outcome == Rejected && w.deps.DeadLetter != nil {
		if err := w.deadLetter(work, m, res); err != nil {
			// Without its dead letter, acknowledging would lose the message.
			res = result{Failed, "dead-letter publish failed", fmt.Errorf("%w (rejected because: %v)", err, res.err)}
		} else {
			w.stats.deadLetter.Add(1)
		}
	}

	if res.outcome.Acks() {
		w.ack(work, m)
	} else {
		m.Nack()
	}
	w.stats.end(res.outcome)
	w.logSettled(m, ev, res, elapsed)
}

// ack acknowledges m and, on exactly-once subscriptions, waits for the service to
// confirm. An unconfirmed ack is counted and logged: the message will come back, and its
// idempotent output makes the second attempt a duplicate.
func (w *Worker) ack(work context.Context, m *pubsub.Message) {
	status, err := m.AckWithResult().Get(work)
	if err == nil && status == pubsub.AcknowledgeStatusSuccess {
		return
	}
	w.stats.ackFailed.Add(1)
	w.log.Warn("ack not committed, expect redelivery",
		"message_id", m.ID, "ack_status", int(status), "err", err)
}

func (w *Worker) deadLetter(ctx context.Context, m *pubsub.Message, res result) error {
	attrs := make(map[string]string, len(m.Attributes)+4)
	for k, v := range m.Attributes {
		attrs[k] = v
	}
	msg := ""
	if res.err != nil {
		msg = res.err.Error()
	}
	if len(msg) > maxErrorAttr {
		msg = msg[:maxErrorAttr]
	}
	attrs[AttrDeadLetterReason] = res.reason
	attrs[AttrDeadLetterError] = msg
	attrs[AttrDeadLetterMessage] = m.ID
	attrs[AttrDeadLetterWorker] = w.cfg.WorkerID
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := w.deps.DeadLetter.Publish(ctx, &pubsub.Message{Data: m.Data, Attributes: attrs}).Get(ctx); err != nil {
		return fmt.Errorf("publish to dead-letter topic: %w", err)
	}
	return nil
}

func (w *Worker) logSettled(m *pubsub.Message, ev notify.Event, res result, elapsed time.Duration) {
	level := slog.LevelDebug
	switch res.outcome {
	case Rejected:
		level = slog.LevelWarn
	case Failed:
		level = slog.LevelWarn
	}
	if !w.log.Enabled(context.Background(), level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("message_id", m.ID),
		slog.String("bucket", ev.Bucket),
		slog.String("object", strconv.Quote(ev.Name)),
		slog.Int64("generation", ev.Generation),
		slog.String("outcome", string(res.outcome)),
		slog.Duration("duration", elapsed),
	}
	if m.DeliveryAttempt != nil {
		attrs = append(attrs, slog.Int("attempt", *m.DeliveryAttempt))
	}
	if res.reason != "" {
		attrs = append(attrs, slog.String("reason", res.reason))
	}
	if res.err != nil {
		attrs = append(attrs, slog.String("err", res.err.Error()))
	}
	w.log.LogAttrs(context.Background(), level, "message settled", attrs...)
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
