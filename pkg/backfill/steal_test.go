package backfill

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"cloud.google.com/go/storage"
	"google.golang.org/api/option"

	"github.com/sluice-dev/sluice/pkg/checkpoint"
)

// These tests attack work stealing in ListRanges: random names, bounds, page sizes,
// workers and initial ranges against the storage fake, checking every object comes
// once, in order within its range, and that a checkpoint fed by the callbacks covers
// every name not yet settled at any moment.

// fragments make names that stress split points: shared long prefixes, bytes below and
// above the printable ASCII split points use, multi-byte runes, names that prefix
// others.
var fragments = []string{
	"a", "b", "z", "0", "9", "/", "data/2026/", "é", "日本", " ", "\x01", "\t", "\n", "~",
	"\x7f", "ÿ", "\U0001F600", strings.Repeat("a", 40) + "/", "~~~",
}

func randomName(rng *rand.Rand) string {
	var b strings.Builder
	for range 1 + rng.IntN(5) {
		b.WriteString(fragments[rng.IntN(len(fragments))])
	}
	return b.String()
}

// randomNames returns up to max sorted distinct names; some extend others.
func randomNames(rng *rand.Rand, max int) []string {
	seen := map[string]bool{}
	var names []string
	for range rng.IntN(max + 1) {
		n := randomName(rng)
		if len(names) > 0 && rng.IntN(3) == 0 {
			n = names[rng.IntN(len(names))] + fragments[rng.IntN(len(fragments))]
		}
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// bound returns a random range bound: a listed name, a name that may not exist, or "".
func bound(rng *rand.Rand, names []string) string {
	switch rng.IntN(3) {
	case 0:
		if len(names) > 0 {
			return names[rng.IntN(len(names))]
		}
	case 1:
		return randomName(rng)
	}
	return ""
}

// runePrefix returns a prefix of s cut at a rune boundary.
func runePrefix(rng *rand.Rand, s string) string {
	var cuts []int
	for i := range s {
		cuts = append(cuts, i)
	}
	cuts = append(cuts, len(s))
	return s[:cuts[rng.IntN(len(cuts))]]
}

// stealCase is one random listing.
type stealCase struct {
	names   []string
	cfg     Config
	ranges  []Range
	workers int
}

func (c stealCase) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "names %q\nprefix %q, start after %q, end before %q, page size %d, %d workers\nranges",
		c.names, c.cfg.Prefix, c.cfg.StartAfter, c.cfg.EndBefore, c.cfg.PageSize, c.workers)
	for _, r := range c.ranges {
		fmt.Fprintf(&b, " {after %q from %q end %q}", r.StartAfter, r.From, r.EndBefore)
	}
	return b.String()
}

// want returns the names c's listing selects.
func (c stealCase) want() []string {
	var want []string
	for _, n := range c.names {
		if strings.HasPrefix(n, c.cfg.Prefix) && n > c.cfg.StartAfter && (c.cfg.EndBefore == "" || n < c.cfg.EndBefore) {
			want = append(want, n)
		}
	}
	return want
}

func randomCase(t *testing.T, rng *rand.Rand, b *storage.BucketHandle, names []string) stealCase {
	t.Helper()
	c := stealCase{names: names, workers: 1 + rng.IntN(8)}
	c.cfg = Config{Bucket: "b", PageSize: 1 + rng.IntN(8)}
	if rng.IntN(10) == 0 {
		c.cfg.PageSize = 0
	}
	if len(names) > 0 && rng.IntN(4) == 0 {
		c.cfg.Prefix = runePrefix(rng, names[rng.IntN(len(names))])
	}
	c.cfg.StartAfter, c.cfg.EndBefore = bound(rng, names), bound(rng, names)
	if c.cfg.EndBefore != "" && c.cfg.StartAfter >= c.cfg.EndBefore {
		c.cfg.EndBefore = ""
	}

	if rng.IntN(3) == 0 {
		ranges, err := Split(context.Background(), b, c.cfg, 1+rng.IntN(5))
		if err != nil {
			t.Fatal(err)
		}
		c.ranges = ranges
		return c
	}
	// Contiguous ranges cut at random points: the first starts after cfg's StartAfter,
	// each other one at its cut, inclusive.
	var cuts []string
	for range rng.IntN(4) {
		at := bound(rng, names)
		if at > c.cfg.StartAfter && (c.cfg.EndBefore == "" || at < c.cfg.EndBefore) && !slices.Contains(cuts, at) {
			cuts = append(cuts, at)
		}
	}
	slices.Sort(cuts)
	c.ranges = []Range{{StartAfter: c.cfg.StartAfter}}
	for _, at := range cuts {
		c.ranges[len(c.ranges)-1].EndBefore = at
		c.ranges = append(c.ranges, Range{From: at})
	}
	c.ranges[len(c.ranges)-1].EndBefore = c.cfg.EndBefore
	return c
}

