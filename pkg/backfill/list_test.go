package backfill

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func newBucket(t *testing.T, names ...string) *storage.Client {
	t.Helper()
	return newFake(t, names...).Client()
}

// newFake starts fake-gcs-server, with no listener, holding bucket "b" with an object
// per name whose content is its name.
func newFake(t *testing.T, names ...string) *fakestorage.Server {
	t.Helper()
	var objs []fakestorage.Object
	for _, n := range names {
		objs = append(objs, fakestorage.Object{
			ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "b", Name: n},
			Content:     []byte(n),
		})
	}
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{InitialObjects: objs, NoListener: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "b"}) // with no objects too
	return srv
}

func listNames(t *testing.T, b *storage.BucketHandle, cfg Config) ([]string, Stats, error) {
	t.Helper()
	var got []string
	st, err := List(context.Background(), b, cfg, func(o *storage.ObjectAttrs) error {
		got = append(got, o.Name)
		return nil
	})
	return got, st, err
}

func TestList(t *testing.T) {
	b := newBucket(t, "a", "b/1", "b/2", "c\nnl", "d").Bucket("b")
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"all, across pages", Config{Bucket: "b", PageSize: 2}, []string{"a", "b/1", "b/2", "c\nnl", "d"}},
		{"prefix", Config{Bucket: "b", Prefix: "b/"}, []string{"b/1", "b/2"}},
		{"range excludes both ends", Config{Bucket: "b", StartAfter: "a", EndBefore: "d"}, []string{"b/1", "b/2", "c\nnl"}},
		{"updated in the future", Config{Bucket: "b", UpdatedSince: time.Now().Add(time.Hour)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := listNames(t, b, tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("List(%+v) names mismatch (-want +got):\n%s", tt.cfg, diff)
			}
		})
	}
}

func TestListErrors(t *testing.T) {
	c := newBucket(t, "a")
	b := c.Bucket("b")
	if _, _, err := listNames(t, c.Bucket("missing"), Config{Bucket: "missing"}); !errors.Is(err, storage.ErrBucketNotExist) {
		t.Errorf("List(missing bucket) = %v, want ErrBucketNotExist", err)
	}
	stop := errors.New("stop")
	_, err := List(context.Background(), b, Config{Bucket: "b"}, func(*storage.ObjectAttrs) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("List with a failing callback = %v, want its error", err)
	}
	for _, cfg := range []Config{{}, {Bucket: "b", PageSize: -1}, {Bucket: "b", StartAfter: "z", EndBefore: "a"}} {
		if err := cfg.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", cfg)
		}
	}
}

func TestSplitCoversOnce(t *testing.T) {
	var names []string
	for i := range 37 {
		names = append(names, fmt.Sprintf("o%03d", i))
	}
	b := newBucket(t, names...).Bucket("b")
	for _, n := range []int{1, 2, 5, 37, 50} {
		ranges, err := Split(context.Background(), b, Config{Bucket: "b"}, n)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range ranges {
			part, _, err := listNames(t, b, Config{Bucket: "b", StartAfter: r.StartAfter, EndBefore: r.EndBefore})
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(part)) != r.Objects {
				t.Errorf("Split(%d): range %+v lists %d objects", n, r, len(part))
			}
			got = append(got, part...)
		}
		if diff := cmp.Diff(names, got); diff != "" {
			t.Errorf("Split(%d) ranges cover (-want +got):\n%s", n, diff)
		}
	}
}

// TestListRangesCoversOnce lists ranges with more or fewer workers than ranges, so idle
// workers split ranges while they are listed, and checks every name comes exactly once,
// in name order within its range, within the range's bounds as splits leave them.
func TestListRangesCoversOnce(t *testing.T) {
	var seq, skewed []string
	for i := range 230 {
		seq = append(seq, fmt.Sprintf("o%03d", i))
	}
	// Long shared prefixes, directories, non-ASCII names: key-space midpoints are far
	// from the middle of the names.
	for i := range 400 {
		skewed = append(skewed, fmt.Sprintf("data/2026/%03d/object-%09d.json", i%37, i))
	}
	skewed = append(skewed, "日本/a", "日本/b", "é", "~~~", "!", " ")
	slices.Sort(skewed)
	tests := []struct {
		names            []string
		ranges, workers  int
		wantMoreRangesOf bool // workers outnumber ranges: splits must have happened
	}{
		{seq, 1, 1, false},
		{seq, 4, 2, false},
		{seq, 7, 7, false},
		{seq, 1, 4, true},
		{seq, 3, 8, true},
		{skewed, 1, 2, true},
		{skewed, 1, 8, true},
		{skewed, 2, 5, true},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%d names, %d ranges, %d workers", len(tt.names), tt.ranges, tt.workers)
		t.Run(name, func(t *testing.T) {
			b := newBucket(t, tt.names...).Bucket("b")
			cfg := Config{Bucket: "b", PageSize: 10}
			ranges, err := Split(context.Background(), b, cfg, tt.ranges)
			if err != nil {
				t.Fatal(err)
			}
			type bounds struct{ after, from, end string }
			var (
				mu    sync.Mutex
				got   []string
				last  = map[int]string{}
				done  = map[int]bool{}
				bound []bounds
			)
			for _, r := range ranges {
				bound = append(bound, bounds{after: r.StartAfter, end: r.EndBefore})
			}
			in := func(b bounds, name string) bool {
				lo := name > b.after
				if b.from != "" {
					lo = name >= b.from
				}
				return lo && (b.end == "" || name < b.end)
			}
			st, err := ListRanges(context.Background(), b, cfg, ranges, tt.workers, RangeFuncs{
				Object: func(r int, o *storage.ObjectAttrs) error {
					mu.Lock()
					defer mu.Unlock()
					if done[r] || o.Name <= last[r] {
						t.Errorf("range %d: %q after %q (done %v), want name order", r, o.Name, last[r], done[r])
					}
					if !in(bound[r], o.Name) {
						t.Errorf("range %d %+v: got %q, outside its bounds", r, bound[r], o.Name)
					}
					last[r] = o.Name
					got = append(got, o.Name)
					return nil
				},
				Done: func(r int) {
					mu.Lock()
					defer mu.Unlock()
					if done[r] {
						t.Errorf("range %d done twice", r)
					}
					done[r] = true
				},
				Split: func(r, child int, at string) {
					mu.Lock()
					defer mu.Unlock()
					if done[r] || at <= last[r] || !in(bound[r], at) {
						t.Errorf("split of range %d %+v at %q, after %q (done %v)", r, bound[r], at, last[r], done[r])
					}
					if child != len(bound) {
						t.Errorf("split of range %d into range %d, want the next index %d", r, child, len(bound))
					}
					bound = append(bound, bounds{from: at, end: bound[r].end})
					bound[r].end = at
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.names, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("ListRanges names mismatch (-want +got):\n%s", diff)
			}
			if st.Listed != int64(len(tt.names)) || len(done) != len(bound) || st.Splits != int64(len(bound)-len(ranges)) {
				t.Errorf("Stats = %+v, %d of %d ranges done; want %d listed, all done", st, len(done), len(bound), len(tt.names))
			}
			if tt.wantMoreRangesOf && len(bound) <= len(ranges) {
				t.Errorf("%d workers on %d ranges never split one", tt.workers, len(ranges))
			}
			t.Logf("%d ranges after splits", len(bound))
		})
	}
}
