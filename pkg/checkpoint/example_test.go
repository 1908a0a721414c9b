package checkpoint_test

import (
	"fmt"

	"github.com/sluice-dev/sluice/pkg/checkpoint"
)

// Two ranges listed concurrently each keep their own watermark; a range leaves the
// position once it is listed and settled.
func ExampleRanges() {
	rs := checkpoint.NewRanges([]checkpoint.Range{{EndBefore: "m"}, {After: "l"}})
	a := rs.Add(0, "a")
	b := rs.Add(0, "b")
	x := rs.Add(1, "x")
	rs.Done(b) // b settles before a: the first watermark waits
	rs.Done(x)
	rs.Listed(1)
	pending, passed := rs.Position()
	fmt.Printf("%+v passed %d\n", pending, passed)

	rs.Done(a)
	pending, passed = rs.Position()
	fmt.Printf("%+v passed %d\n", pending, passed)
	// Output:
	// [{After: From: EndBefore:m}] passed 1
	// [{After:b From: EndBefore:m}] passed 3
}
