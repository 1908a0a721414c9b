package worker

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"cloud.google.com/go/pubsub/v2"
)

// Dead-letter attributes added to the original message's own.
const (
	AttrDeadLetterReason  = "sluice_reason"
	AttrDeadLetterError   = "sluice_error"
	AttrDeadLetterMessage = "sluice_message_id"
	AttrDeadLetterWorker  = "sluice_worker"
	// AttrDeadLetterTrimmed is "true" when original attributes had to be cut to fit
	// Pub/Sub's limits; the message's data is always kept whole.
	AttrDeadLetterTrimmed = "sluice_trimmed"
)

// Pub/Sub's limits on attributes (cloud.google.com/pubsub/quotas#resource_limits): 100
// attributes a message, keys up to 256 bytes, values up to 1024 bytes. A message that
// arrived within them can exceed them once ours are added, and a dead letter that
// cannot be published leaves its message nacked forever.
const (
	maxAttrs     = 100
	maxAttrKey   = 256
	maxAttrValue = 1024
	// maxErrorAttr bounds the error text copied into AttrDeadLetterError.
	maxErrorAttr = 512
)

// deadLetter publishes a copy of m, with the reason attributes, to the dead-letter topic
// and waits for the service to accept it.
func (w *Worker) deadLetter(ctx context.Context, m *pubsub.Message, res result) error {
	msg := ""
	if res.err != nil {
		msg = res.err.Error()
	}
	attrs := deadLetterAttrs(m.Attributes, map[string]string{
		AttrDeadLetterReason:  res.reason,
		AttrDeadLetterError:   truncate(msg, maxErrorAttr),
		AttrDeadLetterMessage: m.ID,
		AttrDeadLetterWorker:  w.cfg.WorkerID,
	})
	ctx, cancel := context.WithTimeout(ctx, deadLetterTimeout)
	defer cancel()
	if _, err := w.deps.DeadLetter.Publish(ctx, &pubsub.Message{Data: m.Data, Attributes: attrs}).Get(ctx); err != nil {
		return fmt.Errorf("publish to dead-letter topic: %w", err)
	}
	return nil
}

// deadLetterAttrs returns the original attributes plus ours, within Pub/Sub's limits:
// keys too long are dropped, values too long truncated, and original attributes dropped
// (in key order, from the end) until ours fit.
func deadLetterAttrs(orig, ours map[string]string) map[string]string {
	attrs := make(map[string]string, len(orig)+len(ours)+1)
	trimmed := false
	var keys []string
	for k, v := range orig {
		if len(k) > maxAttrKey {
			trimmed = true
			continue
		}
		if len(v) > maxAttrValue {
			v, trimmed = truncate(v, maxAttrValue), true
		}
		attrs[k] = v
		keys = append(keys, k)
	}
	if room := maxAttrs - len(ours) - 1; len(keys) > room {
		slices.Sort(keys)
		for _, k := range keys[room:] {
			delete(attrs, k)
		}
		trimmed = true
	}
	for k, v := range ours {
		attrs[k] = v
	}
	if trimmed {
		attrs[AttrDeadLetterTrimmed] = "true"
	}
	return attrs
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// deadLetterTimeout bounds the dead-letter publish of one rejected message. Past it the
// message is nacked instead, and rejected again on redelivery.
const deadLetterTimeout = 30 * time.Second
