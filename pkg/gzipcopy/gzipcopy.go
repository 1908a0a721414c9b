// Package gzipcopy provides a processor that writes a gzip-compressed copy of each object.
//
// The copy of gs://SRC/NAME is written to gs://OUT/PREFIX+SRC+"/"+NAME+".gz" (see
// CopyName), with the source bucket and generation in its custom metadata. The bucket is
// part of the name because object names are only unique within a bucket: gs://a/x and
// gs://b/x get two copies.
//
// One copy exists per source object, and it only ever moves forward: a copy is replaced
// by a newer source generation, never by an older or the same one, so redeliveries and
// out-of-order overwrites settle correctly. A copy counts as holding a generation only if
// its metadata names the same source bucket; any other copy at that name (one from
// another bucket, written under the bucket-less names of earlier versions, or by
// something other than Sluice) is replaced.
//
// A source stored with Content-Encoding "gzip" arrives still compressed (the worker reads
// stored bytes), so its copy is those bytes unchanged rather than gzip of gzip, and the
// copy's MetaSourceEncoding says so. Either way a copy gunzips once to the source's
// content. The stored bytes are not checked to be gzip: they are copied as stored.
//
// A copy name longer than Cloud Storage's 1024-byte limit fails with a process.Permanent
// error before any request (see package output), so the message is dead-lettered.
package gzipcopy

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	"cloud.google.com/go/storage"

	"github.com/sluice-dev/sluice/pkg/output"
	"github.com/sluice-dev/sluice/pkg/process"
)

// Metadata keys set on every copy.
const (
	MetaSourceBucket     = "sluice-source-bucket"
	MetaSourceGeneration = "sluice-source-generation"
	// MetaSourceEncoding is set to "gzip" on the copy of a source stored with
	// Content-Encoding gzip: its copy is the stored bytes, not compressed again.
	MetaSourceEncoding = "sluice-source-encoding"
)

// Config configures a Processor.
type Config struct {
	// Bucket receives the copies. Required.
	Bucket string
	// Prefix is prepended to every copy's name. Optional.
	Prefix string
	// Level is the gzip level; 0 means gzip.DefaultCompression.
	Level int
	// Writer sizes and writes the copies.
	Writer output.Writer
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	if c.Bucket == "" {
		return errors.New("gzipcopy: no output bucket")
	}
	if c.Level != 0 && (c.Level < gzip.HuffmanOnly || c.Level > gzip.BestCompression) {
		return fmt.Errorf("gzipcopy: gzip level %d out of range", c.Level)
	}
	return nil
}

// Processor is the gzip processor. It is safe for concurrent use.
type Processor struct {
	cfg   Config
	out   *storage.BucketHandle
	pools sync.Pool
}

// New returns a Processor that writes copies through client.
func New(client *storage.Client, cfg Config) (*Processor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Level == 0 {
		cfg.Level = gzip.DefaultCompression
	}
	return &Processor{cfg: cfg, out: client.Bucket(cfg.Bucket)}, nil
}

// CopyName returns the name of the copy of gs://bucket/name: the prefix, the source
// bucket, "/", the object name exactly as it is, and ".gz". It is the same for every
// generation, since a copy holds only the newest one.
func CopyName(prefix, bucket, name string) string {
	return prefix + bucket + "/" + name + ".gz"
}

