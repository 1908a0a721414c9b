// Package checksum provides a processor that verifies objects against their stored
// hashes and records the result.
//
// For each object it streams the content once, computing CRC32C (Castagnoli) and MD5,
// compares them with every stored hash it knows (the CRC32C Cloud Storage reports on
// read, and the CRC32C and MD5 of the notification payload), and writes one JSON Record
// per object generation under a results bucket and prefix (see RecordName).
//
// # Mismatches
//
// A mismatch is a result, not an error: the record is the output. When the computed
// size, CRC32C or MD5 differs from one that is known, the record says match:false and
// its Mismatch field lists each check that failed ("size", "crc32c", "payload_crc32c",
// "payload_md5", "payload_size"); the record is written and the message acknowledged
// like any other.
//
// That includes a stored CRC32C that the content does not match. The storage client
// checks it itself and fails the last Read ("bad CRC on read"). Retrying cannot help:
// a corrupted stored object reads the same way every time, so nacking would only read it
// again until the subscription's dead-letter policy took the message, with no record of
// what was found, and dead-lettering would hide the finding in a topic. So when the read
// fails after exactly the stored size was read and the hash of what was read differs
// from the stored CRC32C, the failure is taken as that check's verdict: the record is
// written with "crc32c" in Mismatch. The test is on the bytes, not on the client's error,
// which has no exported sentinel. Any read error before the end stays transient and is
// retried, as does a failed read whose bytes do match the stored CRC32C.
//
// The case this misjudges is good stored bytes corrupted on their way to the client yet
// not caught by TLS (or by the gRPC client's per-chunk checks, which fail a read before
// its end): rare enough that a record saying so, which a replay corrects, costs less
// than retries that almost always read the same corrupted bytes. To verify an object
// again, delete its record and replay it.
//
// A record name longer than Cloud Storage's 1024-byte limit fails with a
// process.Permanent error before the object is read (see package output).
package checksum

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"strconv"
	"sync"
	"time"

	"cloud.google.com/go/storage"

	"github.com/sluice-dev/sluice/pkg/notify"
	"github.com/sluice-dev/sluice/pkg/output"
	"github.com/sluice-dev/sluice/pkg/process"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Record is the JSON result written for one object generation.
type Record struct {
	Bucket     string `json:"bucket"`
	Name       string `json:"name"`
	Generation int64  `json:"generation"`
	Size       int64  `json:"size"`
	// CRC32C and MD5 are the computed hashes, base64-encoded as Cloud Storage shows them.
	CRC32C string `json:"crc32c"`
	MD5    string `json:"md5"`
	// Match is true when every stored hash and size known for the object equals the
	// computed one. Checked lists what was compared.
	Match   bool     `json:"match"`
	Checked []string `json:"checked"`
	// Mismatch names what differed, when Match is false.
	Mismatch []string  `json:"mismatch,omitempty"`
	Worker   string    `json:"worker"`
	Time     time.Time `json:"time"`
}

// Config configures a Processor.
type Config struct {
	// Bucket receives the records. Required.
	Bucket string
	// Prefix is prepended to every record name, e.g. "results/". Optional.
	Prefix string
	// Writer sizes and writes the records.
	Writer output.Writer
	// Now returns the time stamped on records; nil means time.Now.
	Now func() time.Time
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	if c.Bucket == "" {
		return errors.New("checksum: no results bucket")
	}
	return nil
}

// Processor is the checksum processor. It is safe for concurrent use.
type Processor struct {
	cfg     Config
	results *storage.BucketHandle
}

// New returns a Processor that writes records through client.
func New(client *storage.Client, cfg Config) (*Processor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Processor{cfg: cfg, results: client.Bucket(cfg.Bucket)}, nil
}

// RecordName returns where the record for key is written: the prefix, the source bucket,
// the object name exactly as it is, "@", the generation and ".json". The generation in
// the name makes each version's record distinct, so an overwrite gets its own record.
func RecordName(prefix string, key notify.Key) string {
	return prefix + key.Bucket + "/" + key.Name + "@" + strconv.FormatInt(key.Generation, 10) + ".json"
}

// bufPool holds copy buffers, so that hashing a stream allocates nothing per object.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// Process hashes obj and writes its record, whether or not the hashes match (see the
// package documentation). It returns an error wrapping process.ErrDuplicate if the
// record already exists, and a process.Permanent error if the record's name is too
// long.
func (p *Processor) Process(ctx context.Context, obj *process.Object) error {
	name := RecordName(p.cfg.Prefix, obj.Event.Key())
	if err := output.CheckName(name); err != nil {
		return process.Permanent(fmt.Errorf("record of %s: %w", obj.Event.Key(), err))
	}

	c, m := crc32.New(castagnoli), md5.New()
	buf := bufPool.Get().(*[]byte)
	n, err := io.CopyBuffer(io.MultiWriter(c, m), obj.Body, *buf)
	bufPool.Put(buf)
	if err != nil && !storedMismatch(obj, n, c.Sum32()) {
		return fmt.Errorf("read %s: %w", obj.Event.Key(), err)
	}

	rec := p.record(obj, n, c, m)
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode record: %w", err)
	}
	data = append(data, '\n')
	meta := output.Meta{ContentType: "application/json", SizeHint: int64(len(data))}
	return p.cfg.Writer.Create(ctx, p.results.Object(name), meta, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// storedMismatch reports whether a read that failed after n bytes failed because the
// content does not match the stored CRC32C: all of it was read, and its hash differs.
func storedMismatch(obj *process.Object, n int64, sum uint32) bool {
	return obj.HasCRC32C && n == obj.Size && sum != obj.CRC32C
}

func (p *Processor) record(obj *process.Object, n int64, c hash.Hash32, m hash.Hash) Record {
	sum, digest := c.Sum32(), m.Sum(nil)
	rec := Record{
		Bucket:     obj.Event.Bucket,
		Name:       obj.Event.Name,
		Generation: obj.Event.Generation,
		Size:       n,
		CRC32C:     base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, sum)),
		MD5:        base64.StdEncoding.EncodeToString(digest),
		Checked:    []string{},
		Worker:     obj.Worker,
		Time:       p.cfg.Now().UTC(),
	}
	check := func(what string, ok bool) {
		rec.Checked = append(rec.Checked, what)
		if !ok {
			rec.Mismatch = append(rec.Mismatch, what)
		}
	}
	check("size", n == obj.Size)
	if obj.HasCRC32C {
		check("crc32c", sum == obj.CRC32C)
	}
	if obj.Event.HasCRC32C {
		check("payload_crc32c", sum == obj.Event.CRC32C)
	}
	if obj.Event.MD5 != nil {
		check("payload_md5", string(digest) == string(obj.Event.MD5))
	}
	if obj.Event.Size >= 0 {
		check("payload_size", n == obj.Event.Size)
	}
	rec.Match = len(rec.Mismatch) == 0
	return rec
}
