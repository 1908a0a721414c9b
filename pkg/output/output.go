// Package output writes processor outputs to Cloud Storage idempotently and with upload
// buffers sized to the data.
//
// Every write carries a precondition: Create succeeds only if the object does not exist,
// Replace only if it is still at the generation the caller saw. A redelivered message
// therefore finds its output already written and gets process.ErrDuplicate instead of a
// second copy. A write that fails half-way is abandoned, never committed as a partial
// object.
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
}

// ChunkSize returns the upload buffer size for an output of about sizeHint bytes: the
// hint rounded up to the client's 256 KiB quantum, capped at the maximum chunk. An
// output that fits in one chunk is sent in one request, with the client still able to
// retry it from the buffer.
func (w Writer) ChunkSize(sizeHint int64) int {
	max := w.MaxChunk
	if max <= 0 {
		max = DefaultMaxChunk
	}
	if sizeHint < 0 || sizeHint >= int64(max) {
		return max
	}
	n := int((sizeHint + chunkQuantum) / chunkQuantum * chunkQuantum)
	return min(n, max)
}

// Create writes a new object with the content fn produces, only if no object of that name
// exists. If one does, it returns an error wrapping process.ErrDuplicate. If fn fails, the
// upload is abandoned and fn's error returned. Create blocks until the object is durably
// written or the write has failed.
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

// ErrConflict reports that the object changed between reading its generation and
// replacing it.
var ErrConflict = errors.New("output changed concurrently")

func (w Writer) write(ctx context.Context, obj *storage.ObjectHandle, meta Meta, fn func(io.Writer) error) error {
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
