package checksum_test

import (
	"fmt"

	"github.com/sluice-dev/sluice/pkg/checksum"
	"github.com/sluice-dev/sluice/pkg/notify"
)

func ExampleRecordName() {
	key := notify.Key{Bucket: "acme-ingest", Name: "logs/app 1.jsonl", Generation: 1764494047512431}
	fmt.Println(checksum.RecordName("results/", key))
	// An overwrite is a new generation, with a record of its own.
	key.Generation++
	fmt.Println(checksum.RecordName("results/", key))
	// Output:
	// results/acme-ingest/logs/app 1.jsonl@1764494047512431.json
	// results/acme-ingest/logs/app 1.jsonl@1764494047512432.json
}
