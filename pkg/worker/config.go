package worker

import (
	"errors"
	"fmt"
	"time"

	"github.com/sluice-dev/sluice/pkg/output"
)

// Config tunes a Worker. The zero value works: each zero field takes the default its
// comment gives.
type Config struct {
	// MaxOutstandingMessages bounds the messages held at once, which is also how many
	// objects are processed concurrently: the receive callback processes synchronously.
	// Default 8, lowered to what MemoryLimit fits (with a warning from Resolve). Keep it
	// near the concurrency a pod can use: messages held beyond that wait in this pod
	// while other pods could have processed them. Set explicitly, a value MemoryLimit
	// cannot fit is an error.
	MaxOutstandingMessages int
	// MaxOutstandingBytes bounds the message bytes held at once. Messages are small
	// (a notification is about 1 KiB), so this is a guard against oversized messages,
	// not an object-memory budget. Default 16 MiB, not the client's 1 GB.
	MaxOutstandingBytes int
	// Streams is the number of StreamingPull streams. Default 1; more helps only past
	// a few thousand messages per second per pod.
	Streams int
	// ObjectTimeout bounds the work on one object: read, process and write. A stuck
	// storage call fails at this deadline and the message is nacked, instead of holding
	// its lease for the client's maximum extension. Default 10m.
	ObjectTimeout time.Duration
	// DrainTimeout is how long in-flight work may run after shutdown begins before it is
	// abandoned and nacked. Default 25s; keep it below the pod's termination grace period.
	DrainTimeout time.Duration
	// MaxExtension is how long the lease of one message is extended in all. Default
	// ObjectTimeout plus one minute, which covers settling after the work (a dead-letter
	// publish of at most 30s and an ack confirmation of at most 10s), so a message is
	// never redelivered while its work may still succeed.
	MaxExtension time.Duration
	// MaxExtensionPeriod caps each lease extension. After a crash a message is
	// redelivered at most this long after its last extension. Default 60s; 10s to 600s.
	MaxExtensionPeriod time.Duration
	// ShutdownGrace is how long past DrainTimeout a shutdown may run, for the client to
	// return from Receive and flush its acks, before Run gives up with ErrShutdownStuck.
	// Default 15s. Some v2 releases could hang in Receive after cancellation; a stuck
	// shutdown must end the process, not wedge it.
	ShutdownGrace time.Duration
	// MaxInFlightBytes is the byte budget of the objects being processed at once. Pub/Sub's
	// byte limit (MaxOutstandingBytes) counts message bytes, about 1 KiB a message
	// whatever the object's size, so it cannot bound object memory; this does. Each
	// object weighs what it may buffer (see ObjectBuffer), and waits in the callback,
	// holding its message, until the budget admits it; an object heavier than the whole
	// budget runs alone. Default: with a MemoryLimit, the memory it leaves for objects;
	// without one, MaxOutstandingMessages full weights, so the budget never binds.
	// Negative disables it. A value above what MemoryLimit leaves is clamped to it.
	MaxInFlightBytes int64
	// ObjectBuffer is the most one object buffers, in bytes: the processor's upload
	// chunk (output.Writer's MaxChunk). An object weighs min(size, ObjectBuffer) plus
	// ObjectOverhead in the byte budget. Default output.DefaultMaxChunk.
	ObjectBuffer int64
	// MemoryLimit is the memory the process may use, in bytes (see package memlimit);
	// 0 means unknown, and flow control is then not checked against memory.
	MemoryLimit int64
	// WorkerID names this process in logs and outputs. Default "worker".
	WorkerID string
}

const (
	defaultMaxOutstandingMessages = 8
	defaultMaxOutstandingBytes    = 16 << 20
	defaultStreams                = 1
	defaultObjectTimeout          = 10 * time.Minute
	defaultDrainTimeout           = 25 * time.Second
	defaultMaxExtensionPeriod     = time.Minute
	defaultShutdownGrace          = 15 * time.Second
)

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.MaxOutstandingMessages == 0 {
		c.MaxOutstandingMessages = defaultMaxOutstandingMessages
	}
	if c.MaxOutstandingBytes == 0 {
		c.MaxOutstandingBytes = defaultMaxOutstandingBytes
	}
	if c.Streams == 0 {
		c.Streams = defaultStreams
	}
	if c.ObjectTimeout == 0 {
		c.ObjectTimeout = defaultObjectTimeout
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = defaultDrainTimeout
	}
	if c.MaxExtension == 0 {
		c.MaxExtension = c.ObjectTimeout + settleAllowance
	}
	if c.MaxExtensionPeriod == 0 {
		c.MaxExtensionPeriod = defaultMaxExtensionPeriod
	}
	if c.ShutdownGrace == 0 {
		c.ShutdownGrace = defaultShutdownGrace
	}
	if c.ObjectBuffer == 0 {
		c.ObjectBuffer = output.DefaultMaxChunk
	}
	if c.WorkerID == "" {
		c.WorkerID = "worker"
	}
	return c
}

// Validate reports settings that cannot work, after defaults are applied and flow control
// is fitted to MemoryLimit.
func (c Config) Validate() error {
	_, _, err := c.Resolve()
	return err
}

// Resolve returns the effective configuration: defaults applied, and flow control fitted
// to MemoryLimit (see fitMemory). It also returns a warning for each value it lowered to
// fit, and an error when an explicit setting cannot fit or another setting cannot work.
func (c Config) Resolve() (Config, []string, error) {
	explicitMessages := c.MaxOutstandingMessages != 0
	c = c.withDefaults()
	if err := c.check(); err != nil {
		return Config{}, nil, err
	}
	return c.fitMemory(explicitMessages)
}

// check reports settings that cannot work, once defaults are applied.
func (c Config) check() error {
	var errs []error
	if c.MaxOutstandingMessages < 1 {
		errs = append(errs, fmt.Errorf("max outstanding messages %d: must be at least 1", c.MaxOutstandingMessages))
	}
	if c.MaxOutstandingBytes < 1<<10 {
		errs = append(errs, fmt.Errorf("max outstanding bytes %d: must be at least 1 KiB", c.MaxOutstandingBytes))
	}
	if c.Streams < 1 {
		errs = append(errs, fmt.Errorf("streams %d: must be at least 1", c.Streams))
	}
	if c.ObjectBuffer < 0 || c.MemoryLimit < 0 {
		errs = append(errs, errors.New("object buffer and memory limit must not be negative"))
	}
	if c.ObjectTimeout < 0 || c.DrainTimeout < 0 || c.ShutdownGrace < 0 {
		errs = append(errs, errors.New("timeouts must not be negative"))
	}
	if c.MaxExtension < c.ObjectTimeout {
		errs = append(errs, fmt.Errorf("max extension %s is shorter than the object timeout %s: messages would be redelivered while still in progress", c.MaxExtension, c.ObjectTimeout))
	}
	if c.MaxExtensionPeriod < 10*time.Second || c.MaxExtensionPeriod > 600*time.Second {
		errs = append(errs, fmt.Errorf("max extension period %s: must be between 10s and 600s", c.MaxExtensionPeriod))
	}
	return errors.Join(errs...)
}

// settleAllowance is the lease time a message needs beyond its object timeout: the
// dead-letter publish, the ack confirmation, and a margin for the client's own
// extension schedule.
const settleAllowance = deadLetterTimeout + ackResultTimeout + 20*time.Second