// covers reports whether a resume that lists pending would list name.
func covers(pending []checkpoint.Range, name string) bool {
	for _, r := range pending {
		lo := name > r.After
		if r.From != "" {
			lo = name >= r.From
		}
		if lo && (r.EndBefore == "" || name < r.EndBefore) {
			return true
		}
	}
	return false
}

// stealCheck runs ListRanges on c with callbacks that check the RangeFuncs contract
// and feed a checkpoint.Ranges, and checks that its Position covers every name not yet
// settled. It returns a snapshot of the position taken mid-listing and the names
// unsettled then, for a resume.
type stealCheck struct {
	t   *testing.T
	c   stealCase
	rng *rand.Rand // used from the calling goroutine only (Object, Done)

	mu       sync.Mutex
	bounds   []Range // each range's bounds, as splits leave them
	last     map[int]string
	done     map[int]bool
	seen     map[string]int
	marks    *checkpoint.Ranges
	tokens   []uint64
	names    map[uint64]string
	settled  map[string]bool
	want     []string
	snapAt   int
	snapshot []checkpoint.Range
	unsettle []string
	failed   bool
}

func (s *stealCheck) errorf(format string, args ...any) {
	s.t.Helper()
	if !s.failed {
		s.t.Errorf("%v\n%s", s.c, fmt.Sprintf(format, args...))
	}
	s.failed = true
}

func (s *stealCheck) in(r Range, name string) bool {
	lo := name > r.StartAfter
	if r.From != "" {
		lo = name >= r.From
	}
	return lo && (r.EndBefore == "" || name < r.EndBefore)
}

// checkPosition checks the checkpoint covers every name not settled. Called with s.mu.
func (s *stealCheck) checkPosition(when string) {
	s.t.Helper()
	pending, _ := s.marks.Position()
	for _, n := range s.want {
		if !s.settled[n] && !covers(pending, n) {
			s.errorf("%s: Position() = %+v leaves out unsettled %q", when, pending, n)
			return
		}
	}
}

// settle settles a random pending token, or all of them. Called with s.mu.
func (s *stealCheck) settle(all bool) {
	for len(s.tokens) > 0 {
		i := s.rng.IntN(len(s.tokens))
		tok := s.tokens[i]
		s.tokens = slices.Delete(s.tokens, i, i+1)
		s.marks.Done(tok)
		s.settled[s.names[tok]] = true
		if !all {
			return
		}
	}
}

func newStealCheck(t *testing.T, c stealCase, rng *rand.Rand) *stealCheck {
	s := &stealCheck{
		t: t, c: c, rng: rng,
		bounds:  slices.Clone(c.ranges),
		last:    map[int]string{},
		done:    map[int]bool{},
		seen:    map[string]int{},
		names:   map[uint64]string{},
		settled: map[string]bool{},
		want:    c.want(),
	}
	var cr []checkpoint.Range
	for _, r := range c.ranges {
		cr = append(cr, checkpoint.Range{After: r.StartAfter, From: r.From, EndBefore: r.EndBefore})
	}
	s.marks = checkpoint.NewRanges(cr)
	s.snapAt = rng.IntN(len(s.want) + 1)
	return s
}

