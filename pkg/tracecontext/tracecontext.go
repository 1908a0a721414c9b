// Package tracecontext carries W3C trace context (traceparent, tracestate) in Pub/Sub
// message attributes, so that a worker's span joins the trace of the producer that
// published the message.
package tracecontext

import (
	"context"

	"go.opentelemetry.io/otel/propagation"
)

// propagator speaks only W3C Trace Context: the attributes it reads and writes are
// traceparent and tracestate, as https://www.w3.org/TR/trace-context/ names them.
var propagator = propagation.TraceContext{}

// Carrier adapts message attributes to propagation.TextMapCarrier. A nil Carrier can be
// read but not written.
type Carrier map[string]string

// Get returns the attribute named key, or "".
func (c Carrier) Get(key string) string { return c[key] }

// Set sets the attribute named key.
func (c Carrier) Set(key, value string) { c[key] = value }

// Keys lists the attribute names.
func (c Carrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// Inject writes the span context of ctx into attrs. It writes nothing when ctx holds no
// valid span context.
func Inject(ctx context.Context, attrs map[string]string) {
	propagator.Inject(ctx, Carrier(attrs))
}

// Extract returns ctx with the remote span context that attrs carry, if any. A message
// without (or with a malformed) traceparent yields ctx unchanged.
func Extract(ctx context.Context, attrs map[string]string) context.Context {
	return propagator.Extract(ctx, Carrier(attrs))
}
