package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/trace"

	"github.com/sluice-dev/sluice/pkg/logging"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var (
	traceID, _ = trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	spanID, _  = trace.SpanIDFromHex("00f067aa0ba902b7")
	at         = time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)
)

func spanCtx(sampled bool) context.Context {
	cfg := trace.SpanContextConfig{TraceID: traceID, SpanID: spanID, Remote: true}
	if sampled {
		cfg.TraceFlags = trace.FlagsSampled
	}
	return trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(cfg))
}

// TestHandlerGolden writes one line of each kind the worker logs and compares them with
// testdata/lines.golden.
func TestHandlerGolden(t *testing.T) {
	var buf bytes.Buffer
	h := logging.NewHandler(&buf, logging.Config{Level: slog.LevelDebug, ProjectID: "proj"})
	log := slog.New(h).With("worker", "w-1")

	records := []struct {
		ctx   context.Context
		level slog.Level
		msg   string
		attrs []slog.Attr
	}{
		{context.Background(), slog.LevelInfo, "starting", []slog.Attr{slog.Group("config", slog.Int("max_outstanding_messages", 8))}},
		{spanCtx(true), slog.LevelDebug, "message settled", []slog.Attr{
			slog.String("message_id", "17"), slog.Int("attempt", 2), slog.String("bucket", "in"),
			slog.String("object", strconv.Quote("a b/ü\n.txt")), slog.Int64("generation", 1700000000000001),
			slog.String("outcome", "processed"), slog.Duration("duration", 1500*time.Millisecond),
		}},
		{spanCtx(false), slog.LevelWarn, "message settled", []slog.Attr{slog.String("outcome", "failed"), slog.String("err", "transient")}},
		{context.Background(), slog.LevelError, "http server", []slog.Attr{slog.String("err", "boom")}},
	}
	for _, r := range records {
		rec := slog.NewRecord(at, r.level, r.msg, 0)
		rec.AddAttrs(r.attrs...)
		if err := log.Handler().Handle(r.ctx, rec); err != nil {
			t.Fatalf("Handle: %v", err)
		}
	}

	golden := filepath.Join("testdata", "lines.golden")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), buf.String()); diff != "" {
		t.Errorf("lines differ from %s (-want +got):\n%s", golden, diff)
	}
}

// TestHandlerFields parses lines as JSON and checks the fields Cloud Logging reads.
func TestHandlerFields(t *testing.T) {
	tests := []struct {
		name    string
		project string
		ctx     context.Context
		level   slog.Level
		want    map[string]any
	}{
		{
			name: "no span", ctx: context.Background(), level: slog.LevelInfo,
			want: map[string]any{"severity": "INFO", "message": "m"},
		},
		{
			name: "sampled span", project: "p", ctx: spanCtx(true), level: slog.LevelDebug,
			want: map[string]any{
				"severity": "DEBUG", "message": "m",
				logging.KeyTrace:        "projects/p/traces/" + traceID.String(),
				logging.KeySpanID:       spanID.String(),
				logging.KeyTraceSampled: true,
			},
		},
		{
			name: "unsampled span, no project", ctx: spanCtx(false), level: slog.LevelWarn,
			want: map[string]any{
				"severity": "WARNING", "message": "m",
				logging.KeyTrace:        traceID.String(),
				logging.KeySpanID:       spanID.String(),
				logging.KeyTraceSampled: false,
			},
		},
		{
			name: "error", ctx: context.Background(), level: slog.LevelError + 4,
			want: map[string]any{"severity": "ERROR", "message": "m"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(logging.NewHandler(&buf, logging.Config{Level: slog.LevelDebug, ProjectID: tt.project}))
			log.Log(tt.ctx, tt.level, "m")
			var got map[string]any
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatalf("line is not JSON: %v\n%s", err, buf.Bytes())
			}
			if _, err := time.Parse(time.RFC3339Nano, got["time"].(string)); err != nil {
				t.Errorf("time = %v, want RFC 3339: %v", got["time"], err)
			}
			delete(got, "time")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("fields mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHandlerLevel(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(logging.NewHandler(&buf, logging.Config{Level: slog.LevelWarn}))
	log.Info("dropped")
	log.Warn("kept")
	if n := bytes.Count(buf.Bytes(), []byte("\n")); n != 1 {
		t.Errorf("wrote %d lines at level WARN, want 1:\n%s", n, buf.Bytes())
	}
}

func ExampleNewHandler() {
	h := logging.NewHandler(os.Stdout, logging.Config{ProjectID: "my-project"})
	log := slog.New(h)
	log.InfoContext(spanCtx(true), "draining", "in_flight", 3)
	// The line holds severity, message, time, in_flight and the trace fields, e.g.
	// {"time":"...","severity":"INFO","message":"draining","in_flight":3,
	//  "logging.googleapis.com/trace":"projects/my-project/traces/4bf9...",...}
}
