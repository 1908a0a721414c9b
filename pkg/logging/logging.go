// Package logging writes log/slog records as JSON in the structured format Cloud Logging
// reads from a container's stderr: the level as severity, the text as message, and the
// span of the record's context as trace and spanId, so a line links to its trace.
//
// The field names are those of https://cloud.google.com/logging/docs/structured-logging.
package logging

import (
	"context"
	"io"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// Fields Cloud Logging lifts out of a JSON line into the log entry.
const (
	KeySeverity     = "severity"
	KeyMessage      = "message"
	KeyTrace        = "logging.googleapis.com/trace"
	KeySpanID       = "logging.googleapis.com/spanId"
	KeyTraceSampled = "logging.googleapis.com/trace_sampled"
	KeySource       = "logging.googleapis.com/sourceLocation"
)

// Config tunes a Handler. The zero value logs Info and above, with bare trace IDs.
type Config struct {
	// Level is the minimum level logged. nil means slog.LevelInfo.
	Level slog.Leveler
	// ProjectID qualifies trace IDs as projects/ProjectID/traces/TRACE_ID, the form Cloud
	// Logging needs to link a line to Cloud Trace. "" writes the bare trace ID, which
	// links only within the project the line is logged in.
	ProjectID string
	// AddSource adds the caller's file and line as sourceLocation.
	AddSource bool
}

// Handler is a slog.Handler that writes Cloud Logging JSON lines. It is safe for
// concurrent use.
//
// Trace fields are added at the top level of the line only for loggers without groups:
// under WithGroup they nest inside the group, where Cloud Logging does not look.
type Handler struct {
	json    slog.Handler
	project string
}

// NewHandler returns a Handler that writes one JSON object a line to w.
func NewHandler(w io.Writer, cfg Config) *Handler {
	return &Handler{
		json: slog.NewJSONHandler(w, &slog.HandlerOptions{
			Level:       cfg.Level,
			AddSource:   cfg.AddSource,
			ReplaceAttr: replaceAttr,
		}),
		project: cfg.ProjectID,
	}
}

// Enabled reports whether records at level are logged.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.json.Enabled(ctx, level)
}

// Handle writes r, with the trace fields of the span in ctx if it has a valid one.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	sc := trace.SpanContextFromContext(ctx)
	if sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(
			slog.String(KeyTrace, h.traceName(sc.TraceID())),
			slog.String(KeySpanID, sc.SpanID().String()),
			slog.Bool(KeyTraceSampled, sc.IsSampled()),
		)
	}
	return h.json.Handle(ctx, r)
}

// WithAttrs returns a Handler whose lines carry attrs.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Handler{json: h.json.WithAttrs(attrs), project: h.project}
}

// WithGroup returns a Handler that nests later attributes under name.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{json: h.json.WithGroup(name), project: h.project}
}

func (h *Handler) traceName(id trace.TraceID) string {
	if h.project == "" {
		return id.String()
	}
	return "projects/" + h.project + "/traces/" + id.String()
}

// replaceAttr renames slog's built-in keys to Cloud Logging's, and writes durations as
// text ("1.5s") rather than slog's integer nanoseconds. The time stays "time": Cloud
// Logging reads an RFC 3339 time under that name.
func replaceAttr(groups []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.String(a.Key, a.Value.Duration().String())
	}
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.LevelKey:
		level, _ := a.Value.Any().(slog.Level)
		return slog.String(KeySeverity, Severity(level))
	case slog.MessageKey:
		return slog.Attr{Key: KeyMessage, Value: a.Value}
	case slog.SourceKey:
		return slog.Attr{Key: KeySource, Value: a.Value}
	}
	return a
}

// Severity returns Cloud Logging's name for level. Levels between slog's named ones
// round down: slog.LevelWarn-1 is INFO.
func Severity(level slog.Level) string {
	switch {
	case level < slog.LevelInfo:
		return "DEBUG"
	case level < slog.LevelWarn:
		return "INFO"
	case level < slog.LevelError:
		return "WARNING"
	default:
		return "ERROR"
	}
}
