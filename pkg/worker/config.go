package worker

import (
	"errors"
	"fmt"
	"time"
)

// Config tunes a Worker. The zero value works: each zero field takes the default its
// comment gives.
type Config struct {
	// MaxOutstandingMessages bounds the messages held at once, which is also how many
	// objects are processed concurrently: the receive callback processes synchronously.
	// Default 8. Keep it near the concurrency a pod can use: messages held beyond that
	// wait in this pod while other pods could have processed them.
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
	// ObjectTimeout plus one minute, so a message is never redelivered while its work may
	// still succeed.
	MaxExtension time.Duration
	// MaxExtensionPeriod caps each lease extension. After a crash a message is
	// redelivered at most this long after its last extension. Default 60s; 10s to 600s.
	MaxExtensionPeriod time.Duration
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
	// watchdogGrace is how long past DrainTimeout the Pub/Sub client may take to return
	// from Receive before the worker gives up on it. Some v2 releases could hang in
	// Receive after cancellation; a stuck shutdown must end the process, not wedge it.
	watchdogGrace = 15 * time.Second
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
		c.MaxExtension = c.ObjectTimeout + time.Minute
	}
	if c.MaxExtensionPeriod == 0 {
		c.MaxExtensionPeriod = defaultMaxExtensionPeriod
	}
	if c.WorkerID == "" {
		c.WorkerID = "worker"
	}
	return c
}

// Validate reports settings that cannot work, after defaults are applied.
func (c Config) Validate() error {
	c = c.withDefaults()
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
	if c.ObjectTimeout < 0 || c.DrainTimeout < 0 {
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
