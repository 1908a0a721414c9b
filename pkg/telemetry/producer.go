package telemetry

import (
	"context"
	"errors"
	"math"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sluice-dev/sluice/pkg/publish"
)

// ProducerConfig describes the producer run a ProducerMetrics observes.
type ProducerConfig struct {
	// Topic is the topic ID, the messaging.destination.name of every series.
	Topic string
}

// ProducerMetrics records a producer's objects and publishes as OpenTelemetry metrics,
// following the messaging semantic conventions where they have a name:
// messaging.client.sent.messages and messaging.client.operation.duration, both with
// error.type (the gRPC code) on failed messages; and sluice.producer.listed for the
// objects a listing or an input list handed to publishing. It implements
// publish.Observer. It also keeps a latency sketch of its own, for the summary a short
// job prints when nothing exports its metrics. It is safe for concurrent use and does
// not block.
type ProducerMetrics struct {
	common []attribute.KeyValue

	listed   metric.Int64Counter
	sent     metric.Int64Counter
	duration metric.Float64Histogram
	sketch   latencySketch
}

var _ publish.Observer = (*ProducerMetrics)(nil)

// NewProducerMetrics creates the producer's instruments from mp.
func NewProducerMetrics(mp metric.MeterProvider, cfg ProducerConfig) (*ProducerMetrics, error) {
	meter := mp.Meter(meterName)
	m := &ProducerMetrics{common: []attribute.KeyValue{
		semconv.MessagingSystemGCPPubSub,
		semconv.MessagingDestinationName(cfg.Topic),
		semconv.MessagingOperationName("send"),
		semconv.MessagingOperationTypeSend,
	}}
	var errs [3]error
	m.listed, errs[0] = meter.Int64Counter("sluice.producer.listed",
		metric.WithUnit("{object}"),
		metric.WithDescription("Objects listed or read from the input and handed to publishing."))
	m.sent, errs[1] = meter.Int64Counter("messaging.client.sent.messages",
		metric.WithUnit("{message}"),
		metric.WithDescription("Messages settled: published, or failed every attempt (with error.type)."))
	m.duration, errs[2] = meter.Float64Histogram("messaging.client.operation.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Time from handing a message to the client library to its final "+
			"result, retries included."),
		metric.WithExplicitBucketBoundaries(durationBounds...))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	return m, nil
}

// Listed counts n objects handed to publishing.
func (m *ProducerMetrics) Listed(n int64) {
	m.listed.Add(context.Background(), n, metric.WithAttributes(m.common[:2]...))
}

// Settled records one settled message.
func (m *ProducerMetrics) Settled(r publish.Result) {
	attrs := m.common
	if r.Err != nil {
		attrs = append(attrs[:len(attrs):len(attrs)], semconv.ErrorTypeKey.String(errorType(r.Err)))
	}
	opt := metric.WithAttributes(attrs...)
	m.sent.Add(context.Background(), 1, opt)
	m.duration.Record(context.Background(), r.Duration.Seconds(), opt)
	m.sketch.record(r.Duration)
}

// Latency returns the count and the 50th and 99th percentiles of the publish durations
// recorded so far, within 1% (see latencySketch).
func (m *ProducerMetrics) Latency() (n int64, p50, p99 time.Duration) {
	return m.sketch.n.Load(), m.sketch.quantile(0.5), m.sketch.quantile(0.99)
}

// errorType is the bounded error.type of a publish error: its gRPC code, or _OTHER.
func errorType(err error) string {
	if st, ok := status.FromError(err); ok && st.Code() != codes.OK && st.Code() != codes.Unknown {
		return st.Code().String()
	}
	return semconv.ErrorTypeOther.Value.AsString()
}

// The latency sketch counts durations in logarithmic buckets: bucket i holds
// [sketchMin*sketchGrowth^i, sketchMin*sketchGrowth^(i+1)). A growth of 1.02 reports a
// quantile within 1% of the truth (the bucket's geometric middle) over 100 µs to about
// 4 h in 1,024 buckets (8 KiB); a finer growth costs buckets, a coarser one precision.
const (
	sketchMin     = 100 * time.Microsecond
	sketchGrowth  = 1.02
	sketchBuckets = 1024
)

// latencySketch is a fixed-size, lock-free histogram for quantiles. The zero value is
// empty and ready.
type latencySketch struct {
	counts [sketchBuckets]atomic.Int64
	n      atomic.Int64
}

func (s *latencySketch) record(d time.Duration) {
	i := 0
	if d > sketchMin {
		i = int(math.Log(float64(d)/float64(sketchMin)) / math.Log(sketchGrowth))
	}
	s.counts[min(i, sketchBuckets-1)].Add(1)
	s.n.Add(1)
}

// quantile returns the duration at quantile q (0 < q <= 1), 0 when nothing was
// recorded. Records racing with it may or may not be counted.
func (s *latencySketch) quantile(q float64) time.Duration {
	rank := max(1, int64(math.Ceil(q*float64(s.n.Load()))))
	var seen int64
	for i := range s.counts {
		seen += s.counts[i].Load()
		if seen >= rank {
			return time.Duration(float64(sketchMin) * math.Pow(sketchGrowth, float64(i)+0.5))
		}
	}
	return 0
}
