package checksum_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"flag"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluice-dev/sluice/pkg/checksum"
	"github.com/sluice-dev/sluice/pkg/notify"
	"github.com/sluice-dev/sluice/pkg/process"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the records written")

// TestRecordGolden checks the bytes of records as written, one matching and one not,
// against testdata/record.golden. Run with -update to accept a deliberate change.
func TestRecordGolden(t *testing.T) {
	f := newFixture(t)
	const content = "logs line 1\nlogs line 2\n"
	sum := crc32.Checksum([]byte(content), crc32.MakeTable(crc32.Castagnoli))
	digest := md5.Sum([]byte(content))
	objects := []*process.Object{
		{
			Event: notify.Event{
				Type: notify.Finalize, Bucket: in, Name: "logs/app 1.jsonl", Generation: 1764494047512431,
				Size: int64(len(content)), CRC32C: sum, HasCRC32C: true, MD5: digest[:],
			},
			Size: int64(len(content)), CRC32C: sum, HasCRC32C: true,
		},
		{
			Event: notify.Event{
				Type: notify.Finalize, Bucket: in, Name: "logs/app 2.jsonl", Generation: 1764494047512432,
				Size: int64(len(content)) + 1, CRC32C: sum + 1, HasCRC32C: true, MD5: digest[:],
			},
			Size: int64(len(content)), CRC32C: sum, HasCRC32C: true,
		},
	}
	var got bytes.Buffer
	for _, obj := range objects {
		obj.Body, obj.Worker = strings.NewReader(content), "sluice-worker-7d9f-abcde"
		if err := f.proc.Process(context.Background(), obj); err != nil {
			t.Fatalf("Process(%s) = %v", obj.Event.Key(), err)
		}
		data, err := f.env.Read(out, checksum.RecordName(prefix, obj.Event.Key()))
		if err != nil {
			t.Fatal(err)
		}
		got.Write(data)
	}

	path := filepath.Join("testdata", "record.golden")
	if *update {
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got.String()); diff != "" {
		t.Errorf("records differ from %s (-want +got):\n%s", path, diff)
	}
}
