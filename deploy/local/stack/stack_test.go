package stack

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // "" for valid
	}{
		{name: "zero value", cfg: Config{}},
		{name: "engine", cfg: Config{PubSub: "docker"}, wantErr: `pubsub engine "docker"`},
		{name: "ack deadline short", cfg: Config{AckDeadline: 5 * time.Second}, wantErr: "ack deadline 5s"},
		{name: "ack deadline long", cfg: Config{AckDeadline: 11 * time.Minute}, wantErr: "ack deadline 11m0s"},
		{name: "ack deadline fraction", cfg: Config{AckDeadline: 10500 * time.Millisecond},
			wantErr: "ack deadline 10.5s"},
		{name: "delivery attempts", cfg: Config{MaxDeliveryAttempts: 4}, wantErr: "max delivery attempts 4"},
		{name: "negative port", cfg: Config{StoragePort: -1}, wantErr: "port -1"},
		{name: "port too big", cfg: Config{PubSubPort: 70000}, wantErr: "port 70000"},
		{name: "dead letter is topic", cfg: Config{Topic: "t1", DeadLetterTopic: "t1"},
			wantErr: `both "t1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.setDefaults()
			err := cfg.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestStartDefaults(t *testing.T) {
	s := startStack(t, Config{PubSub: PubSubPstest})
	got := []string{s.ProjectID, s.Topic, s.Subscription, s.DeadLetterTopic}
	want := []string{"sluice-local", "sluice-objects", "sluice-worker", "sluice-dead-letter"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	for _, host := range []string{s.PubSubHost, s.StorageHost} {
		if !strings.HasPrefix(host, "127.0.0.1:") {
			t.Errorf("host %q is not on 127.0.0.1", host)
		}
	}
	wantEnv := []string{"PUBSUB_EMULATOR_HOST=" + s.PubSubHost, "STORAGE_EMULATOR_HOST=" + s.StorageHost}
	if diff := cmp.Diff(wantEnv, s.Env()); diff != "" {
		t.Errorf("Env() (-want +got):\n%s", diff)
	}
}

func TestStartAutoWithoutEmulator(t *testing.T) {
	defer func(f func() (string, error)) { findEmulator = f }(findEmulator)
	findEmulator = func() (string, error) { return "", errors.New("not installed") }

	if _, err := Start(context.Background(), Config{PubSub: PubSubEmulator}); err == nil ||
		!strings.Contains(err.Error(), "not installed") {
		t.Errorf("Start(emulator) without emulator = %v, want not installed", err)
	}
	s := startStack(t, Config{})
	if s.PubSub != PubSubPstest {
		t.Errorf("auto without emulator started %q, want %q", s.PubSub, PubSubPstest)
	}
}

func TestStartOnePerProcess(t *testing.T) {
	startStack(t, Config{PubSub: PubSubPstest})
	s, err := Start(context.Background(), Config{PubSub: PubSubPstest})
	if !errors.Is(err, errStackOpen) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("second Start() = %v, want %v", err, errStackOpen)
	}
}

func TestCloseRestoresEnvAndDir(t *testing.T) {
	t.Setenv("PUBSUB_EMULATOR_HOST", "before:1")
	kept := t.TempDir()
	tests := []struct {
		name     string
		dir      string
		wantKept bool
	}{
		{name: "temporary dir", wantKept: false},
		{name: "given dir", dir: kept, wantKept: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Start(context.Background(), Config{PubSub: PubSubPstest, Dir: tt.dir,
				Buckets: []string{"kept"}})
			if err != nil {
				t.Fatalf("Start() = %v", err)
			}
			if got := os.Getenv("PUBSUB_EMULATOR_HOST"); got != s.PubSubHost {
				t.Errorf("while open, PUBSUB_EMULATOR_HOST = %q, want %q", got, s.PubSubHost)
			}
			dir := s.tempDir
			if tt.dir != "" {
				dir = tt.dir
			}
			if err := s.Close(); err != nil {
				t.Fatalf("Close() = %v", err)
			}
			if got := os.Getenv("PUBSUB_EMULATOR_HOST"); got != "before:1" {
				t.Errorf("after Close, PUBSUB_EMULATOR_HOST = %q, want %q", got, "before:1")
			}
			_, err = os.Stat(dir)
			if kept := err == nil; kept != tt.wantKept {
				t.Errorf("after Close, dir %s kept = %v, want %v (stat: %v)", dir, kept, tt.wantKept, err)
			}
		})
	}

	// A second run on the same Dir keeps the bucket and its objects.
	s := startStack(t, Config{PubSub: PubSubPstest, Dir: kept, Buckets: []string{"kept"}})
	obj := storageClient(t, s).Bucket("kept").Object("survivor")
	mustWrite(t, obj, "still here")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close() = %v, want nil", err)
	}
	s = startStack(t, Config{PubSub: PubSubPstest, Dir: kept, Buckets: []string{"kept"}})
	obj = storageClient(t, s).Bucket("kept").Object("survivor")
	if got, err := read(context.Background(), obj); got != "still here" || err != nil {
		t.Errorf("read after restart on same Dir = %q, %v, want %q, nil", got, err, "still here")
	}
}
