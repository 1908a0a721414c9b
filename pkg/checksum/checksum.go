// Package checksum provides a processor that verifies objects against their stored
// hashes and records the result.
//
// For each object it streams the content once, computing CRC32C (Castagnoli) and MD5,
// compares them with every stored hash it knows (the CRC32C Cloud Storage reports on
// read, and the CRC32C and MD5 of the notification payload), and writes one JSON Record
// per object generation under a results bucket and prefix.
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

// Process hashes obj and writes its record. It returns an error wrapping
// process.ErrDuplicate if the record already exists.
func (p *Processor) Process(ctx context.Context, obj *process.Object) error {
	c, m := crc32.New(castagnoli), md5.New()
	buf := bufPool.Get().(*[]byte)
	n, err := io.CopyBuffer(io.MultiWriter(c, m), obj.Body, *buf)
	bufPool.Put(buf)
	if err != nil {
		return fmt.Errorf("read %s: %w", obj.Event.Key(), err)
	}

	rec := p.record(obj, n, c, m)
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode record: %w", err)
	}
	data = append(data, '\n')
	name := RecordName(p.cfg.Prefix, obj.Event.Key())
	meta := output.Meta{ContentType: "application/json", SizeHint: int64(len(data))}
	return p.cfg.Writer.Create(ctx, p.results.Object(name), meta, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
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
