package tracecontext

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/trace"
)

func TestRoundTrip(t *testing.T) {
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    tid,
		SpanID:     sid,
		TraceFlags: trace.FlagsSampled,
	})
	ctx := trace.ContextWithSpanContext(context.Background(), sc)

	attrs := map[string]string{"objectId": "a"}
	Inject(ctx, attrs)
	want := map[string]string{
		"objectId":    "a",
		"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	}
	if diff := cmp.Diff(want, attrs); diff != "" {
		t.Errorf("Inject attributes mismatch (-want +got):\n%s", diff)
	}

	got := trace.SpanContextFromContext(Extract(context.Background(), attrs))
	if got.TraceID() != tid || got.SpanID() != sid || !got.IsRemote() {
		t.Errorf("Extract = %v, want remote %v/%v", got, tid, sid)
	}
}

func TestExtractWithout(t *testing.T) {
	tests := []struct {
		name  string
		attrs map[string]string
	}{
		{"nil attributes", nil},
		{"no traceparent", map[string]string{"objectId": "a"}},
		{"malformed traceparent", map[string]string{"traceparent": "00-zz-01"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := trace.SpanContextFromContext(Extract(context.Background(), tt.attrs))
			if sc.IsValid() {
				t.Errorf("Extract(%v) = %v, want no span context", tt.attrs, sc)
			}
		})
	}
}

func TestInjectWithoutSpan(t *testing.T) {
	attrs := map[string]string{}
	Inject(context.Background(), attrs)
	if len(attrs) != 0 {
		t.Errorf("Inject without a span wrote %v, want nothing", attrs)
	}
}
