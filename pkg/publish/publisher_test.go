package publish

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/sluice-dev/sluice/pkg/notify"
)

const project = "p"

// newTopic starts a pstest server with reactors and returns it with a publisher to a
// fresh topic.
func newTopic(t *testing.T, reactors ...pstest.ServerReactorOption) (*pstest.Server, *pubsub.Publisher) {
	t.Helper()
	srv := pstest.NewServer(reactors...)
	t.Cleanup(func() { srv.Close() })
	conn, err := grpc.NewClient(srv.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	client, err := pubsub.NewClient(context.Background(), project, option.WithGRPCConn(conn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	name := "projects/" + project + "/topics/t"
	if _, err := client.TopicAdminClient.CreateTopic(context.Background(), &pubsubpb.Topic{Name: name}); err != nil {
		t.Fatal(err)
	}
	topic := client.Publisher(name)
	t.Cleanup(topic.Stop)
	return srv, topic
}

// failFirst fails the first n Publish requests with code.
type failFirst struct {
	n    atomic.Int64
	code codes.Code
}

func (f *failFirst) React(any) (bool, any, error) {
	if f.n.Add(-1) >= 0 {
		return true, nil, status.Error(f.code, "injected")
	}
	return false, nil, nil
}

// outcome is what Settled reported for one message.
type outcome struct {
	Seq    uint64
	Failed bool
}

// publishAll publishes one message per name and returns the sorted outcomes.
func publishAll(t *testing.T, topic *pubsub.Publisher, cfg Config, names []string) ([]outcome, Counts) {
	t.Helper()
	var mu sync.Mutex
	var got []outcome
	cfg.Settled = func(m Message, id string, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err == nil && id == "" {
			t.Errorf("message %d published without an ID", m.Seq)
		}
		got = append(got, outcome{Seq: m.Seq, Failed: err != nil})
	}
	p, err := New(topic, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range names {
		ev := notify.Event{Type: notify.Finalize, Bucket: "b", Name: name, Size: -1}
		if err := p.Publish(context.Background(), Message{Event: ev, Seq: uint64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	counts := p.Close()
	slices.SortFunc(got, func(a, b outcome) int { return int(a.Seq) - int(b.Seq) })
	return got, counts
}

func TestPublishOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		failFirst  int64
		code       codes.Code
		wantFailed bool
		wantCounts Counts
	}{
		{"all published", 0, codes.OK, false, Counts{Published: 3}},
		{"retried after a transient error", 1, codes.DataLoss, false, Counts{Published: 3, Retries: 3}},
		{"failed after every attempt", 99, codes.DataLoss, true, Counts{Failed: 3, Retries: 6}},
		{"not retried when permanent", 99, codes.PermissionDenied, true, Counts{Failed: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &failFirst{code: tt.code}
			f.n.Store(tt.failFirst)
			srv, topic := newTopic(t, pstest.ServerReactorOption{FuncName: "Publish", Reactor: f})
			cfg := Config{Attempts: 3, Backoff: time.Millisecond, Attributes: map[string]string{"k": "v"}}
			got, counts := publishAll(t, topic, cfg, []string{"a", "b", "c"})

			want := []outcome{{0, tt.wantFailed}, {1, tt.wantFailed}, {2, tt.wantFailed}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("outcomes mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantCounts, counts); diff != "" {
				t.Errorf("Close() counts mismatch (-want +got):\n%s", diff)
			}
			if tt.wantFailed {
				return
			}
			for _, m := range srv.Messages() {
				if m.Attributes["k"] != "v" || m.Attributes[notify.AttrObject] == "" {
					t.Errorf("message attributes = %v, want k=v and an object", m.Attributes)
				}
			}
		})
	}
}

func TestPublishRate(t *testing.T) {
	_, topic := newTopic(t)
	start := time.Now()
	_, counts := publishAll(t, topic, Config{Rate: 100}, make([]string, 30))
	// 30 messages at 100/s with a burst of 5 take at least 250 ms.
	if elapsed := time.Since(start); elapsed < 200*time.Millisecond {
		t.Errorf("30 messages at --rate 100 took %v, want >= 200ms", elapsed)
	}
	if counts.Published+counts.Failed != 30 {
		t.Errorf("counts = %+v, want 30 settled", counts)
	}
}

func TestPublishCancelled(t *testing.T) {
	_, topic := newTopic(t)
	p, err := New(topic, Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = p.Publish(ctx, Message{Event: notify.Event{Bucket: "b", Name: "n", Size: -1}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Publish(cancelled) = %v, want context.Canceled", err)
	}
	if c := p.Close(); c != (Counts{}) {
		t.Errorf("Close() = %+v after an unsent message, want zero", c)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, cfg := range []Config{{Attempts: -1}, {Backoff: -1}, {MaxOutstanding: -1}, {Waiters: -1}} {
		if err := cfg.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", cfg)
		}
	}
}
