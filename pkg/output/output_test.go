package output_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/storage"

	"github.com/sluice-dev/sluice/deploy/local/stack"
	"github.com/sluice-dev/sluice/internal/stacktest"
	"github.com/sluice-dev/sluice/pkg/output"
	"github.com/sluice-dev/sluice/pkg/process"
)

func TestChunkSize(t *testing.T) {
	const q = 256 << 10
	tests := []struct {
		name     string
		maxChunk int
		hint     int64
		want     int
	}{
		{name: "empty output gets one quantum", hint: 0, want: q},
		{name: "one byte", hint: 1, want: q},
		{name: "exact quantum stays", hint: q, want: q},
		{name: "one byte over a quantum", hint: q + 1, want: 2 * q},
		{name: "exact multiple stays", hint: 3 * q, want: 3 * q},
		{name: "just under the maximum", hint: output.DefaultMaxChunk - 1, want: output.DefaultMaxChunk},
		{name: "over the maximum", hint: output.DefaultMaxChunk + 1, want: output.DefaultMaxChunk},
		{name: "unknown size", hint: -1, want: output.DefaultMaxChunk},
		{name: "custom maximum caps", maxChunk: 2 * q, hint: 5 * q, want: 2 * q},
		{name: "custom maximum, unknown size", maxChunk: 2 * q, hint: -1, want: 2 * q},
		{name: "custom maximum, small output", maxChunk: 2 * q, hint: 10, want: q},
		{name: "negative maximum means default", maxChunk: -1, hint: -1, want: output.DefaultMaxChunk},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := output.Writer{MaxChunk: tt.maxChunk}
			if got := w.ChunkSize(tt.hint); got != tt.want {
				t.Errorf("Writer{MaxChunk: %d}.ChunkSize(%d) = %d, want %d", tt.maxChunk, tt.hint, got, tt.want)
			}
		})
	}
}

func TestCheckName(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{name: "short", in: "a/b.json", ok: true},
		{name: "exactly the limit", in: strings.Repeat("x", output.MaxNameBytes), ok: true},
		{name: "one byte over", in: strings.Repeat("x", output.MaxNameBytes+1)},
		// The limit counts bytes, not runes: 512 two-byte runes fit, 513 do not.
		{name: "multi-byte runes at the limit", in: strings.Repeat("é", output.MaxNameBytes/2), ok: true},
		{name: "multi-byte runes over", in: strings.Repeat("é", output.MaxNameBytes/2+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := output.CheckName(tt.in)
			if tt.ok != (err == nil) || (err != nil && !errors.Is(err, output.ErrNameTooLong)) {
				t.Errorf("CheckName(%d bytes) = %v, want ok %v", len(tt.in), err, tt.ok)
			}
		})
	}
}

const bucket = "out"

func startEnv(t *testing.T) *stacktest.Env {
	t.Helper()
	return stacktest.Start(t, stack.Config{Buckets: []string{bucket}})
}

func content(s string) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := io.WriteString(w, s)
		return err
	}
}

func TestWriter(t *testing.T) {
	env := startEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var w output.Writer
	meta := output.Meta{ContentType: "text/plain", Metadata: map[string]string{"k": "v"}, SizeHint: 5}
	obj := func(name string) *storage.ObjectHandle { return env.Storage.Bucket(bucket).Object(name) }

	t.Run("second Create is a duplicate", func(t *testing.T) {
		if err := w.Create(ctx, obj("dup"), meta, content("first")); err != nil {
			t.Fatalf("first Create: %v", err)
		}
		err := w.Create(ctx, obj("dup"), meta, content("second"))
		if !errors.Is(err, process.ErrDuplicate) {
			t.Errorf("second Create = %v, want ErrDuplicate", err)
		}
		got, err := env.Read(bucket, "dup")
		if err != nil || string(got) != "first" {
			t.Errorf("content = %q, %v, want %q", got, err, "first")
		}
		attrs, err := obj("dup").Attrs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if attrs.ContentType != "text/plain" || attrs.Metadata["k"] != "v" {
			t.Errorf("attrs = %q, %v, want text/plain, k=v", attrs.ContentType, attrs.Metadata)
		}
	})

	t.Run("failing fn commits nothing", func(t *testing.T) {
		boom := errors.New("boom")
		err := w.Create(ctx, obj("half"), output.Meta{SizeHint: -1}, func(wr io.Writer) error {
			// More than one chunk, so some of it may already be on its way.
			if _, err := wr.Write(make([]byte, 9<<20)); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Errorf("Create = %v, want %v", err, boom)
		}
		if _, err := obj("half").Attrs(ctx); !errors.Is(err, storage.ErrObjectNotExist) {
			t.Errorf("Attrs after a failed Create = %v, want ErrObjectNotExist", err)
		}
	})

	t.Run("Replace at a stale generation conflicts", func(t *testing.T) {
		if err := w.Create(ctx, obj("moving"), meta, content("one")); err != nil {
			t.Fatal(err)
		}
		first, err := obj("moving").Attrs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Replace(ctx, obj("moving"), first.Generation, meta, content("two")); err != nil {
			t.Fatalf("Replace at the live generation: %v", err)
		}
		err = w.Replace(ctx, obj("moving"), first.Generation, meta, content("three"))
		if !errors.Is(err, output.ErrConflict) {
			t.Errorf("Replace at a stale generation = %v, want ErrConflict", err)
		}
		if got, _ := env.Read(bucket, "moving"); string(got) != "two" {
			t.Errorf("content = %q, want %q", got, "two")
		}
	})

	t.Run("name over the limit is permanent", func(t *testing.T) {
		called := false
		long := strings.Repeat("n", output.MaxNameBytes+1)
		err := w.Create(ctx, obj(long), meta, func(io.Writer) error { called = true; return nil })
		if !process.IsPermanent(err) || !errors.Is(err, output.ErrNameTooLong) {
			t.Errorf("Create(%d-byte name) = %v, want a permanent ErrNameTooLong", len(long), err)
		}
		if called {
			t.Error("fn was called for a name that cannot be written")
		}
	})
}
