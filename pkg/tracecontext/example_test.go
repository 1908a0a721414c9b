package tracecontext_test

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/trace"

	"github.com/sluice-dev/sluice/pkg/tracecontext"
)

func Example() {
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})

	// Producer side: the publishing span's context goes into the attributes.
	attrs := map[string]string{"objectId": "a.txt"}
	tracecontext.Inject(trace.ContextWithSpanContext(context.Background(), sc), attrs)
	fmt.Println(attrs["traceparent"])

	// Worker side: spans started from ctx join the producer's trace.
	ctx := tracecontext.Extract(context.Background(), attrs)
	fmt.Println(trace.SpanContextFromContext(ctx).TraceID())
	// Output:
	// 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
	// 4bf92f3577b34da6a3ce929d0e0e4736
}
