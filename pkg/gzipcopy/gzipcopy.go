// Package gzipcopy provides a processor that writes a gzip-compressed copy of each object.
//
// The copy of gs://SRC/NAME is written to gs://OUT/PREFIX+NAME+".gz", with the source
// bucket and generation in its custom metadata. One copy exists per source name, and it
// only ever moves forward: a copy is replaced by a newer source generation, never by an
// older or the same one, so redeliveries and out-of-order overwrites settle correctly.
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

// CopyName returns the name of the copy of the object called name.
func CopyName(prefix, name string) string { return prefix + name + ".gz" }

// Process compresses obj into its copy. It returns an error wrapping
// process.ErrDuplicate if the copy already holds this generation, and one wrapping
// process.ErrSuperseded if it holds a newer one.
func (p *Processor) Process(ctx context.Context, obj *process.Object) error {
	dst := p.out.Object(CopyName(p.cfg.Prefix, obj.Event.Name))
	gen := obj.Event.Generation

	current, err := p.sourceGeneration(ctx, dst)
	if err != nil {
		return err
	}
	if err := compare(current.source, gen); err != nil {
		return err
	}

	meta := output.Meta{
		ContentType: "application/gzip",
		Metadata: map[string]string{
			MetaSourceBucket:     obj.Event.Bucket,
			MetaSourceGeneration: strconv.FormatInt(gen, 10),
		},
		// Compressed output is at most about the input's size.
		SizeHint: obj.Size,
	}
	write := func(w io.Writer) error { return p.compress(w, obj.Body) }
	if current.generation == 0 {
		err = p.cfg.Writer.Create(ctx, dst, meta, write)
	} else {
		err = p.cfg.Writer.Replace(ctx, dst, current.generation, meta, write)
	}
	if errors.Is(err, process.ErrDuplicate) || errors.Is(err, output.ErrConflict) {
		// Another worker wrote the copy meanwhile: see what it holds now. If it is
		// older than ours, the message is retried and the next attempt replaces it.
		if now, aerr := p.sourceGeneration(ctx, dst); aerr == nil {
			if cerr := compare(now.source, gen); cerr != nil {
				return cerr
			}
		}
		// %v, not %w: this is transient, and must not read as a duplicate.
		return fmt.Errorf("copy of generation %d lost a race with another write: %v", gen, err)
	}
	return err
}

// copyState is what the existing copy holds: its own generation (0 if there is no copy)
// and the source generation it was made from.
type copyState struct{ generation, source int64 }

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
	return copyState{generation: attrs.Generation, source: src}, nil
}

// compare decides what an existing copy of source generation have means for gen.
func compare(have, gen int64) error {
	switch {
	case have == 0 || have < gen:
		return nil
	case have == gen:
		return fmt.Errorf("copy of generation %d: %w", gen, process.ErrDuplicate)
	default:
		return fmt.Errorf("copy holds generation %d, newer than %d: %w", have, gen, process.ErrSuperseded)
	}
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
