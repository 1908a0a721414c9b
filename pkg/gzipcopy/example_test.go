package gzipcopy_test

import (
	"fmt"

	"github.com/sluice-dev/sluice/pkg/gzipcopy"
)

func ExampleCopyName() {
	// The same object name in two buckets gets two copies.
	fmt.Println(gzipcopy.CopyName("copies/", "acme-ingest", "logs/app 1.jsonl"))
	fmt.Println(gzipcopy.CopyName("copies/", "acme-archive", "logs/app 1.jsonl"))
	// Output:
	// copies/acme-ingest/logs/app 1.jsonl.gz
	// copies/acme-archive/logs/app 1.jsonl.gz
}
