package telemetry

import (
	"context"
	"errors"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"google.golang.org/api/googleapi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sluice-dev/sluice/pkg/worker"
)

// meterName names the instrumentation scope of Sluice's own metrics.
const meterName = "github.com/sluice-dev/sluice"

// Attribute keys of Sluice's metrics. Every value comes from a bounded set: never an
// object name, a message ID or an error text.
const (
	// KeyOutcome is how a message was settled: one of worker.Outcomes.
	KeyOutcome = attribute.Key("sluice.outcome")
	// KeyReason is the outcome's short cause, "" for processed messages.
	KeyReason = attribute.Key("sluice.reason")
	// KeySettlement is what was sent to Pub/Sub: ack, nack or dead_letter (published to
	// the dead-letter topic, then acked).
	KeySettlement = attribute.Key("sluice.settlement")
	// KeyRetried says whether the storage client retried after an error.
	KeyRetried = attribute.Key("sluice.retried")
)

// Settlements, the values of KeySettlement.
const (
	SettleAck        = "ack"
	SettleNack       = "nack"
	SettleDeadLetter = "dead_letter"
)

// Histogram bounds in seconds. Processing runs from milliseconds (a small object) to
// ObjectTimeout (10m by default); the end-to-end latency also holds the time a message
// waited in the backlog, which in a backfill reaches hours. Buckets past the largest
// bound land in +Inf, so too small a top bound hides the tail; each extra bound costs
// one series per label set.
var (
	durationBounds = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}
	latencyBounds  = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400}
)

// WorkerConfig describes the worker a WorkerMetrics observes.
type WorkerConfig struct {
	// Subscription is the subscription ID, the messaging.destination.subscription.name
	// of every series.
	Subscription string
	// DeadLetter reports whether rejected messages are published to a dead-letter
	// topic, which makes their settlement dead_letter rather than ack.
	DeadLetter bool
}

// WorkerMetrics records a worker's messages as OpenTelemetry metrics. It implements
// worker.Observer; it is safe for concurrent use, and Settled does not block.
type WorkerMetrics struct {
	cfg    WorkerConfig
	meter  metric.Meter
	common []attribute.KeyValue

	settled       metric.Int64Counter
	duration      metric.Float64Histogram
	latency       metric.Float64Histogram
	bytesRead     metric.Int64Counter
	bytesWritten  metric.Int64Counter
	storageErrors metric.Int64Counter
}

var _ worker.Observer = (*WorkerMetrics)(nil)

// NewWorkerMetrics creates the worker's instruments from mp. Pass it as
// worker.Deps.Observer, then call Watch with the worker for the gauges.
func NewWorkerMetrics(mp metric.MeterProvider, cfg WorkerConfig) (*WorkerMetrics, error) {
	m := &WorkerMetrics{
		cfg:   cfg,
		meter: mp.Meter(meterName),
		common: []attribute.KeyValue{
			semconv.MessagingSystemGCPPubSub,
			semconv.MessagingDestinationSubscriptionName(cfg.Subscription),
		},
	}
	var errs [6]error
	m.settled, errs[0] = m.meter.Int64Counter("sluice.messages.settled",
		metric.WithUnit("{message}"),
		metric.WithDescription("Messages settled, by outcome, reason and what was sent to Pub/Sub."))
	m.duration, errs[1] = m.meter.Float64Histogram("messaging.process.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Time from receiving a message to settling it."),
		metric.WithExplicitBucketBoundaries(durationBounds...))
	m.latency, errs[2] = m.meter.Float64Histogram("sluice.message.latency",
		metric.WithUnit("s"),
		metric.WithDescription("Time from a message's publication to its acknowledgement."),
		metric.WithExplicitBucketBoundaries(latencyBounds...))
	m.bytesRead, errs[3] = m.meter.Int64Counter("sluice.object.read",
		metric.WithUnit("By"),
		metric.WithDescription("Object bytes read by processors."))
	m.storageErrors, errs[4] = m.meter.Int64Counter("sluice.storage.errors",
		metric.WithUnit("{error}"),
		metric.WithDescription("Failed Cloud Storage calls as the client saw them, retried ones included, "+
			"by HTTP status or gRPC code (transport for connection errors)."))
	m.bytesWritten, errs[5] = m.meter.Int64Counter("sluice.object.written",
		metric.WithUnit("By"),
		metric.WithDescription("Output bytes processors committed to Cloud Storage."))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	return m, nil
}

// Written records n output bytes committed; pass it as output.Writer.OnWritten.
func (m *WorkerMetrics) Written(n int64) {
	m.bytesWritten.Add(context.Background(), n, metric.WithAttributes(m.common...))
}

