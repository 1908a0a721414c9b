package telemetry_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"github.com/googleapis/gax-go/v2"

	"github.com/sluice-dev/sluice/deploy/local/stack"
	"github.com/sluice-dev/sluice/internal/faultproxy"
	"github.com/sluice-dev/sluice/internal/stacktest"
	"github.com/sluice-dev/sluice/pkg/telemetry"
)

// TestStorageRetryCounted reads an object through a proxy that answers 503 twice: the
// storage client retries and the read succeeds, and both failed attempts are counted by
// code as retried, though no message would ever have failed.
func TestStorageRetryCounted(t *testing.T) {
	env := stacktest.Start(t, stack.Config{Buckets: []string{inBucket}})
	env.Upload(t, inBucket, "flaky.txt", []byte("eventually"))

	tel, err := telemetry.New(context.Background(), telemetry.Config{ServiceName: "sluice-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	m, err := telemetry.NewWorkerMetrics(tel.MeterProvider(), telemetry.WorkerConfig{Subscription: "s"})
	if err != nil {
		t.Fatal(err)
	}

	proxy, err := faultproxy.Start("http://" + env.StorageHost)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	proxy.Add(faultproxy.Rule{Match: faultproxy.ObjectReads(inBucket), Action: faultproxy.Status, Code: http.StatusServiceUnavailable, Times: 2})
	t.Setenv("STORAGE_EMULATOR_HOST", proxy.Host)
	gcs, err := storage.NewClient(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer gcs.Close()
	gcs.SetRetry(
		storage.WithErrorFunc(m.StorageRetry(storage.ShouldRetry)),
		storage.WithBackoff(gax.Backoff{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond, Multiplier: 2}),
	)

	r, err := gcs.Bucket(inBucket).Object("flaky.txt").NewReader(context.Background())
	if err != nil {
		t.Fatalf("read through two 503s: %v", err)
	}
	data, _ := io.ReadAll(r)
	r.Close()
	if string(data) != "eventually" {
		t.Fatalf("read %q", data)
	}

	srv := httptest.NewServer(tel.MetricsHandler())
	defer srv.Close()
	samples := scrape(t, srv)
	if got := sum(samples, "sluice_storage_errors_total", map[string]string{"error_type": "503", "sluice_retried": "true"}); got != 2 {
		t.Errorf("retried 503s counted %v, want 2", got)
	}
	if got := sum(samples, "sluice_storage_errors_total", map[string]string{"sluice_retried": "false"}); got != 0 {
		t.Errorf("errors given up on counted %v, want 0", got)
	}
}
