package checkpoint

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// splitModel drives a Ranges the way a backfill with work stealing does: each range adds
// its names in order, tokens settle in any order, ranges split above the names they have
// added, and now and then the run crashes and resumes from Position, through JSON.
type splitModel struct {
	t        *testing.T
	rng      *rand.Rand
	universe []string // every name of the listing, sorted
	settled  map[string]bool

	marks  *Ranges
	ranges []*modelRange // by Ranges index
	tokens map[uint64]string
}

// modelRange is what the model knows of one range of marks.
type modelRange struct {
	r      Range // bounds: After or From, and EndBefore, as splits leave them
	cursor int   // names added
	listed bool
}

func (m *splitModel) names(r Range) []string {
	var out []string
	for _, n := range m.universe {
		if inRange(r, n) {
			out = append(out, n)
		}
	}
	return out
}

func inRange(r Range, name string) bool {
	lo := name > r.After
	if r.From != "" {
		lo = name >= r.From
	}
	return lo && (r.EndBefore == "" || name < r.EndBefore)
}

// resume starts a run on rs: a new Ranges, nothing added, nothing outstanding.
func (m *splitModel) resume(rs []Range) {
	m.marks = NewRanges(rs)
	m.ranges = nil
	for _, r := range rs {
		m.ranges = append(m.ranges, &modelRange{r: r})
	}
	m.tokens = map[uint64]string{}
}

// check fails unless Position covers every name not settled, and no name twice: a
// resume lists the ranges concurrently and would publish it twice.
func (m *splitModel) check(step string) {
	m.t.Helper()
	pending, _ := m.marks.Position()
	for _, n := range m.universe {
		in := 0
		for _, r := range pending {
			if inRange(r, n) {
				in++
			}
		}
		if in == 0 && !m.settled[n] {
			m.t.Fatalf("after %s: Position() = %q leaves out unsettled %q", step, pending, n)
		}
		if in > 1 {
			m.t.Fatalf("after %s: Position() = %q covers %q %d times", step, pending, n, in)
		}
	}
}

// splitAt returns a random string above the names range i has added and inside its
// bounds, or false.
func (m *splitModel) splitAt(i int) (string, bool) {
	mr := m.ranges[i]
	names := m.names(mr.r)
	lo := mr.r.After
	if mr.r.From != "" {
		lo = mr.r.From
	}
	if mr.cursor > 0 {
		lo = names[mr.cursor-1]
	}
	for range 10 {
		at := randomModelName(m.rng)
		if m.rng.IntN(2) == 0 && len(m.universe) > 0 {
			at = m.universe[m.rng.IntN(len(m.universe))] // an existing name: inclusive start
		}
		if at > lo && (mr.r.EndBefore == "" || at < mr.r.EndBefore) {
			if mr.cursor == 0 && mr.r.From != "" && at == mr.r.From {
				continue
			}
			return at, true
		}
	}
	return "", false
}

// step does one random operation and reports false once the run has nothing left to do.
func (m *splitModel) step() bool {
	var addable, listable []int
	for i, mr := range m.ranges {
		if mr.cursor < len(m.names(mr.r)) {
			addable = append(addable, i)
		} else if !mr.listed {
			listable = append(listable, i)
		}
	}
	if len(addable) == 0 && len(listable) == 0 && len(m.tokens) == 0 {
		return false
	}
	switch op := m.rng.IntN(100); {
	case op < 35 && len(addable) > 0:
		i := addable[m.rng.IntN(len(addable))]
		mr := m.ranges[i]
		name := m.names(mr.r)[mr.cursor]
		mr.cursor++
		m.tokens[m.marks.Add(i, name)] = name
		m.check(fmt.Sprintf("Add(%d, %q)", i, name))
	case op < 70 && len(m.tokens) > 0:
		toks := make([]uint64, 0, len(m.tokens))
		for tok := range m.tokens {
			toks = append(toks, tok)
		}
		slices.Sort(toks)
		tok := toks[m.rng.IntN(len(toks))]
		name := m.tokens[tok]
		m.marks.Done(tok)
		m.settled[name] = true
		delete(m.tokens, tok)
		m.check(fmt.Sprintf("Done(%q)", name))
	case op < 80 && len(listable) > 0:
		i := listable[m.rng.IntN(len(listable))]
		m.ranges[i].listed = true
		m.marks.Listed(i)
		m.check(fmt.Sprintf("Listed(%d)", i))
	case op < 98:
		// A listed range may be split too: ListRanges' lister may split a range whose
		// lister has sent its end but not yet marked it done.
		i := m.rng.IntN(len(m.ranges))
		at, ok := m.splitAt(i)
		if !ok {
			return true
		}
		parent := m.ranges[i]
		child := &modelRange{r: Range{From: at, EndBefore: parent.r.EndBefore}}
		parent.r.EndBefore = at
		if got := m.marks.Split(i, at); got != len(m.ranges) {
			m.t.Fatalf("Split(%d, %q) = %d, want %d", i, at, got, len(m.ranges))
		}
		m.ranges = append(m.ranges, child)
		m.check(fmt.Sprintf("Split(%d, %q)", i, at))
	default:
		// Crash and resume from the position, through the checkpoint's JSON.
		pending, _ := m.marks.Position()
		b, err := json.Marshal(State{Version: version, Listing: Listing{Bucket: "b"}, Ranges: pending})
		if err != nil {
			m.t.Fatal(err)
		}
		var s State
		if err := json.Unmarshal(b, &s); err != nil {
			m.t.Fatal(err)
		}
		m.resume(s.Resume(Listing{Bucket: "b"}))
		m.check(fmt.Sprintf("resume from %+v", pending))
	}
	return true
}

func randomModelName(rng *rand.Rand) string {
	const alphabet = "ab/~ \x01é"
	var b strings.Builder
	for range 1 + rng.IntN(4) {
		r := []rune(alphabet)
		b.WriteRune(r[rng.IntN(len(r))])
	}
	return b.String()
}

// TestRangesSplitCovers checks Position never leaves out a name not yet settled while
// ranges add, settle, split and resume in random interleavings, and that the listing
// ends with every name settled and nothing pending.
func TestRangesSplitCovers(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for iter := range 300 {
		seen := map[string]bool{}
		var universe []string
		for range rng.IntN(40) {
			if n := randomModelName(rng); !seen[n] {
				seen[n] = true
				universe = append(universe, n)
			}
		}
		slices.Sort(universe)
		m := &splitModel{t: t, rng: rng, universe: universe, settled: map[string]bool{}}
		m.resume([]Range{{}})
		steps := 0
		for m.step() {
			if steps++; steps > 100000 {
				t.Fatalf("case %d: still running after %d steps", iter, steps)
			}
		}
		if pending, _ := m.marks.Position(); len(pending) != 0 {
			t.Fatalf("case %d: Position() at the end = %+v, want none", iter, pending)
		}
		for _, n := range universe {
			if !m.settled[n] {
				t.Fatalf("case %d: %q never settled", iter, n)
			}
		}
	}
}
