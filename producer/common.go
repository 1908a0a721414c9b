package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sluice-dev/sluice/pkg/publish"
	"github.com/sluice-dev/sluice/pkg/tracecontext"
)

// publishFlags are the flags every publishing command takes.
type publishFlags struct {
	project, topic string
	failures       string
	dryRun         bool
	rate           float64
	attempts       int
	progress       time.Duration
}

func (f *publishFlags) register(fs *flag.FlagSet, e env) {
	fs.StringVar(&f.project, "project", e.Project, "Google Cloud project of the topic (default $SLUICE_PROJECT)")
	fs.StringVar(&f.topic, "topic", e.Topic, "topic ID or projects/P/topics/T (default $SLUICE_TOPIC)")
	fs.StringVar(&f.failures, "failures", "producer-failures.jsonl",
		"file that collects objects whose publish failed, as JSON lines; producer publish --input takes it back")
	fs.BoolVar(&f.dryRun, "dry-run", false, "count objects and bytes, publish nothing")
	fs.Float64Var(&f.rate, "rate", 0, "at most this many messages per second (0: no limit)")
	fs.IntVar(&f.attempts, "attempts", 3, "publish attempts per message before it counts as failed")
	fs.DurationVar(&f.progress, "progress", 5*time.Second,
		"interval of progress log lines when stderr is not a terminal (0: none)")
}

func (f *publishFlags) validate() error {
	switch {
	case f.dryRun:
		return nil
	case f.topic == "":
		return errors.New("no topic: set --topic or SLUICE_TOPIC")
	case f.attempts < 1:
		return errors.New("--attempts must be at least 1")
	}
	return nil
}

func (f *publishFlags) topicName() string {
	if strings.Contains(f.topic, "/") {
		return f.topic
	}
	return "projects/" + f.project + "/topics/" + f.topic
}

// openTopic checks that the topic exists and returns its publisher. A caller allowed
// to publish but not to read topic metadata skips the check.
func openTopic(ctx context.Context, c *pubsub.Client, name string) (*pubsub.Publisher, error) {
	_, err := c.TopicAdminClient.GetTopic(ctx, &pubsubpb.GetTopicRequest{Topic: name})
	switch status.Code(err) {
	case codes.OK, codes.PermissionDenied:
	case codes.NotFound:
		return nil, fmt.Errorf("topic %s does not exist", name)
	default:
		return nil, fmt.Errorf("get topic %s: %w", name, err)
	}
	return c.Publisher(name), nil
}

// startTrace starts the run's span and returns the attributes that carry its context
// on every message, so each worker span joins this trace. Without a configured tracer
// provider the span is a no-op; a random span context then still ties the messages of
// one run together, and its trace ID is logged.
func startTrace(ctx context.Context, name string) (context.Context, trace.Span, map[string]string) {
	ctx, span := otel.Tracer("github.com/sluice-dev/sluice/producer").Start(ctx, name)
	if !span.SpanContext().IsValid() {
		var tid trace.TraceID
		var sid trace.SpanID
		rand.Read(tid[:])
		rand.Read(sid[:])
		sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})
		ctx = trace.ContextWithSpanContext(ctx, sc)
	}
	attrs := map[string]string{}
	tracecontext.Inject(ctx, attrs)
	return ctx, span, attrs
}

func (f *publishFlags) publishConfig(attrs map[string]string) publish.Config {
	return publish.Config{Attempts: f.attempts, Rate: f.rate, Attributes: attrs}
}

// logStart logs the resolved configuration once.
func logStart(log *slog.Logger, command string, attrs ...any) {
	log.Info("start", append([]any{"command", command}, attrs...)...)
}

func traceIDOf(ctx context.Context) string {
	return trace.SpanContextFromContext(ctx).TraceID().String()
}

// openSink builds the sink a command publishes through: on a dry run one that publishes
// nothing; otherwise one on the topic pf names, through the process's only Pub/Sub
// client, built here. closeSink stops the publisher and closes the client.
func openSink(ctx context.Context, pf publishFlags, cfg sinkConfig, log *slog.Logger) (s *sink, closeSink func(), err error) {
	if pf.dryRun {
		s, err = newSink(nil, cfg, log)
		return s, func() {}, err
	}
	client, err := newPubsub(ctx, pf.project)
	if err != nil {
		return nil, nil, err
	}
	topic, err := openTopic(ctx, client, pf.topicName())
	if err != nil {
		client.Close()
		return nil, nil, err
	}
	closeSink = func() {
		topic.Stop()
		client.Close()
	}
	if s, err = newSink(topic, cfg, log); err != nil {
		closeSink()
		return nil, nil, err
	}
	return s, closeSink, nil
}
