// Package output writes processor outputs to Cloud Storage idempotently and with upload
// buffers sized to the data.
//
// Every write carries a precondition: Create succeeds only if the object does not exist,
// Replace only if it is still at the generation the caller saw. A redelivered message
// therefore finds its output already written and gets process.ErrDuplicate instead of a
// second copy. A write that fails half-way is abandoned, never committed as a partial
// object.
//
// Cloud Storage refuses object names longer than MaxNameBytes. An output name is usually
// built from a source name that may itself be up to that long, so a writer checks the
// name before any request and fails with a process.Permanent error: no retry can make
// the name fit, and the worker dead-letters the message instead of redelivering it.
// Names are never shortened, so every output stays where its documented name says.
package output

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sluice-dev/sluice/pkg/process"
)

// DefaultMaxChunk is the largest upload buffer a writer gets when MaxChunk is 0. The
// storage client's own default is 16 MiB per writer, allocated per concurrent upload:
// with 32 uploads in flight that alone is 512 MiB. 8 MiB keeps large uploads efficient
// (fewer round trips per resumable chunk) at half the cost; small outputs get far less.
const DefaultMaxChunk = 8 << 20

// MaxNameBytes is the longest object name Cloud Storage accepts, in bytes of UTF-8
// (https://cloud.google.com/storage/docs/objects#naming).
const MaxNameBytes = 1024

// chunkQuantum is the granularity the storage client rounds chunk sizes up to.
const chunkQuantum = 256 << 10

// Meta describes an output object.
type Meta struct {
	ContentType string
	// Metadata is stored as the object's custom metadata.
	Metadata map[string]string
	// SizeHint is the expected size in bytes, or -1 when unknown. It sizes the upload
	// buffer; a wrong hint costs memory or round trips, never correctness.
	SizeHint int64
}

// Writer creates output objects.
type Writer struct {
	// MaxChunk caps the upload buffer per write, in bytes; 0 means DefaultMaxChunk.
	MaxChunk int
	// OnWritten, if set, is called with the size of every object this Writer commits,
	// after it is durable (for metrics). It must be safe for concurrent use.
	OnWritten func(bytes int64)
}

// ChunkSize returns the upload buffer size for an output of about sizeHint bytes: the
// hint rounded up to the client's 256 KiB quantum (an exact multiple stays as it is),
// at least one quantum and at most the maximum chunk; an unknown (negative) hint gets
// the maximum. An output that fits in one chunk is sent in one request, with the client
// still able to retry it from the buffer. Never 0: a chunk size of 0 would make the
// client send without a buffer, and so unable to retry.
func (w Writer) ChunkSize(sizeHint int64) int {
	limit := w.MaxChunk
	if limit <= 0 {
		limit = DefaultMaxChunk
	}
	if sizeHint < 0 || sizeHint >= int64(limit) {
		return limit
	}
	n := int((sizeHint + chunkQuantum - 1) / chunkQuantum * chunkQuantum)
	return min(max(n, chunkQuantum), limit)
}

// Create writes a new object with the content fn produces, only if no object of that name
// exists. If one does, it returns an error wrapping process.ErrDuplicate. If fn fails, the
// upload is abandoned and fn's error returned. Create blocks until the object is durably
// written or the write has failed. A name longer than MaxNameBytes fails at once with a
// process.Permanent error.
func (w Writer) Create(ctx context.Context, obj *storage.ObjectHandle, meta Meta, fn func(io.Writer) error) error {
	return w.write(ctx, obj.If(storage.Conditions{DoesNotExist: true}), meta, fn)
}

// Replace overwrites obj only if its live generation is still generation. If another
// write got there first, it returns an error wrapping ErrConflict.
func (w Writer) Replace(ctx context.Context, obj *storage.ObjectHandle, generation int64, meta Meta, fn func(io.Writer) error) error {
	err := w.write(ctx, obj.If(storage.Conditions{GenerationMatch: generation}), meta, fn)
	if errors.Is(err, process.ErrDuplicate) {
		return fmt.Errorf("%w: %w", ErrConflict, err)
	}
	return err
}

// ErrNameTooLong reports an output name longer than MaxNameBytes.
var ErrNameTooLong = errors.New("object name longer than 1024 bytes")

// CheckName returns an error wrapping ErrNameTooLong if Cloud Storage would refuse name
// for its length.
func CheckName(name string) error {
	if len(name) > MaxNameBytes {
		return fmt.Errorf("%w: %d bytes", ErrNameTooLong, len(name))
	}
	return nil
}

// ErrConflict reports that the object changed between reading its generation and
// replacing it.
var ErrConflict = errors.New("output changed concurrently")

func (w Writer) write(ctx context.Context, obj *storage.ObjectHandle, meta Meta, fn func(io.Writer) error) error {
	if err := CheckName(obj.ObjectName()); err != nil {
		// Only the name's first 64 bytes: the whole of it would make the error, and every
		// log line and dead letter that carries it, over 1 KiB.
		err = fmt.Errorf("write gs://%s/%.64q...: %w", obj.BucketName(), obj.ObjectName(), err)
		return process.Permanent(err)
	}

	// Cancelling the writer's context is the only way to abandon an upload without
	// committing what was written so far.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	wr := obj.NewWriter(ctx)
	wr.ChunkSize = w.ChunkSize(meta.SizeHint)
	wr.ContentType = meta.ContentType
	wr.Metadata = meta.Metadata
	if err := fn(wr); err != nil {
		cancel()
		_ = wr.Close()
		return err
	}
	if err := wr.Close(); err != nil {
		if isPreconditionFailed(err) {
			return fmt.Errorf("write gs://%s/%q: %w", obj.BucketName(), obj.ObjectName(), process.ErrDuplicate)
		}
		return fmt.Errorf("write gs://%s/%q: %w", obj.BucketName(), obj.ObjectName(), err)
	}
	if w.OnWritten != nil {
		w.OnWritten(wr.Attrs().Size)
	}
	return nil
}

// isPreconditionFailed reports whether err is a failed precondition: HTTP 412 from the
// JSON API, FailedPrecondition from the gRPC API.
func isPreconditionFailed(err error) bool {
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		return gerr.Code == http.StatusPreconditionFailed
	}
	return status.Code(err) == codes.FailedPrecondition
}