func (s *stealCheck) funcs() RangeFuncs {
	return RangeFuncs{
		Object: func(r int, o *storage.ObjectAttrs) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			switch {
			case r >= len(s.bounds):
				s.errorf("Object(%d, %q) before the split that made range %d", r, o.Name, r)
				return nil
			case s.done[r]:
				s.errorf("Object(%d, %q) after Done(%d)", r, o.Name, r)
			case s.last[r] != "" && o.Name <= s.last[r]:
				s.errorf("Object(%d, %q) after %q, want name order", r, o.Name, s.last[r])
			case !s.in(s.bounds[r], o.Name):
				s.errorf("Object(%d, %q) outside the range's bounds %+v", r, o.Name, s.bounds[r])
			}
			s.last[r] = o.Name
			s.seen[o.Name]++
			if len(s.seen) == s.snapAt+1 && s.snapshot == nil {
				s.takeSnapshot()
			}
			tok := s.marks.Add(r, o.Name)
			s.tokens = append(s.tokens, tok)
			s.names[tok] = o.Name
			if s.rng.IntN(2) == 0 {
				s.settle(s.rng.IntN(8) == 0)
			}
			if s.rng.IntN(4) == 0 {
				s.checkPosition(fmt.Sprintf("after Object(%d, %q)", r, o.Name))
			}
			return nil
		},
		Done: func(r int) {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.done[r] {
				s.errorf("Done(%d) twice", r)
			}
			s.done[r] = true
			s.marks.Listed(r)
			s.checkPosition(fmt.Sprintf("after Done(%d)", r))
		},
		Split: func(r, child int, at string) {
			s.mu.Lock()
			defer s.mu.Unlock()
			switch {
			case child != len(s.bounds):
				s.errorf("Split(%d, %d, %q), want child %d", r, child, at, len(s.bounds))
				return
			case s.done[r]:
				s.errorf("Split(%d, %d, %q) after Done(%d)", r, child, at, r)
			case !utf8.ValidString(at):
				s.errorf("Split(%d, %d, %q): not UTF-8", r, child, at)
			case at <= s.last[r] || !s.in(s.bounds[r], at):
				s.errorf("Split(%d, %d, %q) of range %+v that has passed %q", r, child, at, s.bounds[r], s.last[r])
			}
			s.bounds = append(s.bounds, Range{From: at, EndBefore: s.bounds[r].EndBefore})
			s.bounds[r].EndBefore = at
			if i := s.marks.Split(r, at); i != child {
				s.errorf("checkpoint Split(%d, %q) = %d, want %d", r, at, i, child)
			}
			s.checkPosition(fmt.Sprintf("after Split(%d, %d, %q)", r, child, at))
		},
	}
}

// takeSnapshot records the position and the names unsettled now. Called with s.mu.
func (s *stealCheck) takeSnapshot() {
	s.snapshot, _ = s.marks.Position()
	s.unsettle = nil
	for _, n := range s.want {
		if !s.settled[n] {
			s.unsettle = append(s.unsettle, n)
		}
	}
}

// finish checks the listing as a whole once ListRanges has returned.
func (s *stealCheck) finish(st Stats) {
	s.t.Helper()
	for _, n := range s.want {
		if s.seen[n] != 1 {
			s.errorf("%q listed %d times, want once", n, s.seen[n])
		}
	}
	if len(s.seen) != len(s.want) {
		s.errorf("listed %d names, want %d", len(s.seen), len(s.want))
	}
	if st.Listed != int64(len(s.want)) {
		s.errorf("Stats.Listed = %d, want %d", st.Listed, len(s.want))
	}
	for r := range s.bounds {
		if !s.done[r] {
			s.errorf("range %d %+v never done", r, s.bounds[r])
		}
	}
	s.settle(true)
	if pending, _ := s.marks.Position(); len(pending) != 0 {
		s.errorf("Position() after everything settled = %+v, want none", pending)
	}
	if s.snapshot == nil {
		s.takeSnapshot()
	}
}

func resumeRanges(pending []checkpoint.Range) []Range {
	var rs []Range
	for _, r := range pending {
		rs = append(rs, Range{StartAfter: r.After, From: r.From, EndBefore: r.EndBefore})
	}
	return rs
}

func withTimeout[T any](t *testing.T, d time.Duration, f func() T) T {
	t.Helper()
	c := make(chan T, 1)
	go func() { c <- f() }()
	select {
	case v := <-c:
		return v
	case <-time.After(d):
		buf := make([]byte, 1<<20)
		t.Fatalf("no return after %v; goroutines:\n%s", d, buf[:runtime.Stack(buf, true)])
		panic("unreachable")
	}
}

type listResult struct {
	st  Stats
	err error
}

