package notify

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// ErrInvalid is wrapped by every error Decode returns. Such a message can never succeed:
// a worker acknowledges it (after dead-lettering it, if configured) instead of retrying.
var ErrInvalid = errors.New("invalid message")

// object is the part of the JSON_API_V1 object resource that Decode reads. Int64 fields
// are strings in the JSON API.
type object struct {
	Kind       string `json:"kind,omitempty"`
	Bucket     string `json:"bucket"`
	Name       string `json:"name"`
	Generation string `json:"generation,omitempty"`
	Size       string `json:"size,omitempty"`
	CRC32C     string `json:"crc32c,omitempty"`
	MD5Hash    string `json:"md5Hash,omitempty"`
}

// Decode turns a message's attributes and data into an Event. It returns an error wrapping
// ErrInvalid when the message cannot describe an object event: no attributes, an unknown
// or missing event type, no bucket or object name, a generation or size that is not a
// number, or a JSON_API_V1 payload that is not valid JSON or contradicts the attributes.
//
// Non-finalize events decode successfully; it is for the caller to skip them.
func Decode(attrs map[string]string, data []byte) (Event, error) {
	ev, err := decode(attrs, data)
	if err != nil {
		return Event{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return ev, nil
}

func decode(attrs map[string]string, data []byte) (Event, error) {
	if len(attrs) == 0 {
		return Event{}, errors.New("no attributes")
	}
	ev := Event{
		Type:   EventType(attrs[AttrEventType]),
		Bucket: attrs[AttrBucket],
		Name:   attrs[AttrObject],
		Size:   -1,
		Source: attrs[AttrSource],
	}
	if ev.Type == "" {
		return Event{}, errors.New("no event type")
	}
	if !ev.Type.Known() {
		return Event{}, fmt.Errorf("unsupported event type %q", ev.Type)
	}

	var err error
	if ev.Generation, err = parseInt(attrs, AttrGeneration); err != nil {
		return Event{}, err
	}
	if ev.Overwrote, err = parseInt(attrs, AttrOverwrote); err != nil {
		return Event{}, err
	}
	if s, ok := attrs[AttrEventTime]; ok && s != "" {
		if ev.Time, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return Event{}, fmt.Errorf("%s %q is not an RFC 3339 time", AttrEventTime, s)
		}
	}

	switch format := attrs[AttrPayloadFormat]; format {
	case PayloadJSON:
		if err := ev.mergePayload(data); err != nil {
			return Event{}, err
		}
	case PayloadNone, "":
		// Attributes only. Data, if any, is not ours to interpret.
	default:
		return Event{}, fmt.Errorf("unsupported payload format %q", format)
	}

	if ev.Bucket == "" {
		return Event{}, errors.New("no bucket")
	}
	if ev.Name == "" {
		return Event{}, errors.New("no object name")
	}
	return ev, nil
}

// mergePayload fills in what the JSON object resource adds to the attributes, and rejects
// a payload that names a different object.
func (e *Event) mergePayload(data []byte) error {
	var o object
	if err := json.Unmarshal(data, &o); err != nil {
		return fmt.Errorf("payload is not valid JSON: %w", err)
	}
	if err := merge(&e.Bucket, o.Bucket, "bucket"); err != nil {
		return err
	}
	if err := merge(&e.Name, o.Name, "object name"); err != nil {
		return err
	}
	if o.Generation != "" {
		g, err := strconv.ParseInt(o.Generation, 10, 64)
		if err != nil || g <= 0 {
			return fmt.Errorf("payload generation %q is not a positive number", o.Generation)
		}
		if e.Generation != 0 && e.Generation != g {
			return fmt.Errorf("payload generation %d differs from attribute %d", g, e.Generation)
		}
		e.Generation = g
	}
	if o.Size != "" {
		n, err := strconv.ParseInt(o.Size, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("payload size %q is not a number", o.Size)
		}
		e.Size = n
	}
	if o.CRC32C != "" {
		b, err := base64.StdEncoding.DecodeString(o.CRC32C)
		if err != nil || len(b) != 4 {
			return fmt.Errorf("payload crc32c %q is not 4 base64-encoded bytes", o.CRC32C)
		}
		e.CRC32C, e.HasCRC32C = binary.BigEndian.Uint32(b), true
	}
	if o.MD5Hash != "" {
		b, err := base64.StdEncoding.DecodeString(o.MD5Hash)
		if err != nil || len(b) != 16 {
			return fmt.Errorf("payload md5Hash %q is not 16 base64-encoded bytes", o.MD5Hash)
		}
		e.MD5 = b
	}
	return nil
}

// merge sets *dst to v when *dst is empty, and fails when both are set and differ.
func merge(dst *string, v, what string) error {
	switch {
	case v == "":
	case *dst == "":
		*dst = v
	case *dst != v:
		return fmt.Errorf("payload %s %q differs from attribute %q", what, v, *dst)
	}
	return nil
}

// parseInt reads an optional positive int64 attribute; absent or empty yields 0.
func parseInt(attrs map[string]string, name string) (int64, error) {
	s, ok := attrs[name]
	if !ok || s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s %q is not a positive number", name, s)
	}
	return n, nil
}