// Settled records one settled message.
func (m *WorkerMetrics) Settled(ctx context.Context, s worker.Settlement) {
	outcome := KeyOutcome.String(string(s.Outcome))
	common := metric.WithAttributes(append(m.common[:len(m.common):len(m.common)], outcome)...)

	m.settled.Add(ctx, 1, metric.WithAttributes(append(m.common[:len(m.common):len(m.common)],
		outcome, KeyReason.String(s.Reason), KeySettlement.String(m.settlement(s.Outcome)))...))
	m.duration.Record(ctx, s.Duration.Seconds(), common)
	if s.Outcome.Acks() && !s.PublishTime.IsZero() {
		m.latency.Record(ctx, time.Since(s.PublishTime).Seconds(), common)
	}
	if s.BytesRead > 0 {
		m.bytesRead.Add(ctx, s.BytesRead, metric.WithAttributes(m.common...))
	}
}

// StorageRetry wraps the storage client's retry decision so that every failed call
// attempt is counted by code, with whether decide retried it. Install it once at start:
//
//	gcs.SetRetry(storage.WithErrorFunc(metrics.StorageRetry(storage.ShouldRetry)))
//
// A fault the client absorbed by retrying then shows as an error here, though the
// message it belonged to succeeded.
func (m *WorkerMetrics) StorageRetry(decide func(error) bool) func(error) bool {
	return func(err error) bool {
		retry := decide(err)
		code := storageCode(err)
		if code == "" {
			if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				// Our own deadline or cancellation, not the service's answer.
				return retry
			}
			code = "transport"
		}
		m.storageErrors.Add(context.Background(), 1, metric.WithAttributes(
			append(m.common[:len(m.common):len(m.common)], semconv.ErrorTypeKey.String(code), KeyRetried.Bool(retry))...))
		return retry
	}
}

func (m *WorkerMetrics) settlement(o worker.Outcome) string {
	switch {
	case !o.Acks():
		return SettleNack
	case o == worker.Rejected && m.cfg.DeadLetter:
		// The worker turns a rejection whose dead letter failed into Failed, so a
		// Rejected outcome here was dead-lettered.
		return SettleDeadLetter
	default:
		return SettleAck
	}
}

// storageCode returns the HTTP status or gRPC code of a Cloud Storage error in err's
// chain, or "" when it holds none.
func storageCode(err error) string {
	if err == nil {
		return ""
	}
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		if gerr.Code == 0 {
			return ""
		}
		if gerr.Code < 100 || gerr.Code > 599 {
			return "other"
		}
		return strconv.Itoa(gerr.Code)
	}
	if st, ok := status.FromError(err); ok && st.Code() != codes.OK && st.Code() != codes.Unknown {
		return st.Code().String()
	}
	return ""
}

// Source is what Watch reads: a *worker.Worker.
type Source interface {
	Stats() *worker.Stats
	Config() worker.Config
}

// Watch registers the gauges and cumulative counts read from w at each collection:
// messages received, in flight, object bytes being read, capacity and utilization
// (in flight / capacity, a scaling signal that is current at every scrape, unlike the
// subscription's backlog metric in Cloud Monitoring, which lags by minutes). Unregister
// the returned registration to stop.
func (m *WorkerMetrics) Watch(w Source) (metric.Registration, error) {
	var (
		errs                                  [5]error
		received, inFlight, reading, capacity metric.Int64Observable
		util                                  metric.Float64Observable
	)
	received, errs[0] = m.meter.Int64ObservableCounter("messaging.client.consumed.messages",
		metric.WithUnit("{message}"),
		metric.WithDescription("Messages delivered to the worker, redeliveries included."))
	inFlight, errs[1] = m.meter.Int64ObservableUpDownCounter("sluice.messages.in_flight",
		metric.WithUnit("{message}"),
		metric.WithDescription("Messages received and not yet settled."))
	reading, errs[2] = m.meter.Int64ObservableUpDownCounter("sluice.object.in_flight",
		metric.WithUnit("By"),
		metric.WithDescription("Size of the objects being read now."))
	capacity, errs[3] = m.meter.Int64ObservableUpDownCounter("sluice.worker.capacity",
		metric.WithUnit("{message}"),
		metric.WithDescription("Messages the worker holds at most (MaxOutstandingMessages)."))
	util, errs[4] = m.meter.Float64ObservableGauge("sluice.worker.utilization",
		metric.WithUnit("1"),
		metric.WithDescription("Messages in flight divided by capacity."))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	attrs := metric.WithAttributes(m.common...)
	return m.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		snap := w.Stats().Snapshot()
		limit := int64(w.Config().MaxOutstandingMessages)
		o.ObserveInt64(received, snap.Received, attrs)
		o.ObserveInt64(inFlight, snap.InFlight, attrs)
		o.ObserveInt64(reading, snap.ReadingBytes, attrs)
		o.ObserveInt64(capacity, limit, attrs)
		if limit > 0 {
			o.ObserveFloat64(util, float64(snap.InFlight)/float64(limit), attrs)
		}
		return nil
	}, received, inFlight, reading, capacity, util)
}
