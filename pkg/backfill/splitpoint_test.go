package backfill

import (
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

func TestSplitPoint(t *testing.T) {
	tests := []struct {
		lo, hi string
		want   string // "" when no split point exists
	}{
		{"", "", "?"},
		{"data/2026/009/object-000099009", "", "q"},
		{"data/2026/009/object-000099009", "q", "j"},
		{"data/1", "data/9", "data/5"},
		{"data/1", "data/2", "data/1?"},
		{"a", "a!", "a "},
		{"a~", "b", "a~?"},
		{"é", "ë", "é?"},
		{"a", "é", "~"},
		{"日本/a", "", "日本W"},
		{"", "\x00", ""},
		{"a", "a\x00", ""},
		{"b", "a", ""},
		{"a", "a", ""},
	}
	for _, tt := range tests {
		m, ok := splitPoint(tt.lo, tt.hi)
		if ok != (tt.want != "") || m != tt.want {
			t.Errorf("splitPoint(%q, %q) = %q, %v; want %q", tt.lo, tt.hi, m, ok, tt.want)
		}
	}
}

// TestSplitPointBetween checks the contract on random pairs of names, ASCII and not:
// a split point lies strictly between its bounds and is valid UTF-8.
func TestSplitPointBetween(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("ab/~ \x00\x7fé日")
	name := func() string {
		rs := make([]rune, r.IntN(6))
		for i := range rs {
			rs[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(rs)
	}
	found := 0
	for range 100000 {
		lo, hi := name(), name()
		if r.IntN(4) == 0 {
			hi = ""
		} else if hi <= lo {
			lo, hi = hi, lo
		}
		m, ok := splitPoint(lo, hi)
		if !ok {
			continue
		}
		found++
		if m <= lo || (hi != "" && m >= hi) || !utf8.ValidString(m) {
			t.Fatalf("splitPoint(%q, %q) = %q, not a valid name strictly between", lo, hi, m)
		}
	}
	if found < 50000 {
		t.Errorf("split points found for %d of 100,000 pairs, want most", found)
	}
}

func TestAim(t *testing.T) {
	tests := []struct{ first, last, end, want string }{
		{"data/2026/000/x", "data/2026/099/x", "", "data/20260"},
		{"data/2026/000/x", "data/2026/099/x", "data/2026/5", "data/2026/5"},
		{"a", "b", "", ""},
		{"ab", "ac", "z", "z"},
		{"a/b/1", "a/b/9", "z", "a/c"},
		{"x", "x", "", ""},
	}
	for _, tt := range tests {
		if got := aim(tt.first, tt.last, tt.end); got != tt.want {
			t.Errorf("aim(%q, %q, %q) = %q, want %q", tt.first, tt.last, tt.end, got, tt.want)
		}
	}
	// The example in aim's doc: the split points a lister meets when each half split
	// off comes back empty.
	end, want := "", []string{"data/2026/W", "data/2026/C", "data/2026/9"}
	for _, w := range want {
		at, ok := splitPoint("data/2026/099/x", aim("data/2026/000/x", "data/2026/099/x", end))
		if !ok || at != w {
			t.Fatalf("split point %q, %v; want %q", at, ok, w)
		}
		end = at
	}
}
