package memlimit_test

import (
	"fmt"

	"github.com/sluice-dev/sluice/pkg/memlimit"
)

func ExampleDetect() {
	l := memlimit.Detect()
	if l.Source == memlimit.None {
		fmt.Println("no memory limit: size flow control by hand")
		return
	}
	fmt.Println("memory limit", l)
}

func ExampleFormatBytes() {
	fmt.Println(memlimit.FormatBytes(512 << 20))
	// Output: 512MiB
}
