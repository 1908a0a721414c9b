package main

import (
	"context"
	"errors"
	"fmt"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/storage"

	"github.com/sluice-dev/sluice/pkg/checksum"
	"github.com/sluice-dev/sluice/pkg/gzipcopy"
	"github.com/sluice-dev/sluice/pkg/health"
	"github.com/sluice-dev/sluice/pkg/logging"
	"github.com/sluice-dev/sluice/pkg/memlimit"
	"github.com/sluice-dev/sluice/pkg/output"
	"github.com/sluice-dev/sluice/pkg/process"
	"github.com/sluice-dev/sluice/pkg/telemetry"
	"github.com/sluice-dev/sluice/pkg/worker"
)

// run builds the worker's clients once, runs it until ctx is cancelled and it has
// drained, and closes everything. Logs go to logw.
func run(ctx context.Context, logw io.Writer) error {
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	log := newLogger(logw, cfg)
	log.Info("starting", "config", cfg)
	tel, err := telemetry.New(ctx, telemetry.Config{
		ServiceName: "sluice-worker", InstanceID: cfg.WorkerID,
		OTLPMetrics: cfg.OTLPMetrics, OTLPTraces: cfg.OTLPTraces,
	})
	if err != nil {
		return err
	}
	defer shutdownTelemetry(tel, log)

	// The only Google Cloud clients this process builds.
	ps, err := pubsub.NewClient(ctx, cfg.Project)
	if err != nil {
		return fmt.Errorf("pubsub client: %w", err)
	}
	defer ps.Close()
	gcs, err := storage.NewClient(ctx)
	if err != nil {
		return fmt.Errorf("storage client: %w", err)
	}
	defer gcs.Close()

	subName := fmt.Sprintf("projects/%s/subscriptions/%s", cfg.Project, cfg.Subscription)
	if err := checkSubscription(ctx, ps, subName); err != nil {
		return err
	}
	metrics, err := telemetry.NewWorkerMetrics(tel.MeterProvider(), telemetry.WorkerConfig{
		Subscription: cfg.Subscription, DeadLetter: cfg.DeadLetterTopic != "",
	})
	if err != nil {
		return err
	}
	// Every failed storage attempt is counted, the ones the client retries included.
	gcs.SetRetry(storage.WithErrorFunc(metrics.StorageRetry(storage.ShouldRetry)))
	proc, err := newProcessor(gcs, cfg, metrics.Written)
	if err != nil {
		return err
	}
	deps := worker.Deps{
		Subscriber: ps.Subscriber(subName),
		Storage:    gcs,
		Processor:  proc,
		Log:        log,
	}
	if cfg.DeadLetterTopic != "" {
		if err := checkTopic(ctx, ps, cfg.Project, cfg.DeadLetterTopic, log); err != nil {
			return err
		}
		dl := ps.Publisher(cfg.DeadLetterTopic)
		defer dl.Stop()
		deps.DeadLetter = dl
	}
	wcfg := workerConfig(cfg)
	mem := memlimit.Detect()
	wcfg.MemoryLimit = mem.Bytes
	log.Info("memory limit", "limit", mem.String(), "cgroup_limit", mem.Cgroup)
	deps.Observer = metrics
	w, err := worker.New(wcfg, deps)
	if err != nil {
		return err
	}
	if _, err := metrics.Watch(w); err != nil {
		return err
	}

	if cfg.HTTPAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("/", health.Handler(w))
		mux.Handle("GET /metrics", tel.MetricsHandler())
		stopHTTP, err := serveHTTP(cfg.HTTPAddr, mux, log)
		if err != nil {
			return err
		}
		defer stopHTTP()
	}

	err = w.Run(ctx)
	log.Info("stopped", "stats", w.Stats().Snapshot(), "err", err)
	return err
}

func workerConfig(cfg config) worker.Config {
	return worker.Config{
		MaxOutstandingMessages: cfg.MaxOutstandingMessages,
		MaxOutstandingBytes:    cfg.MaxOutstandingBytes,
		Streams:                cfg.Streams,
		ObjectTimeout:          cfg.ObjectTimeout,
		DrainTimeout:           cfg.DrainTimeout,
		ShutdownGrace:          cfg.ShutdownGrace,
		MaxInFlightBytes:       cfg.MaxInFlightBytes,
		ObjectBuffer:           int64(cfg.WriteChunkMax),
		MaxExtension:           cfg.MaxExtension,
		MaxExtensionPeriod:     cfg.MaxExtensionPeriod,
		WorkerID:               cfg.WorkerID,
	}
}

// newProcessor builds the configured processor; written is told the size of every output
// it commits.
func newProcessor(gcs *storage.Client, cfg config, written func(int64)) (process.Processor, error) {
	wr := output.Writer{MaxChunk: cfg.WriteChunkMax, OnWritten: written}
	switch cfg.Processor {
	case "gzip":
		return gzipcopy.New(gcs, gzipcopy.Config{
			Bucket: cfg.OutputBucket, Prefix: cfg.OutputPrefix, Level: cfg.GzipLevel, Writer: wr,
		})
	default:
		return checksum.New(gcs, checksum.Config{
			Bucket: cfg.OutputBucket, Prefix: cfg.OutputPrefix, Writer: wr,
		})
	}
}

// checkSubscription fails fast, with a clear error, when the subscription is missing or
// unreadable, instead of letting Receive retry forever.
func checkSubscription(ctx context.Context, ps *pubsub.Client, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err := ps.SubscriptionAdminClient.GetSubscription(ctx, &pubsubpb.GetSubscriptionRequest{Subscription: name})
	if err != nil {
		return fmt.Errorf("subscription %s: %w", name, err)
	}
	return nil
}

// checkTopic fails fast when the dead-letter topic does not exist: with a misspelt
// topic every rejection would fail to publish and be nacked forever. A worker allowed to
// publish but not to read topics (roles/pubsub.publisher alone) gets PermissionDenied:
// that is logged, and the first dead letter will tell.
func checkTopic(ctx context.Context, ps *pubsub.Client, project, topic string, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	name := fmt.Sprintf("projects/%s/topics/%s", project, topic)
	_, err := ps.TopicAdminClient.GetTopic(ctx, &pubsubpb.GetTopicRequest{Topic: name})
	switch status.Code(err) {
	case codes.OK:
		return nil
	case codes.PermissionDenied:
		log.Warn("cannot check the dead-letter topic; continuing", "topic", name, "err", err)
		return nil
	default:
		return fmt.Errorf("dead-letter topic %s: %w", name, err)
	}
}

// serveHTTP serves h on addr in the background and returns a function that stops it.
func serveHTTP(addr string, h http.Handler, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server", "err", err)
		}
	}()
	log.Info("serving health and metrics", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

func newLogger(w io.Writer, cfg config) *slog.Logger {
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: cfg.LogLevel}))
	}
	return slog.New(logging.NewHandler(w, logging.Config{Level: cfg.LogLevel, ProjectID: cfg.Project}))
}

// shutdownTelemetry flushes spans and metrics still buffered for OTLP.
func shutdownTelemetry(tel *telemetry.Telemetry, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tel.Shutdown(ctx); err != nil {
		log.Warn("telemetry shutdown", "err", err)
	}
}
