package output_test

import (
	"fmt"

	"github.com/sluice-dev/sluice/pkg/output"
)

func ExampleWriter_ChunkSize() {
	w := output.Writer{MaxChunk: 1 << 20}
	for _, hint := range []int64{0, 100, 256 << 10, 256<<10 + 1, 64 << 20, -1} {
		fmt.Println(hint, w.ChunkSize(hint))
	}
	// Output:
	// 0 262144
	// 100 262144
	// 262144 262144
	// 262145 524288
	// 67108864 1048576
	// -1 1048576
}
