package gzipcopy_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/storage"

	"github.com/sluice-dev/sluice/deploy/local/stack"
	"github.com/sluice-dev/sluice/internal/stacktest"
	"github.com/sluice-dev/sluice/pkg/gzipcopy"
	"github.com/sluice-dev/sluice/pkg/notify"
	"github.com/sluice-dev/sluice/pkg/output"
	"github.com/sluice-dev/sluice/pkg/process"
)

const (
	prefix = "copies/"
	out    = "out"
)

// fixture is a stack with source buckets "src-a" and "src-b" and a gzip processor writing to out.
type fixture struct {
	env  *stacktest.Env
	proc *gzipcopy.Processor
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := stacktest.Start(t, stack.Config{Buckets: []string{"src-a", "src-b", out}})
	proc, err := gzipcopy.New(env.Storage, gzipcopy.Config{Bucket: out, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{env: env, proc: proc}
}

// upload writes data to gs://bucket/name with the given Content-Encoding.
func (f *fixture) upload(t *testing.T, bucket, name, encoding string, data []byte) *storage.ObjectAttrs {
	t.Helper()
	w := f.env.Storage.Bucket(bucket).Object(name).NewWriter(context.Background())
	w.ContentEncoding = encoding
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("upload gs://%s/%s: %v", bucket, name, err)
	}
	return w.Attrs()
}

// process reads the object as the worker does (stored bytes, no transcoding) and runs
// the processor on it.
func (f *fixture) process(t *testing.T, a *storage.ObjectAttrs) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h := f.env.Storage.Bucket(a.Bucket).Object(a.Name).Generation(a.Generation).ReadCompressed(true)
	r, err := h.NewReader(ctx)
	if err != nil {
		t.Fatalf("open gs://%s/%s: %v", a.Bucket, a.Name, err)
	}
	defer r.Close()
	return f.proc.Process(ctx, &process.Object{
		Event: notify.Event{
			Type: notify.Finalize, Bucket: a.Bucket, Name: a.Name, Generation: a.Generation, Size: -1,
		},
		Size:            r.Attrs.Size,
		ContentEncoding: r.Attrs.ContentEncoding,
		Body:            r,
	})
}

// copyOf returns the gunzipped content and the metadata of the copy of gs://bucket/name.
func (f *fixture) copyOf(t *testing.T, bucket, name string) (string, map[string]string) {
	t.Helper()
	obj := f.env.Storage.Bucket(out).Object(gzipcopy.CopyName(prefix, bucket, name))
	attrs, err := obj.Attrs(context.Background())
	if err != nil {
		t.Fatalf("copy of gs://%s/%s: %v", bucket, name, err)
	}
	data, err := f.env.Read(out, obj.ObjectName())
	if err != nil {
		t.Fatal(err)
	}
	return gunzip(t, data), attrs.Metadata
}

func gunzip(t *testing.T, data []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("copy is not gzip: %v", err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip copy: %v", err)
	}
	return string(plain)
}

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestProcess(t *testing.T) {
	f := newFixture(t)

	t.Run("redelivery is a duplicate", func(t *testing.T) {
		a := f.upload(t, "src-a", "once.txt", "", []byte("once"))
		if err := f.process(t, a); err != nil {
			t.Fatalf("first Process: %v", err)
		}
		if err := f.process(t, a); !errors.Is(err, process.ErrDuplicate) {
			t.Errorf("second Process = %v, want ErrDuplicate", err)
		}
		if got, _ := f.copyOf(t, "src-a", "once.txt"); got != "once" {
			t.Errorf("copy = %q, want %q", got, "once")
		}
	})

	t.Run("same name in two buckets", func(t *testing.T) {
		// b's object is newer, and processed first: with one copy per name, a's would
		// then be superseded by a generation of an unrelated object.
		a := f.upload(t, "src-a", "x", "", []byte("from a"))
		b := f.upload(t, "src-b", "x", "", []byte("from b"))
		if err := f.process(t, b); err != nil {
			t.Fatalf("Process(b/x) = %v", err)
		}
		if err := f.process(t, a); err != nil {
			t.Fatalf("Process(a/x) = %v, want nil", err)
		}
		for _, src := range []*storage.ObjectAttrs{a, b} {
			got, meta := f.copyOf(t, src.Bucket, "x")
			want := "from " + strings.TrimPrefix(src.Bucket, "src-")
			if got != want || meta[gzipcopy.MetaSourceBucket] != src.Bucket {
				t.Errorf("copy of gs://%s/x = %q from bucket %q, want %q from %q",
					src.Bucket, got, meta[gzipcopy.MetaSourceBucket], want, src.Bucket)
			}
		}
	})

	t.Run("copy from another bucket is replaced", func(t *testing.T) {
		a := f.upload(t, "src-a", "y", "", []byte("mine"))
		tests := []struct {
			name string
			gen  int64
		}{
			{name: "same generation", gen: a.Generation},
			{name: "newer generation", gen: a.Generation + 1},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f.plant(t, gzipcopy.CopyName(prefix, "src-a", "y"), "src-b", tt.gen)
				if err := f.process(t, a); err != nil {
					t.Fatalf("Process = %v, want nil (the copy is of another bucket's object)", err)
				}
				got, meta := f.copyOf(t, "src-a", "y")
				if got != "mine" || meta[gzipcopy.MetaSourceBucket] != "src-a" {
					t.Errorf("copy = %q from bucket %q, want %q from %q",
						got, meta[gzipcopy.MetaSourceBucket], "mine", "src-a")
				}
			})
		}
	})

	t.Run("stored gzip is copied as stored", func(t *testing.T) {
		const plain = "compressed once, and only once\n"
		stored := gzipped(t, plain)
		a := f.upload(t, "src-a", "enc.txt", "gzip", stored)
		if err := f.process(t, a); err != nil {
			t.Fatalf("Process = %v", err)
		}
		raw, err := f.env.Read(out, gzipcopy.CopyName(prefix, "src-a", "enc.txt"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(raw, stored) {
			t.Errorf("copy is %d bytes, want the %d stored bytes unchanged", len(raw), len(stored))
		}
		got, meta := f.copyOf(t, "src-a", "enc.txt")
		if got != plain {
			t.Errorf("copy gunzips to %q, want %q", got, plain)
		}
		if enc := meta[gzipcopy.MetaSourceEncoding]; enc != "gzip" {
			t.Errorf("metadata %s = %q, want gzip", gzipcopy.MetaSourceEncoding, enc)
		}
	})

	t.Run("copy name over the limit is permanent", func(t *testing.T) {
		// Within the source limit, but not with the prefix and bucket added. Segments
		// keep each part of the name within the fake's file-system limit of 255 bytes.
		name := strings.Repeat(strings.Repeat("n", 200)+"/", 6)[:output.MaxNameBytes-10]
		a := f.upload(t, "src-a", name, "", []byte("long"))
		err := f.process(t, a)
		if !process.IsPermanent(err) || !errors.Is(err, output.ErrNameTooLong) {
			t.Errorf("Process(%d-byte name) = %v, want a permanent ErrNameTooLong", len(name), err)
		}
	})
}

// plant writes a copy at name as if it were made from generation gen of an object in
// bucket.
func (f *fixture) plant(t *testing.T, name, bucket string, gen int64) {
	t.Helper()
	w := f.env.Storage.Bucket(out).Object(name).NewWriter(context.Background())
	w.Metadata = map[string]string{
		gzipcopy.MetaSourceBucket:     bucket,
		gzipcopy.MetaSourceGeneration: strconv.FormatInt(gen, 10),
	}
	if _, err := w.Write(gzipped(t, "someone else's")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
