package main

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"cloud.google.com/go/storage"

	"github.com/sluice-dev/sluice/pkg/checksum"
	"github.com/sluice-dev/sluice/pkg/notify"
)

// report is what verification found.
type report struct {
	ok, missing, wrong int
	perWorker          map[string]int
	bytes              int64
	examples           []string
}

func (r report) bad() int { return r.missing + r.wrong }

// verify reads the record of every file and checks it against what was uploaded: the
// same generation and size, the CRC32C computed locally, and match=true.
func verify(ctx context.Context, results *storage.BucketHandle, files []*file) (report, error) {
	rep := report{perWorker: map[string]int{}}
	var mu sync.Mutex
	work := make(chan *file)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range work {
				rec, err := readRecord(ctx, results, f)
				mu.Lock()
				switch {
				case err != nil:
					rep.missing++
					rep.note(fmt.Sprintf("%q: %v", f.name, err))
				case !correct(rec, f):
					rep.wrong++
					rep.note(fmt.Sprintf("%q: record %+v does not match the upload", f.name, rec))
				default:
					rep.ok++
					rep.bytes += f.size
					rep.perWorker[rec.Worker]++
				}
				mu.Unlock()
			}
		}()
	}
	for _, f := range files {
		work <- f
	}
	close(work)
	wg.Wait()
	return rep, ctx.Err()
}

func (r *report) note(s string) {
	if len(r.examples) < 5 {
		r.examples = append(r.examples, s)
	}
}

func readRecord(ctx context.Context, results *storage.BucketHandle, f *file) (checksum.Record, error) {
	key := notify.Key{Bucket: ingestBucket, Name: f.name, Generation: f.generation}
	r, err := results.Object(checksum.RecordName(resultsPrefix, key)).NewReader(ctx)
	if err != nil {
		return checksum.Record{}, err
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		return checksum.Record{}, err
	}
	var rec checksum.Record
	if err := json.Unmarshal(data, &rec); err != nil {
		return checksum.Record{}, fmt.Errorf("record is not JSON: %w", err)
	}
	return rec, nil
}

func correct(rec checksum.Record, f *file) bool {
	crc := base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, f.crc32c))
	return rec.Match && rec.Bucket == ingestBucket && rec.Name == f.name &&
		rec.Generation == f.generation && rec.Size == f.size && rec.CRC32C == crc
}
