package checkpoint

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestWatermarkWaitsForGaps(t *testing.T) {
	w := NewWatermark("start")
	for _, n := range []string{"a", "b", "c", "d"} {
		w.Add(n)
	}
	steps := []struct {
		done       uint64
		wantName   string
		wantPassed int64
	}{
		{2, "start", 0}, // c settled, a and b not: nothing passed
		{1, "start", 0},
		{0, "c", 3}, // a fills the gap: a, b, c passed at once
		{0, "c", 3}, // a repeat changes nothing
		{3, "d", 4},
	}
	for _, s := range steps {
		w.Done(s.done)
		name, passed := w.Position()
		if name != s.wantName || passed != s.wantPassed {
			t.Errorf("after Done(%d): Position() = %q, %d, want %q, %d", s.done, name, passed, s.wantName, s.wantPassed)
		}
	}
}

func TestSaveLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ckpt.json")
	want := State{
		Version: version,
		Listing: Listing{Bucket: "b", Prefix: "p/", UpdatedSince: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)},
		After:   "p/line\nbreak",
		Settled: 42,
		Written: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	if err := Save(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load(Save(s)) mismatch (-want +got):\n%s", diff)
	}
	if err := got.Check(want.Listing); err != nil {
		t.Errorf("Check(own listing) = %v", err)
	}
	other := want.Listing
	other.Bucket = "c"
	if err := got.Check(other); !errors.Is(err, ErrMismatch) {
		t.Errorf("Check(other bucket) = %v, want ErrMismatch", err)
	}
	if left, _ := filepath.Glob(path + ".tmp*"); len(left) != 0 {
		t.Errorf("Save left temporary files %v", left)
	}
}

func TestLoadBad(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		content string
		want    error
	}{
		{"not JSON", "{", ErrCorrupt},
		{"truncated", `{"version":1,"listing":{"bucket":"b"`, ErrCorrupt},
		{"empty", "", ErrCorrupt},
		{"other version", `{"version":9,"listing":{"bucket":"b"}}`, ErrCorrupt},
		{"no bucket", `{"version":1}`, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := Load(path); !errors.Is(err, tt.want) {
				t.Errorf("Load(%q) = %v, want %v", tt.content, err, tt.want)
			}
		})
	}
	if _, err := Load(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want fs.ErrNotExist", err)
	}
}