// Process compresses obj into its copy, or copies it as stored if it is stored with
// Content-Encoding gzip. It returns an error wrapping process.ErrDuplicate if the copy
// already holds this generation of this object, one wrapping process.ErrSuperseded if
// it holds a newer one, and a process.Permanent error if the copy's name is too long.
func (p *Processor) Process(ctx context.Context, obj *process.Object) error {
	name := CopyName(p.cfg.Prefix, obj.Event.Bucket, obj.Event.Name)
	if err := output.CheckName(name); err != nil {
		return process.Permanent(fmt.Errorf("copy of %s: %w", obj.Event.Key(), err))
	}
	dst := p.out.Object(name)
	src, gen := obj.Event.Bucket, obj.Event.Generation

	current, err := p.sourceGeneration(ctx, dst)
	if err != nil {
		return err
	}
	if err := compare(current, src, gen); err != nil {
		return err
	}

	meta := output.Meta{
		ContentType: "application/gzip",
		Metadata: map[string]string{
			MetaSourceBucket:     src,
			MetaSourceGeneration: strconv.FormatInt(gen, 10),
		},
		// Compressed output is at most about the input's size.
		SizeHint: obj.Size,
	}
	write := func(w io.Writer) error { return p.compress(w, obj.Body) }
	if obj.ContentEncoding == "gzip" {
		meta.Metadata[MetaSourceEncoding] = "gzip"
		write = func(w io.Writer) error { return copyStored(w, obj.Body) }
	}
	if current.generation == 0 {
		err = p.cfg.Writer.Create(ctx, dst, meta, write)
	} else {
		err = p.cfg.Writer.Replace(ctx, dst, current.generation, meta, write)
	}
	if errors.Is(err, process.ErrDuplicate) || errors.Is(err, output.ErrConflict) {
		// Another worker wrote the copy meanwhile: see what it holds now. If it is
		// older than ours, the message is retried and the next attempt replaces it.
		if now, aerr := p.sourceGeneration(ctx, dst); aerr == nil {
			if cerr := compare(now, src, gen); cerr != nil {
				return cerr
			}
		}
		// %v, not %w: this is transient, and must not read as a duplicate.
		return fmt.Errorf("copy of generation %d lost a race with another write: %v", gen, err)
	}
	return err
}

// copyState is what the existing copy holds: its own generation (0 if there is no copy)
// and the source bucket and generation it was made from.
type copyState struct {
	generation int64
	bucket     string
	source     int64
}

func (p *Processor) sourceGeneration(ctx context.Context, dst *storage.ObjectHandle) (copyState, error) {
	attrs, err := dst.Attrs(ctx)
	if errors.Is(err, storage.ErrObjectNotExist) {
		return copyState{}, nil
	}
	if err != nil {
		return copyState{}, fmt.Errorf("stat copy %q: %w", dst.ObjectName(), err)
	}
	src, err := strconv.ParseInt(attrs.Metadata[MetaSourceGeneration], 10, 64)
	if err != nil {
		// A copy without our metadata was written by someone else: replace it.
		src = 0
	}
	return copyState{
		generation: attrs.Generation,
		bucket:     attrs.Metadata[MetaSourceBucket],
		source:     src,
	}, nil
}

// compare decides what the existing copy cur means for generation gen of an object in
// bucket. Only a copy made from the same bucket can be a duplicate or newer: generations
// of different objects are unrelated numbers.
func compare(cur copyState, bucket string, gen int64) error {
	have := cur.source
	switch {
	case cur.bucket != bucket || have == 0 || have < gen:
		return nil
	case have == gen:
		return fmt.Errorf("copy of generation %d: %w", gen, process.ErrDuplicate)
	default:
		return fmt.Errorf("copy holds generation %d, newer than %d: %w", have, gen, process.ErrSuperseded)
	}
}

// copyStored copies an already gzip-encoded source as it is stored.
func copyStored(w io.Writer, r io.Reader) error {
	if _, err := io.Copy(w, r); err != nil {
		return fmt.Errorf("copy stored gzip: %w", err)
	}
	return nil
}

func (p *Processor) compress(w io.Writer, r io.Reader) error {
	zw, _ := p.pools.Get().(*gzip.Writer)
	if zw == nil {
		var err error
		if zw, err = gzip.NewWriterLevel(w, p.cfg.Level); err != nil {
			return err
		}
	} else {
		zw.Reset(w)
	}
	defer p.pools.Put(zw)
	if _, err := io.Copy(zw, r); err != nil {
		return fmt.Errorf("compress: %w", err)
	}
	return zw.Close()
}
