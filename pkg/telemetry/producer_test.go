package telemetry_test

import (
	"context"
	"math"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/sluice-dev/sluice/pkg/notify"
	"github.com/sluice-dev/sluice/pkg/publish"
	"github.com/sluice-dev/sluice/pkg/telemetry"
)

// refuseTopic fails every Publish request to one topic with PermissionDenied.
type refuseTopic string

func (r refuseTopic) React(req any) (bool, any, error) {
	if req.(*pubsubpb.PublishRequest).Topic == string(r) {
		return true, nil, grpcstatus.Error(codes.PermissionDenied, "injected")
	}
	return false, nil, nil
}

// TestProducerMetrics publishes through pkg/publish to a healthy topic and a refusing
// one, and checks the exact counts and histogram counts a manual reader collects.
func TestProducerMetrics(t *testing.T) {
	const good, bad = "projects/p/topics/good", "projects/p/topics/bad"
	srv := pstest.NewServer(pstest.ServerReactorOption{FuncName: "Publish", Reactor: refuseTopic(bad)})
	t.Cleanup(func() { srv.Close() })
	conn, err := grpc.NewClient(srv.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	client, err := pubsub.NewClient(context.Background(), "p", option.WithGRPCConn(conn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })

	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	m, err := telemetry.NewProducerMetrics(mp, telemetry.ProducerConfig{Topic: "good"})
	if err != nil {
		t.Fatal(err)
	}
	publishN := func(topic string, n int) {
		t.Helper()
		if _, err := client.TopicAdminClient.CreateTopic(context.Background(), &pubsubpb.Topic{Name: topic}); err != nil {
			t.Fatal(err)
		}
		pt := client.Publisher(topic)
		defer pt.Stop()
		p, err := publish.New(pt, publish.Config{Observer: m, Backoff: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			m.Listed(1)
			ev := notify.Event{Type: notify.Finalize, Bucket: "b", Name: "n", Size: -1}
			if err := p.Publish(context.Background(), publish.Message{Event: ev, Seq: uint64(i)}); err != nil {
				t.Fatal(err)
			}
		}
		p.Close()
	}
	publishN(good, 7)
	publishN(bad, 3)

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, md := range sm.Metrics {
			switch data := md.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range data.DataPoints {
					got[md.Name+errorTypeOf(dp.Attributes)] += dp.Value
				}
			case metricdata.Histogram[float64]:
				for _, dp := range data.DataPoints {
					got[md.Name+errorTypeOf(dp.Attributes)] += int64(dp.Count)
				}
			}
		}
	}
	want := map[string]int64{
		"sluice.producer.listed":                                          10,
		"messaging.client.sent.messages":                                  7,
		"messaging.client.sent.messages error.type=PermissionDenied":      3,
		"messaging.client.operation.duration":                             7,
		"messaging.client.operation.duration error.type=PermissionDenied": 3,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("collected counts mismatch (-want +got):\n%s", diff)
	}
	if n, p50, p99 := m.Latency(); n != 10 || p50 <= 0 || p99 < p50 {
		t.Errorf("Latency() = %d, %v, %v; want 10 and 0 < p50 <= p99", n, p50, p99)
	}
}

func errorTypeOf(set attribute.Set) string {
	if v, ok := set.Value("error.type"); ok {
		return " error.type=" + v.AsString()
	}
	return ""
}

// TestProducerLatencyQuantiles checks the summary's percentiles against known durations.
func TestProducerLatencyQuantiles(t *testing.T) {
	m, err := telemetry.NewProducerMetrics(sdkmetric.NewMeterProvider(), telemetry.ProducerConfig{Topic: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if n, p50, p99 := m.Latency(); n != 0 || p50 != 0 || p99 != 0 {
		t.Errorf("Latency() of nothing = %d, %v, %v, want zeros", n, p50, p99)
	}
	for i := 1; i <= 1000; i++ {
		m.Settled(publish.Result{Duration: time.Duration(i) * time.Millisecond, Attempts: 1})
	}
	n, p50, p99 := m.Latency()
	for _, c := range []struct {
		name      string
		got, want time.Duration
	}{{"p50", p50, 500 * time.Millisecond}, {"p99", p99, 990 * time.Millisecond}} {
		if rel := math.Abs(float64(c.got-c.want)) / float64(c.want); rel > 0.011 {
			t.Errorf("%s = %v, want %v within 1.1%%", c.name, c.got, c.want)
		}
	}
	if n != 1000 {
		t.Errorf("count = %d, want 1000", n)
	}
}
