package notify_test

import (
	"fmt"

	"github.com/sluice-dev/sluice/pkg/notify"
)

func ExampleDecode() {
	attrs := map[string]string{
		"eventType":        "OBJECT_FINALIZE",
		"payloadFormat":    "JSON_API_V1",
		"bucketId":         "acme-ingest",
		"objectId":         "logs/app 1.jsonl",
		"objectGeneration": "1764494047512431",
	}
	data := []byte(`{"bucket":"acme-ingest","name":"logs/app 1.jsonl","size":"48213"}`)

	ev, err := notify.Decode(attrs, data)
	if err != nil {
		fmt.Println("reject:", err)
		return
	}
	if reason := ev.SkipReason(); reason != "" {
		fmt.Println("skip:", reason)
		return
	}
	fmt.Println(ev.Key(), ev.Size)
	// Output: gs://acme-ingest/"logs/app 1.jsonl"#1764494047512431 48213
}

func ExampleEncode() {
	attrs, data := notify.Encode(notify.Event{
		Bucket: "acme-ingest", Name: "a.txt", Generation: 3, Size: -1, Source: notify.SourceBackfill,
	})
	fmt.Println(attrs["eventType"], attrs["payloadFormat"], attrs["source"], len(data))
	// Output: OBJECT_FINALIZE NONE backfill 0
}
