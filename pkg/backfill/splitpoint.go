package backfill

import "unicode/utf8"

// Split points are printable ASCII bytes appended to a prefix of a listed name: a valid
// UTF-8 string that Cloud Storage accepts as a list offset and that JSON (the
// checkpoint) keeps byte for byte.
const (
	lowestSplitByte  = 0x20 // space
	highestSplitByte = 0x7e // ~
)

// splitPoint returns a string m with lo < m < hi that cuts the names between them about
// in half by key space, at the first byte where lo and hi differ (or, when no printable
// byte fits there, at the bytes of lo after it); hi "" means no upper bound. ok is false when there is no such m of printable ASCII after a prefix of lo that
// is valid UTF-8 (as between "a" and "a\x00").
func splitPoint(lo, hi string) (string, bool) {
	m, ok := between(lo, hi)
	if !ok || !utf8.ValidString(m) {
		return "", false
	}
	return m, true
}

// between is splitPoint without the UTF-8 check, which only the whole string can pass.
func between(lo, hi string) (m string, ok bool) {
	i := 0
	for i < len(lo) && i < len(hi) && lo[i] == hi[i] {
		i++
	}
	a := -1 // lo's byte at i; -1 when lo ends there (lo is a prefix of hi)
	if i < len(lo) {
		a = int(lo[i])
	}
	var b int // hi's byte at i: above every byte when hi is unbounded
	switch {
	case hi == "":
		b = highestSplitByte + 1
		if a > highestSplitByte {
			b = 0x100
		}
	case i < len(hi):
		b = int(hi[i])
	default:
		return "", false // hi is a prefix of lo: lo >= hi
	}
	if a >= b {
		return "", false
	}
	lowest, highest := max(a+1, lowestSplitByte), min(b-1, highestSplitByte)
	if lowest <= highest {
		c := min(max((a+b)/2, lowest), highest)
		m = lo[:i] + string(rune(c))
	} else {
		if a < 0 {
			return "", false
		}
		// No printable byte fits between a and b: keep lo's byte and split what follows
		// it, where every string is below hi.
		rest, ok := between(lo[i+1:], "")
		if !ok {
			return "", false
		}
		m = lo[:i+1] + rest
	}
	return m, true
}
