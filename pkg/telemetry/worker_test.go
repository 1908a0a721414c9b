package telemetry_test

import (
	"bufio"
	"bytes"
	"cloud.google.com/go/storage"
	"context"
	"encoding/json"
	"errors"
	"github.com/sluice-dev/sluice/pkg/output"
	"google.golang.org/api/iterator"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sluice-dev/sluice/deploy/local/stack"
	"github.com/sluice-dev/sluice/internal/stacktest"
	"github.com/sluice-dev/sluice/pkg/checksum"
	"github.com/sluice-dev/sluice/pkg/health"
	"github.com/sluice-dev/sluice/pkg/logging"
	"github.com/sluice-dev/sluice/pkg/notify"
	"github.com/sluice-dev/sluice/pkg/process"
	"github.com/sluice-dev/sluice/pkg/publish"
	"github.com/sluice-dev/sluice/pkg/telemetry"
	"github.com/sluice-dev/sluice/pkg/tracecontext"
	"github.com/sluice-dev/sluice/pkg/worker"
)

const (
	inBucket  = "in"
	outBucket = "out"
)

// TestWorkerTelemetry runs a worker on the local stack over a known set of messages and
// checks what an operator would see: exact counts on /metrics, the trace of one message
// from its producer span through the worker's spans, Cloud Logging JSON lines linked to
// that trace, and the probes flipping as the worker starts and drains.
func TestWorkerTelemetry(t *testing.T) {
	env := stacktest.Start(t, stack.Config{Buckets: []string{inBucket, outBucket}})
	spans := tracetest.NewInMemoryExporter()
	tel, err := telemetry.New(context.Background(), telemetry.Config{ServiceName: "sluice-test", SpanExporter: spans})
	if err != nil {
		t.Fatalf("telemetry.New: %v", err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })

	// The known set: 3 processed (one of them traced from a producer span, one held in
	// the processor until the drain has begun), 1 duplicate, 2 skipped, 1 rejected.
	objects := map[string][]byte{"a.txt": []byte("alpha"), "b.txt": []byte("bravo!"), "slow.txt": []byte("held")}
	gens := map[string]int64{}
	for name, data := range objects {
		gens[name] = env.Upload(t, inBucket, name, data).Generation
	}
	producerSpan, tracedID := publishTraced(t, env, tel, notify.Event{
		Type: notify.Finalize, Bucket: inBucket, Name: "a.txt", Generation: gens["a.txt"], Size: -1,
	})
	for _, ev := range []notify.Event{
		{Type: notify.Finalize, Bucket: inBucket, Name: "b.txt", Generation: gens["b.txt"], Size: -1},
		{Type: notify.Finalize, Bucket: inBucket, Name: "slow.txt", Generation: gens["slow.txt"], Size: -1},
		{Type: notify.Finalize, Bucket: inBucket, Name: "b.txt", Generation: gens["b.txt"], Size: -1, Source: notify.SourceBackfill},
		{Type: notify.Delete, Bucket: inBucket, Name: "a.txt", Generation: gens["a.txt"], Size: -1},
		{Type: notify.MetadataUpdate, Bucket: inBucket, Name: "a.txt", Generation: gens["a.txt"], Size: -1},
	} {
		attrs, data := notify.Encode(ev)
		env.Publish(t, attrs, data)
	}
	env.Publish(t, map[string]string{"x": "y"}, nil) // no event attributes: rejected

	obs, err := telemetry.NewWorkerMetrics(tel.MeterProvider(), telemetry.WorkerConfig{
		Subscription: env.Subscription, DeadLetter: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	results, err := checksum.New(env.Storage, checksum.Config{
		Bucket: outBucket, Prefix: "results/", Writer: output.Writer{OnWritten: obs.Written},
	})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	proc := process.Func(func(ctx context.Context, obj *process.Object) error {
		if obj.Event.Name == "slow.txt" {
			<-release
		}
		return results.Process(ctx, obj)
	})

	var logs syncBuffer
	dl := env.PubSub.Publisher(env.DeadLetterTopic)
	defer dl.Stop()
	w, err := worker.New(worker.Config{MaxOutstandingMessages: 4, DrainTimeout: 10 * time.Second}, worker.Deps{
		Subscriber: env.PubSub.Subscriber(env.Subscription),
		Storage:    env.Storage,
		Processor:  proc,
		DeadLetter: dl,
		Log:        slog.New(logging.NewHandler(&logs, logging.Config{Level: slog.LevelDebug, ProjectID: env.ProjectID})),
		Observer:   obs,
		Tracer:     tel.TracerProvider().Tracer("github.com/sluice-dev/sluice/pkg/worker"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := obs.Watch(w); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", health.Handler(w))
	mux.Handle("GET /metrics", tel.MetricsHandler())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	probe(t, srv, "/readyz", http.StatusServiceUnavailable) // before Run
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	// Everything but the held message settles; the held one stays in flight.
	waitFor(t, "6 messages settled", func() bool { return settled(w) == 6 && w.Stats().Snapshot().InFlight == 1 })
	probe(t, srv, "/readyz", http.StatusOK)
	probe(t, srv, "/healthz", http.StatusOK)
	if got := gauge(t, scrape(t, srv), "sluice_worker_utilization_ratio", nil); got != 0.25 {
		t.Errorf("utilization with 1 of 4 in flight = %v, want 0.25", got)
	}

	cancel()
	waitFor(t, "readyz to fail in the drain", func() bool { return status(t, srv, "/readyz") == http.StatusServiceUnavailable })
	probe(t, srv, "/healthz", http.StatusOK) // draining is not stuck
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	probe(t, srv, "/readyz", http.StatusServiceUnavailable)

	if testing.Verbose() {
		dumpMetrics(t, srv)
	}
	checkMetrics(t, scrape(t, srv), int64(len("alpha")+len("bravo!")+len("held")+len("bravo!")),
		outputBytes(t, env))
	handle := checkTrace(t, spans.GetSpans(), producerSpan, tracedID, gens["a.txt"])
	checkLogs(t, logs.String(), env.ProjectID, handle, tracedID)
}

// publishTraced publishes ev as the producer does, inside a producer span whose context
// pkg/publish adds to the message's attributes. It returns the span's context and the
// message ID.
func publishTraced(t *testing.T, env *stacktest.Env, tel *telemetry.Telemetry, ev notify.Event) (trace.SpanContext, string) {
	t.Helper()
	ctx, span := tel.TracerProvider().Tracer("producer").Start(context.Background(), "producer publish",
		trace.WithSpanKind(trace.SpanKindProducer))
	attrs := map[string]string{}
	tracecontext.Inject(ctx, attrs)
	var id string
	p, err := publish.New(env.Topic, publish.Config{Attributes: attrs, Settled: func(_ publish.Message, got string, err error) {
		if err != nil {
			t.Errorf("publish: %v", err)
		}
		id = got
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(ctx, publish.Message{Event: ev}); err != nil {
		t.Fatal(err)
	}
	p.Close()
	span.End()
	return span.SpanContext(), id
}

// outputBytes sums the sizes of the records the worker wrote.
func outputBytes(t *testing.T, env *stacktest.Env) int64 {
	t.Helper()
	var n int64
	it := env.Storage.Bucket(outBucket).Objects(context.Background(), &storage.Query{Prefix: "results/"})
	for {
		a, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		n += a.Size
	}
}

func checkMetrics(t *testing.T, m []sample, bytesRead, bytesWritten int64) {
	t.Helper()
	counts := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"messaging_client_consumed_messages_total", map[string]string{"messaging_system": "gcp_pubsub"}, 7},
		{"sluice_messages_settled_total", map[string]string{"sluice_outcome": "processed", "sluice_settlement": "ack"}, 3},
		{"sluice_messages_settled_total", map[string]string{"sluice_outcome": "duplicate", "sluice_reason": "output exists", "sluice_settlement": "ack"}, 1},
		{"sluice_messages_settled_total", map[string]string{"sluice_outcome": "skipped", "sluice_reason": "event type OBJECT_DELETE"}, 1},
		{"sluice_messages_settled_total", map[string]string{"sluice_outcome": "skipped", "sluice_reason": "event type OBJECT_METADATA_UPDATE"}, 1},
		{"sluice_messages_settled_total", map[string]string{"sluice_outcome": "rejected", "sluice_reason": "invalid message", "sluice_settlement": "dead_letter"}, 1},
		{"sluice_messages_settled_total", map[string]string{"sluice_settlement": "nack"}, 0},
		{"messaging_process_duration_seconds_count", nil, 7},
		{"sluice_message_latency_seconds_count", nil, 7},
		{"sluice_object_read_bytes_total", nil, float64(bytesRead)},
		{"sluice_object_written_bytes_total", nil, float64(bytesWritten)},
		{"sluice_messages_in_flight", nil, 0},
		{"sluice_object_in_flight_bytes", nil, 0},
		{"sluice_worker_capacity", nil, 4},
		{"sluice_worker_utilization_ratio", nil, 0},
		{"sluice_storage_errors_total", nil, 0},
	}
	for _, c := range counts {
		if got := sum(m, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	for _, name := range []string{"go_memory_used_bytes", "go_goroutine_count", "process_resident_memory_bytes", "go_memory_gc_goal_bytes"} {
		if !has(m, name) {
			t.Errorf("no %s on /metrics", name)
		}
	}
	for _, s := range m {
		for k, v := range s.labels {
			if strings.Contains(v, ".txt") {
				t.Errorf("%s has an object name in label %s=%q", s.name, k, v)
			}
		}
	}
}

// checkTrace finds the worker's spans for message id and checks that they continue the
// producer's trace. It returns the worker's handle span.
func checkTrace(t *testing.T, spans tracetest.SpanStubs, producer trace.SpanContext, id string, gen int64) tracetest.SpanStub {
	t.Helper()
	var handle tracetest.SpanStub
	for _, s := range spans {
		for _, a := range s.Attributes {
			if s.Name == "sluice.handle" && a.Key == "messaging.message.id" && a.Value.AsString() == id {
				handle = s
			}
		}
	}
	if handle.Name == "" {
		t.Fatalf("no sluice.handle span for message %s among %d spans", id, len(spans))
	}
	if handle.SpanContext.TraceID() != producer.TraceID() || handle.Parent.SpanID() != producer.SpanID() {
		t.Errorf("handle span trace %s parent %s, want trace %s parent %s (the producer span)",
			handle.SpanContext.TraceID(), handle.Parent.SpanID(), producer.TraceID(), producer.SpanID())
	}
	if handle.SpanKind != trace.SpanKindConsumer {
		t.Errorf("handle span kind %v, want consumer", handle.SpanKind)
	}
	want := map[string]string{"gcs.bucket": inBucket, "gcs.object": "a.txt", "gcs.generation": strconv.FormatInt(gen, 10), "sluice.outcome": "processed"}
	for _, a := range handle.Attributes {
		if w, ok := want[string(a.Key)]; ok {
			if got := a.Value.String(); got != w {
				t.Errorf("handle span %s = %q, want %q", a.Key, got, w)
			}
			delete(want, string(a.Key))
		}
	}
	if len(want) > 0 {
		t.Errorf("handle span lacks attributes %v", want)
	}
	var child bool
	for _, s := range spans {
		if s.Name == "sluice.read_and_process" && s.Parent.SpanID() == handle.SpanContext.SpanID() {
			child = s.SpanContext.TraceID() == producer.TraceID()
		}
	}
	if !child {
		t.Errorf("no sluice.read_and_process span under the handle span in the producer's trace")
	}
	return handle
}

// checkLogs parses every line as JSON and checks the settled line of the traced message.
func checkLogs(t *testing.T, logs, project string, handle tracetest.SpanStub, id string) {
	t.Helper()
	var found bool
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, sc.Bytes())
		}
		if line["severity"] == nil || line["message"] == nil {
			t.Errorf("log line lacks severity or message: %s", sc.Bytes())
		}
		if line["message"] != "message settled" || line["message_id"] != id {
			continue
		}
		found = true
		want := map[string]any{
			"severity":              "DEBUG",
			"bucket":                inBucket,
			"object":                `"a.txt"`,
			"outcome":               "processed",
			logging.KeyTrace:        "projects/" + project + "/traces/" + handle.SpanContext.TraceID().String(),
			logging.KeySpanID:       handle.SpanContext.SpanID().String(),
			logging.KeyTraceSampled: true,
		}
		for k, v := range want {
			if line[k] != v {
				t.Errorf("settled line %s = %v, want %v", k, line[k], v)
			}
		}
		for _, k := range []string{"generation", "duration", "time"} {
			if line[k] == nil {
				t.Errorf("settled line lacks %s: %s", k, sc.Bytes())
			}
		}
	}
	if !found {
		t.Errorf("no settled line for message %s in:\n%s", id, logs)
	}
}

func settled(w *worker.Worker) int64 {
	var n int64
	for _, c := range w.Stats().Snapshot().Outcomes {
		n += c
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 30s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func status(t *testing.T, srv *httptest.Server, path string) int {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func probe(t *testing.T, srv *httptest.Server, path string, want int) {
	t.Helper()
	if got := status(t, srv, path); got != want {
		t.Errorf("GET %s = %d, want %d", path, got, want)
	}
}

// syncBuffer is a bytes.Buffer safe for the worker's concurrent log writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var _ io.Writer = (*syncBuffer)(nil)
