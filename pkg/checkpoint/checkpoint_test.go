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
		Ranges:  []Range{{After: "p/line\nbreak", EndBefore: "p/m"}, {After: "p/x"}},
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
		{"no bucket", `{"version":2}`, ErrCorrupt},
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

func TestLoadVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.json")
	v1 := `{"version":1,"listing":{"bucket":"b","start_after":"a","end_before":"z"},"after":"m","settled":7}`
	if err := os.WriteFile(path, []byte(v1), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []Range{{After: "m", EndBefore: "z"}}
	if diff := cmp.Diff(want, got.Ranges); diff != "" || got.Settled != 7 {
		t.Errorf("Load(v1) ranges mismatch (-want +got):\n%s; settled %d, want 7", diff, got.Settled)
	}
}

func TestRangesPosition(t *testing.T) {
	rs := NewRanges([]Range{{After: "", EndBefore: "m"}, {After: "l", EndBefore: ""}})
	a := rs.Add(0, "a")
	b := rs.Add(0, "b")
	x := rs.Add(1, "x")
	var y, z uint64
	r := func(after, end string) Range { return Range{After: after, EndBefore: end} }
	steps := []struct {
		name       string
		do         func()
		want       []Range
		wantPassed int64
	}{
		{"nothing settled", func() {}, []Range{r("", "m"), r("l", "")}, 0},
		{"second range first", func() { rs.Done(x) }, []Range{r("", "m"), r("x", "")}, 1},
		{"gap in the first", func() { rs.Done(b) }, []Range{r("", "m"), r("x", "")}, 1},
		{"gap filled", func() { rs.Done(a) }, []Range{r("b", "m"), r("x", "")}, 3},
		{"second split at y", func() {
			if i := rs.Split(1, "y"); i != 2 {
				t.Fatalf("Split returned index %d, want 2", i)
			}
		}, []Range{r("b", "m"), r("x", "y"), {From: "y"}}, 3},
		{"split range adds, nothing settled", func() { y, z = rs.Add(2, "y"), rs.Add(2, "z") },
			[]Range{r("b", "m"), r("x", "y"), {From: "y"}}, 3},
		{"split range's second settles first", func() { rs.Done(z) },
			[]Range{r("b", "m"), r("x", "y"), {From: "y"}}, 3},
		{"split range's first settles", func() { rs.Done(y) },
			[]Range{r("b", "m"), r("x", "y"), r("z", "")}, 5},
		{"split range listed", func() { rs.Listed(2) }, []Range{r("b", "m"), r("x", "y")}, 5},
		{"second listed", func() { rs.Listed(1) }, []Range{r("b", "m")}, 5},
		{"first listed", func() { rs.Listed(0) }, []Range{}, 5},
	}
	for _, s := range steps {
		s.do()
		got, passed := rs.Position()
		if diff := cmp.Diff(s.want, got); diff != "" || passed != s.wantPassed {
			t.Errorf("%s: Position() mismatch (-want +got):\n%s; passed %d, want %d", s.name, diff, passed, s.wantPassed)
		}
	}
}