// TestListRangesRandom lists random buckets with random bounds, page sizes, workers and
// initial ranges, then resumes from a checkpoint taken mid-listing.
func TestListRangesRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(2026, 12))
	iterations := 60
	if testing.Short() {
		iterations = 15
	}
	for i := range iterations {
		names := randomNames(rng, 120)
		b, ct := newCountedBucket(t, names...)
		c := randomCase(t, rng, b, names)
		if rng.IntN(2) == 0 {
			ct.short, ct.empty, ct.trailing = 3, 4, 2
		}
		s := newStealCheck(t, c, rng)
		res := withTimeout(t, 10*time.Second, func() listResult {
			st, err := ListRanges(context.Background(), b, c.cfg, c.ranges, c.workers, s.funcs())
			return listResult{st, err}
		})
		if res.err != nil {
			t.Fatalf("case %d: ListRanges = %v\n%v", i, res.err, c)
		}
		s.finish(res.st)
		if s.failed {
			t.Fatalf("case %d failed", i)
		}
		// Splitting bound, loose: see TestListRangesRequests.
		pages := int64(len(names)/max(c.cfg.PageSize, 1) + len(c.ranges))
		if got, limit := ct.lists.Load(), 4*pages+int64(c.workers); got > limit {
			t.Errorf("case %d: %d list requests for %d pages, want at most %d\n%v", i, got, pages, limit, c)
		}

		// Resume from the mid-listing snapshot: every name unsettled then comes again.
		rc := c
		rc.ranges, rc.workers = resumeRanges(s.snapshot), 1+rng.IntN(8)
		var mu sync.Mutex
		got := map[string]int{}
		res = withTimeout(t, 10*time.Second, func() listResult {
			st, err := ListRanges(context.Background(), b, rc.cfg, rc.ranges, rc.workers, RangeFuncs{
				Object: func(_ int, o *storage.ObjectAttrs) error {
					mu.Lock()
					defer mu.Unlock()
					got[o.Name]++
					return nil
				},
			})
			return listResult{st, err}
		})
		if res.err != nil {
			t.Fatalf("case %d: resume ListRanges = %v\n%v", i, res.err, rc)
		}
		for _, n := range s.unsettle {
			if got[n] != 1 {
				t.Fatalf("case %d: resume from %+v lists unsettled %q %d times, want once\n%v", i, s.snapshot, n, got[n], c)
			}
		}
		for n, k := range got {
			if k != 1 || !slices.Contains(s.want, n) {
				t.Fatalf("case %d: resume lists %q %d times, want at most once and only selected names\n%v", i, n, k, c)
			}
		}
	}
}

// checkGoroutines fails if goroutines started since base are still running a second
// after the call under test returned.
func checkGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before; leaked:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(time.Millisecond)
	}
}

func seqNames(n int) []string {
	var names []string
	for i := range n {
		names = append(names, fmt.Sprintf("data/2026/%03d/object-%06d", i%17, i))
	}
	slices.Sort(names)
	return names
}

// TestListRangesStops stops listings that are splitting ranges: by a callback error, by
// cancelling ctx and by a listing error. Each must return its error, call nothing after
// returning, and leave no goroutine behind.
func TestListRangesStops(t *testing.T) {
	names := seqNames(60)
	client := newBucket(t, names...)
	b := client.Bucket("b")
	stop := errors.New("stop")
	tests := []struct {
		name   string
		bucket *storage.BucketHandle
		after  int // objects before the stop
		// object stops the listing; cancel cancels ctx.
		object func(cancel context.CancelFunc) error
		cancel bool // ctx is cancelled before the call
		// doneCancels cancels ctx in Done: the range's lister is free by then and must
		// not take the cancellation for the end of the listing.
		doneCancels bool
		want        error
	}{
		{"callback error at once", b, 0, func(context.CancelFunc) error { return stop }, false, false, stop},
		{"callback error mid-listing", b, 57, func(context.CancelFunc) error { return stop }, false, false, stop},
		{"callback error at the last", b, len(names) - 1, func(context.CancelFunc) error { return stop }, false, false, stop},
		{"ctx cancelled mid-listing", b, 57, func(cancel context.CancelFunc) error { cancel(); return nil }, false, false, context.Canceled},
		{"ctx cancelled early", b, 1, func(cancel context.CancelFunc) error { cancel(); return nil }, false, false, context.Canceled},
		{"ctx cancelled before", b, 0, nil, true, false, context.Canceled},
		{"ctx cancelled at a range's last object", b, 19, func(cancel context.CancelFunc) error { cancel(); return nil }, false, false, context.Canceled},
		{"ctx cancelled at a range's end", b, 0, nil, false, true, context.Canceled},
		{"missing bucket", client.Bucket("missing"), 0, nil, false, false, storage.ErrBucketNotExist},
	}
	for _, tt := range tests {
		for _, workers := range []int{1, 3, 8} {
			t.Run(fmt.Sprintf("%s, %d workers", tt.name, workers), func(t *testing.T) {
				base := runtime.NumGoroutine()
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				if tt.cancel {
					cancel()
				}
				var (
					returned atomic.Bool
					objects  atomic.Int64
				)
				late := func(what string) {
					if returned.Load() {
						t.Errorf("%s after ListRanges returned", what)
					}
				}
				fns := RangeFuncs{
					Object: func(int, *storage.ObjectAttrs) error {
						late("Object")
						if n := objects.Add(1); n > int64(tt.after) && tt.object != nil {
							return tt.object(cancel)
						}
						return nil
					},
					Done: func(int) {
						late("Done")
						if tt.doneCancels {
							cancel()
						}
					},
					Split: func(int, int, string) { late("Split") },
				}
				ranges := []Range{{EndBefore: names[20]}, {From: names[20]}}
				res := withTimeout(t, 5*time.Second, func() listResult {
					st, err := ListRanges(ctx, tt.bucket, Config{Bucket: "b", PageSize: 3}, ranges, workers, fns)
					returned.Store(true)
					return listResult{st, err}
				})
				// A cancellation that lands after the last object may let the listing
				// finish; it must not end early without an error.
				complete := res.err == nil && objects.Load() == int64(len(names))
				if !(errors.Is(tt.want, context.Canceled) && complete) && !errors.Is(res.err, tt.want) {
					t.Errorf("ListRanges after %d objects = %v, want %v", objects.Load(), res.err, tt.want)
				}
				checkGoroutines(t, base)
			})
		}
	}
}

