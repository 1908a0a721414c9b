package namelist

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readAll reads every record of in, collecting invalid lines apart.
func readAll(t *testing.T, in string, f Format, bucket string) (recs []Record, bad []int, blank int) {
	t.Helper()
	r := NewReader(strings.NewReader(in), f, bucket)
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return recs, bad, r.Blank()
		}
		if errors.Is(err, ErrInvalid) {
			bad = append(bad, r.line)
			continue
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		recs = append(recs, rec)
	}
}

func TestReaderLines(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		bucket    string
		want      []Record
		wantBad   []int
		wantBlank int
	}{
		{
			name:   "bare names keep every byte",
			in:     "a b\nc#d?e\nf%2Fg\nh+i\nñé/雪\ndir/\n  lead\ttab \n",
			bucket: "bk",
			want: []Record{
				{Bucket: "bk", Name: "a b"}, {Bucket: "bk", Name: "c#d?e"},
				{Bucket: "bk", Name: "f%2Fg"}, {Bucket: "bk", Name: "h+i"},
				{Bucket: "bk", Name: "ñé/雪"}, {Bucket: "bk", Name: "dir/"},
				{Bucket: "bk", Name: "  lead\ttab "},
			},
		},
		{
			name: "URIs name their bucket",
			in:   "gs://one/x/y\ngs://two/%2F\ngs://three//double\n",
			want: []Record{
				{Bucket: "one", Name: "x/y"}, {Bucket: "two", Name: "%2F"},
				{Bucket: "three", Name: "/double"},
			},
		},
		{
			name:      "CRLF, blank lines and a last line without newline",
			in:        "a\r\n\r\n\nb\n\nc",
			bucket:    "bk",
			want:      []Record{{Bucket: "bk", Name: "a"}, {Bucket: "bk", Name: "b"}, {Bucket: "bk", Name: "c"}},
			wantBlank: 3,
		},
		{
			name:   "duplicates are kept",
			in:     "a\na\n",
			bucket: "bk",
			want:   []Record{{Bucket: "bk", Name: "a"}, {Bucket: "bk", Name: "a"}},
		},
		{
			name:    "invalid lines are reported and skipped",
			in:      "gs://b\ngs://b/\nbare\n\xff\xfe\n" + strings.Repeat("x", 1025) + "\ngs://ok/o\n",
			want:    []Record{{Bucket: "ok", Name: "o"}},
			wantBad: []int{1, 2, 3, 4, 5},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, bad, blank := readAll(t, tt.in, Lines, tt.bucket)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("records mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantBad, bad); diff != "" {
				t.Errorf("invalid lines mismatch (-want +got):\n%s", diff)
			}
			if blank != tt.wantBlank {
				t.Errorf("Blank() = %d, want %d", blank, tt.wantBlank)
			}
		})
	}
}

func TestFailuresRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "failures.jsonl")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []Record{
		{Bucket: "b", Name: "line\nbreak", Generation: 7},
		{Bucket: "b", Name: "cr\r\x01ctl"},
		{Bucket: "b", Name: "trailing/ "},
	}
	for _, rec := range want {
		if err := w.Write(rec, errors.New("boom")); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, bad, _ := readAll(t, string(b), JSONLines, "")
	if diff := cmp.Diff(want, got); diff != "" || bad != nil {
		t.Errorf("failures file read back mismatch (-want +got):\n%s\ninvalid lines %v", diff, bad)
	}
}
