// Package process defines what a Sluice worker runs on each object: the Processor
// interface, the Object it is handed, and the errors that tell the worker how to settle
// the message.
package process

import (
	"context"
	"errors"
	"io"

	"github.com/sluice-dev/sluice/pkg/notify"
)

// Object is one object version handed to a Processor.
type Object struct {
	// Event is the decoded message. Its Generation is the generation being read: when
	// the message named none, the worker fills in the live generation it opened.
	Event notify.Event
	// Size is the stored size in bytes, from the read itself.
	Size int64
	// ContentType and ContentEncoding are the object's stored metadata. The body is the
	// stored bytes: with ContentEncoding "gzip" it is still compressed (no decompressive
	// transcoding), so stored checksums apply to it.
	ContentType, ContentEncoding string
	// CRC32C is the stored Castagnoli checksum, when HasCRC32C. Cloud Storage has one for
	// every object; the value comes from the read, not the message.
	CRC32C    uint32
	HasCRC32C bool
	// Body streams the content. It is valid only until Process returns; the worker closes
	// it. Reading it to the end makes the storage client verify the stored CRC32C.
	Body io.Reader
	// Worker names the worker process, for output records.
	Worker string
}

// Processor handles one object at a time. The worker calls Process concurrently, up to
// its flow-control limit, so implementations must be safe for concurrent use.
//
// Process must make its output durable before it returns nil: the worker acknowledges
// the message as soon as it does. It returns:
//   - nil when the output is written;
//   - an error wrapping ErrDuplicate when the output for this object generation already
//     exists (a redelivery or a duplicate message): the message is acknowledged;
//   - an error wrapping ErrSuperseded when a newer generation's output already exists:
//     the message is acknowledged;
//   - an error marked with Permanent when retrying can never succeed: the message is
//     acknowledged and dead-lettered;
//   - any other error for a transient failure: the message is nacked and redelivered.
//
// ctx carries the worker's per-object deadline; Process should return promptly when it
// is done. Output writers should be sized to the object (see package output), since a
// default-sized upload buffer multiplied by concurrency dominates a worker's memory.
type Processor interface {
	Process(ctx context.Context, obj *Object) error
}

// Func adapts a function to the Processor interface.
type Func func(ctx context.Context, obj *Object) error

// Process calls f(ctx, obj).
func (f Func) Process(ctx context.Context, obj *Object) error { return f(ctx, obj) }

var (
	// ErrDuplicate reports that the output for this object generation already exists.
	ErrDuplicate = errors.New("output already exists")
	// ErrSuperseded reports that the output already reflects a newer generation.
	ErrSuperseded = errors.New("superseded by a newer generation")
)

// permanent marks an error that no retry can fix.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks err as permanent: the worker acknowledges the message instead of
// retrying it, and dead-letters it when a dead-letter topic is configured. Permanent(nil)
// is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsPermanent reports whether err, or an error it wraps, was marked by Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}
