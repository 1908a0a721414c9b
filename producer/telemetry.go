package main

import (
	"context"
	"log/slog"
	"path"
	"time"

	"github.com/sluice-dev/sluice/pkg/telemetry"
)

// otlpEnabled reports whether signal (METRICS or TRACES) is to be exported over OTLP,
// as the OpenTelemetry specification defines it: when OTEL_EXPORTER_OTLP_ENDPOINT or
// its per-signal form is set, unless OTEL_<signal>_EXPORTER is "none".
func (e env) otlpEnabled(endpoint, exporter string) bool {
	return exporter != "none" && (e.OTLPEndpoint != "" || endpoint != "")
}

// startTelemetry installs the OpenTelemetry providers for one run and returns the
// producer's metrics and a function that flushes them (and the run's span) to OTLP.
// Without an OTLP endpoint nothing is exported: the summary reports the same figures.
func startTelemetry(ctx context.Context, e env, topic string, log *slog.Logger) (*telemetry.ProducerMetrics, func(), error) {
	tel, err := telemetry.New(ctx, telemetry.Config{
		ServiceName: "sluice-producer",
		OTLPMetrics: e.otlpEnabled(e.OTLPMetricsEndpoint, e.MetricsExporter),
		OTLPTraces:  e.otlpEnabled(e.OTLPTracesEndpoint, e.TracesExporter),
	})
	if err != nil {
		return nil, nil, err
	}
	flush := func() {
		// A short job exits right after: this is the last chance to push.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := tel.Shutdown(ctx); err != nil {
			log.Warn("telemetry not flushed", "err", err)
		}
	}
	m, err := telemetry.NewProducerMetrics(tel.MeterProvider(), telemetry.ProducerConfig{Topic: path.Base(topic)})
	if err != nil {
		flush()
		return nil, nil, err
	}
	return m, flush, nil
}