// countingTransport counts the object list requests it passes on. It also answers as
// Cloud Storage may and the fake never does, each with a chance of one in the quirk's
// value (0 never): pages shorter than asked for, empty pages that still carry a page
// token, and a last page with a token that leads to an empty one.
type countingTransport struct {
	base                   http.RoundTripper
	lists                  atomic.Int64
	short, empty, trailing int

	mu  sync.Mutex
	rng *rand.Rand
}

// endToken is a page token past every name: the fake starts its next page there.
const endToken = "\U0010FFFF"

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/o") {
		return c.base.RoundTrip(r)
	}
	c.lists.Add(1)
	if c.short == 0 && c.empty == 0 && c.trailing == 0 {
		return c.base.RoundTrip(r)
	}
	c.mu.Lock()
	chance := func(n int) bool { return n > 0 && c.rng.IntN(n) == 0 }
	short, empty, trailing := chance(c.short), chance(c.empty), chance(c.trailing)
	n := 1
	if size, err := strconv.Atoi(r.URL.Query().Get("maxResults")); err == nil && size > 1 {
		n = 1 + c.rng.IntN(size)
	}
	c.mu.Unlock()
	if short {
		r = r.Clone(r.Context())
		q := r.URL.Query()
		q.Set("maxResults", strconv.Itoa(n))
		r.URL.RawQuery = q.Encode()
	}
	resp, err := c.base.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var page map[string]any
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, err
	}
	items, _ := page["items"].([]any)
	_, more := page["nextPageToken"]
	switch {
	case empty && len(items) > 0:
		// The fake starts a page at its token, inclusive: the next page holds these.
		first, _ := items[0].(map[string]any)
		page["nextPageToken"], page["items"] = first["name"], []any{}
	case trailing && !more && r.URL.Query().Get("pageToken") != endToken:
		page["nextPageToken"] = endToken
	}
	if body, err = json.Marshal(page); err != nil {
		return nil, err
	}
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}

