// Package telemetry sets up OpenTelemetry for a Sluice process: a MeterProvider whose
// metrics are served in Prometheus format (for GKE Managed Prometheus) and, when asked,
// pushed over OTLP; a TracerProvider that exports over OTLP when asked; Go runtime and
// process metrics; and the W3C propagator that carries trace context in message
// attributes.
//
// The OpenTelemetry SDK reads the standard variables itself: OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES (resource), OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG
// (sampling), OTEL_METRIC_EXPORT_INTERVAL (push interval), and every
// OTEL_EXPORTER_OTLP_* variable (endpoint, headers, TLS, timeout). Whether to export over
// OTLP at all is the caller's decision, in Config, so that a binary reads its switches
// in one place.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/instrumentation/runtime"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Config chooses what a process exports. The zero value serves metrics for Prometheus
// only and records spans without exporting them (their IDs still reach the logs).
type Config struct {
	// ServiceName is the resource's service.name, unless OTEL_SERVICE_NAME sets one.
	// Default "sluice".
	ServiceName string
	// InstanceID is the resource's service.instance.id, such as the pod name. Default
	// none.
	InstanceID string
	// OTLPMetrics pushes metrics over OTLP/gRPC to the endpoint the OTEL_EXPORTER_OTLP_*
	// variables name, as well as serving them for Prometheus.
	OTLPMetrics bool
	// OTLPTraces exports spans over OTLP/gRPC to the endpoint the OTEL_EXPORTER_OTLP_*
	// variables name.
	OTLPTraces bool
	// SpanExporter, if set, also receives every ended span, synchronously: meant for
	// tests (tracetest.InMemoryExporter).
	SpanExporter sdktrace.SpanExporter
}

// Telemetry holds a process's providers. Create it with New, once per process, and
// call Shutdown before exit to flush what is buffered.
type Telemetry struct {
	meters   *sdkmetric.MeterProvider
	tracers  *sdktrace.TracerProvider
	registry *prometheus.Registry
}

// New builds the providers and installs them, with the W3C trace-context and baggage
// propagator, as the OpenTelemetry globals: the Pub/Sub and Storage clients find their
// tracer there, and the worker extracts message trace context with the global
// propagator. It starts the Go runtime instrumentation.
func New(ctx context.Context, cfg Config) (*Telemetry, error) {
	res, err := newResource(ctx, cfg)
	if err != nil {
		return nil, err
	}

	reg := prometheus.NewRegistry()
	// RSS, open files and CPU time of the process: the OpenTelemetry runtime
	// instrumentation reports the Go heap, not what the kernel charges the container.
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, fmt.Errorf("register process collector: %w", err)
	}
	promExp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo())
	if err != nil {
		return nil, fmt.Errorf("prometheus exporter: %w", err)
	}
	mopts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(promExp)}
	if cfg.OTLPMetrics {
		exp, err := otlpmetricgrpc.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("otlp metric exporter: %w", err)
		}
		mopts = append(mopts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
	}
	t := &Telemetry{meters: sdkmetric.NewMeterProvider(mopts...), registry: reg}

	topts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if cfg.OTLPTraces {
		exp, err := otlptracegrpc.New(ctx)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("otlp trace exporter: %w", err), t.meters.Shutdown(ctx))
		}
		topts = append(topts, sdktrace.WithBatcher(exp))
	}
	if cfg.SpanExporter != nil {
		topts = append(topts, sdktrace.WithSyncer(cfg.SpanExporter))
	}
	t.tracers = sdktrace.NewTracerProvider(topts...)

	if err := runtime.Start(runtime.WithMeterProvider(t.meters)); err != nil {
		return nil, errors.Join(fmt.Errorf("runtime metrics: %w", err), t.Shutdown(ctx))
	}
	otel.SetMeterProvider(t.meters)
	otel.SetTracerProvider(t.tracers)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(
		propagation.TraceContext{}, propagation.Baggage{},
	))
	return t, nil
}

func newResource(ctx context.Context, cfg Config) (*resource.Resource, error) {
	name := cfg.ServiceName
	if name == "" {
		name = "sluice"
	}
	attrs := []attribute.KeyValue{semconv.ServiceName(name)}
	if cfg.InstanceID != "" {
		attrs = append(attrs, semconv.ServiceInstanceID(cfg.InstanceID))
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attrs...),
		resource.WithTelemetrySDK(),
		// Last, so OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override the above.
		resource.WithFromEnv(),
	)
	if err != nil {
		return nil, fmt.Errorf("telemetry resource: %w", err)
	}
	return res, nil
}

// MeterProvider returns the provider every instrument of the process should come from.
func (t *Telemetry) MeterProvider() metric.MeterProvider { return t.meters }

// TracerProvider returns the provider every span of the process should come from.
func (t *Telemetry) TracerProvider() trace.TracerProvider { return t.tracers }

// MetricsHandler serves the metrics in Prometheus text format, for GET /metrics. It
// gathers on each request; it is safe for concurrent use.
func (t *Telemetry) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{})
}

// Shutdown flushes buffered spans and metrics to their exporters and stops the
// providers. It blocks until done or ctx ends; call it once, after the work has stopped.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	var errs []error
	if t.tracers != nil {
		errs = append(errs, t.tracers.Shutdown(ctx))
	}
	errs = append(errs, t.meters.Shutdown(ctx))
	return errors.Join(errs...)
}
