package namelist_test

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sluice-dev/sluice/pkg/namelist"
)

func ExampleReader() {
	in := "a b.txt\r\n\ngs://other/dir/\nbad\xff\n"
	r := namelist.NewReader(strings.NewReader(in), namelist.Lines, "bucket")
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, namelist.ErrInvalid) {
			fmt.Println("skip:", err)
			continue
		}
		fmt.Println(rec.URI())
	}
	fmt.Println("blank lines:", r.Blank())
	// Output:
	// gs://bucket/"a b.txt"
	// gs://other/"dir/"
	// skip: line 4: invalid object: name "bad\xff" is not valid UTF-8
	// blank lines: 1
}