func newCountedBucket(t *testing.T, names ...string) (*storage.BucketHandle, *countingTransport) {
	t.Helper()
	srv := newFake(t, names...)
	ct := &countingTransport{base: srv.HTTPClient().Transport, rng: rand.New(rand.NewPCG(8, 9))}
	client, err := storage.NewClient(context.Background(), option.WithHTTPClient(&http.Client{Transport: ct}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return client.Bucket("b"), ct
}

// TestListRangesRequests bounds the list requests splitting adds, on names whose key
// space is mostly empty above each page: long names sharing long prefixes, so that
// halves split off come back empty and are split again.
func TestListRangesRequests(t *testing.T) {
	long := strings.Repeat("x", 200)
	var sparse []string
	for i := range 40 {
		sparse = append(sparse, fmt.Sprintf("%s/%03d", long, i), fmt.Sprintf("%s/%03d/%s", long, i, long))
	}
	slices.Sort(sparse)
	tests := []struct {
		name  string
		names []string
	}{
		{"sequential", seqNames(150)},
		{"long shared prefixes", sparse},
	}
	for _, tt := range tests {
		for _, workers := range []int{2, 8} {
			t.Run(fmt.Sprintf("%s, %d workers", tt.name, workers), func(t *testing.T) {
				b, ct := newCountedBucket(t, tt.names...)
				const pageSize = 5
				cfg := Config{Bucket: "b", PageSize: pageSize}
				res := withTimeout(t, 10*time.Second, func() listResult {
					st, err := ListRanges(context.Background(), b, cfg, []Range{{}}, workers, RangeFuncs{
						Object: func(int, *storage.ObjectAttrs) error { return nil },
					})
					return listResult{st, err}
				})
				if res.err != nil || res.st.Listed != int64(len(tt.names)) {
					t.Fatalf("ListRanges = %+v, %v; want %d listed", res.st, res.err, len(tt.names))
				}
				// One lister needs len/pageSize requests. Each split adds a request
				// at most, and ListRanges splits a range once per page it fetches, or
				// again when the half split off came back empty; the bound below is
				// loose on purpose, it catches a split loop, not a tuning change.
				pages := int64(len(tt.names)/pageSize + 1)
				if got, limit := ct.lists.Load(), 4*pages+int64(workers); got > limit {
					t.Errorf("%d list requests for %d pages with %d workers, want at most %d", got, pages, workers, limit)
				}
				t.Logf("%d list requests for %d pages", ct.lists.Load(), pages)
			})
		}
	}
}

// TestSplitPointEdges checks split points next to control bytes, bytes above ASCII and
// multi-byte runes, and that splitting toward lo, as ListRanges does while the halves
// split off come back empty, ends after a bounded number of steps.
func TestSplitPointEdges(t *testing.T) {
	los := []string{
		"", "a", "a\x00", "a\x01", "a\x1f", "a~", "a\x7f", "a\x7f\x7f", "~~~~", "ÿ", "é",
		"日本", "\U0001F600", "a\n", strings.Repeat("~", 50), strings.Repeat("\x7f", 20),
		"data/2026/099/object-000099009.json",
	}
	for _, lo := range los {
		hi, steps := "", 0
		for {
			m, ok := splitPoint(lo, hi)
			if !ok {
				break
			}
			if m <= lo || (hi != "" && m >= hi) || !utf8.ValidString(m) {
				t.Fatalf("splitPoint(%q, %q) = %q, not valid UTF-8 strictly between", lo, hi, m)
			}
			hi = m
			steps++
			if steps > 8*(len(lo)+2) {
				t.Fatalf("splitPoint toward %q: still splitting after %d steps, at %q", lo, steps, hi)
			}
		}
		if lo != "" && steps == 0 && utf8.ValidString(lo) {
			t.Errorf("splitPoint(%q, \"\") found no split point", lo)
		}
	}
	// aim's bound is above last and never past end.
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		first, last, end := randomName(rng), randomName(rng), randomName(rng)
		if first > last {
			first, last = last, first
		}
		if rng.IntN(3) == 0 {
			end = ""
		} else if end <= last {
			continue
		}
		got := aim(first, last, end)
		if got <= last && got != "" || end != "" && got > end || end != "" && got == "" {
			t.Fatalf("aim(%q, %q, %q) = %q, want above last and at most end", first, last, end, got)
		}
	}
}

// TestStealAfterListed checks a range whose lister has found its end is not split, where
// a full last page carries a page token that leads to an empty page, as Cloud Storage
// may answer: the split would follow the range's Done. It drives one lister by hand, to
// stop between the range's end and work marking it done.
func TestStealAfterListed(t *testing.T) {
	b, ct := newCountedBucket(t, seqNames(9)...) // three full pages
	ct.trailing = 1
	l := &lister{cfg: Config{Bucket: "b", PageSize: 3}, b: b, items: make(chan item, 10),
		live: map[int]*span{0: {parent: -1}}, n: 1}
	l.cond = sync.NewCond(&l.mu)
	if err := l.list(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if r, ok := l.steal(); ok {
		t.Errorf("steal() split range 0, listed to its end, into range %d at %q", r, l.live[r].From)
	}
}
