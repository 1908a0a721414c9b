package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sluice-dev/sluice/pkg/checkpoint"
	"github.com/sluice-dev/sluice/pkg/namelist"
)

// refuse fails every Publish request with a permanent error.
type refuse struct{}

func (refuse) React(any) (bool, any, error) {
	return true, nil, status.Error(codes.InvalidArgument, "injected")
}

// TestBackfillPublishFailures fails every publish, checks the run fails, the failures
// file names every object (newline and all) and the checkpoint passed them, then
// republishes the failures file against a healthy topic.
func TestBackfillPublishFailures(t *testing.T) {
	names := []string{"a", "nl\nname", "sp ace"}
	var objs = objectsNamed("bk", names...)
	dir := t.TempDir()
	failures := filepath.Join(dir, "failures.jsonl")
	ckpt := filepath.Join(dir, "ckpt.json")

	startEnginesWith(t, []pstest.ServerReactorOption{{FuncName: "Publish", Reactor: refuse{}}}, objs...)
	_, stderr, err := runProducer(t, "", "backfill", "--bucket", "bk", "--progress", "0",
		"--failures", failures, "--checkpoint", ckpt)
	if !errors.Is(err, errFailed) {
		t.Fatalf("backfill with failing publishes = %v, want errFailed\n%s", err, stderr)
	}
	if !strings.Contains(stderr, `"failed":3`) {
		t.Errorf("summary lacks failed 3:\n%s", stderr)
	}
	f, err := os.Open(failures)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := namelist.NewReader(f, namelist.JSONLines, "")
	var got []string
	for rec, err := r.Next(); err == nil; rec, err = r.Next() {
		got = append(got, rec.Name)
	}
	if diff := cmp.Diff(names, got, sortStrings); diff != "" {
		t.Errorf("failures file names mismatch (-want +got):\n%s", diff)
	}
	if st, err := checkpoint.Load(ckpt); err != nil || st.Settled != 3 {
		t.Errorf("checkpoint = %+v, %v; want 3 settled (failures are recorded)", st, err)
	}

	e := startEngines(t)
	if _, stderr, err := runProducer(t, "", "publish", "--progress", "0", "--input", failures); err != nil {
		t.Fatalf("publish --input failures: %v\n%s", err, stderr)
	}
	var republished []string
	for _, ev := range e.published(t) {
		republished = append(republished, ev.Name)
	}
	if diff := cmp.Diff(names, republished, sortStrings); diff != "" {
		t.Errorf("republished names mismatch (-want +got):\n%s", diff)
	}
}

func TestResumeBadCheckpoint(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.json")
	writeFile(t, corrupt, "{not json")
	other := filepath.Join(dir, "other.json")
	if err := checkpoint.Save(other, checkpoint.State{Listing: checkpoint.Listing{Bucket: "elsewhere"}, After: "x"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		want error
	}{
		{"corrupt", corrupt, checkpoint.ErrCorrupt},
		{"another bucket", other, checkpoint.ErrMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			startEngines(t, objectsNamed("bk", "a")...)
			_, _, err := runProducer(t, "", "backfill", "--bucket", "bk", "--progress", "0",
				"--checkpoint", tt.path, "--resume")
			if !errors.Is(err, tt.want) {
				t.Errorf("--resume with %s checkpoint = %v, want %v", tt.name, err, tt.want)
			}
		})
	}
}
