package notify

import (
	"fmt"
	"strconv"
	"time"
)

// EventType is the kind of change a message reports, as Cloud Storage names it.
type EventType string

// The event types Cloud Storage sends. Only Finalize carries new content.
const (
	Finalize       EventType = "OBJECT_FINALIZE"
	Delete         EventType = "OBJECT_DELETE"
	Archive        EventType = "OBJECT_ARCHIVE"
	MetadataUpdate EventType = "OBJECT_METADATA_UPDATE"
)

// Known reports whether t is one of the event types Cloud Storage documents.
func (t EventType) Known() bool {
	switch t {
	case Finalize, Delete, Archive, MetadataUpdate:
		return true
	}
	return false
}

// Event is one object change decoded from a message.
type Event struct {
	// Type is the event type. Only Finalize events are processed; the others are skipped.
	Type EventType
	// Bucket and Name identify the object. Name is exactly as received.
	Bucket, Name string
	// Generation is the object generation the message is about. 0 means the message named
	// no generation (a producer message built from a bare name): the worker then reads the
	// live generation and records the one it read.
	Generation int64
	// Size is the object size in bytes from the payload, or -1 when the message carries
	// none (payload format NONE).
	Size int64
	// CRC32C is the stored Castagnoli checksum from the payload; valid when HasCRC32C.
	CRC32C    uint32
	HasCRC32C bool
	// MD5 is the stored MD5 from the payload; nil when absent (composite objects have
	// none, and NONE payloads carry none).
	MD5 []byte
	// Overwrote is the generation this finalize replaced, from overwroteGeneration; 0 if
	// none.
	Overwrote int64
	// Time is the event time; zero when the message does not say.
	Time time.Time
	// Source is "backfill" for producer messages and "" for Cloud Storage notifications.
	Source string
}

// Key identifies the content an event is about: the unit of idempotency. Two messages
// with the same key describe the same bytes, whatever their message IDs.
type Key struct {
	Bucket, Name string
	Generation   int64
}

// Key returns the event's idempotency key.
func (e Event) Key() Key { return Key{Bucket: e.Bucket, Name: e.Name, Generation: e.Generation} }

// String formats the key as gs://bucket/name#generation, with the name quoted so that
// unusual bytes stay visible in logs; without a generation (0) it ends at the name.
func (k Key) String() string {
	if k.Generation == 0 {
		return fmt.Sprintf("gs://%s/%s", k.Bucket, strconv.Quote(k.Name))
	}
	return fmt.Sprintf("gs://%s/%s#%d", k.Bucket, strconv.Quote(k.Name), k.Generation)
}

// SkipReason returns why a worker should acknowledge ev without reading the object, or ""
// if ev reports new content to process. Only finalize events carry new content: deletes,
// archives and metadata updates leave the bytes of the generation unchanged.
func (e Event) SkipReason() string {
	if e.Type == Finalize {
		return ""
	}
	return "event type " + string(e.Type)
}
