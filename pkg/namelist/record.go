package namelist

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrInvalid is wrapped by the error for every input line that names no valid object.
var ErrInvalid = errors.New("invalid object")

// maxNameBytes is Cloud Storage's limit on an object name's UTF-8 length, and also
// Pub/Sub's limit on an attribute value: a longer name can be neither stored nor sent.
const maxNameBytes = 1024

// Record names one object. Generation 0 means unknown: the worker reads the live one.
type Record struct {
	Bucket     string `json:"bucket"`
	Name       string `json:"name"`
	Generation int64  `json:"generation,omitempty"`
}

// Validate reports why r cannot name an object, or nil.
func (r Record) Validate() error {
	switch {
	case r.Bucket == "":
		return fmt.Errorf("%w: no bucket", ErrInvalid)
	case strings.Contains(r.Bucket, "/"):
		return fmt.Errorf("%w: bucket %q contains a slash", ErrInvalid, r.Bucket)
	case r.Name == "":
		return fmt.Errorf("%w: empty object name", ErrInvalid)
	case len(r.Name) > maxNameBytes:
		return fmt.Errorf("%w: name is %d bytes, more than %d", ErrInvalid, len(r.Name), maxNameBytes)
	case !utf8.ValidString(r.Name):
		// Pub/Sub attribute values are protobuf strings: one invalid value fails the
		// whole batch it travels in, so it is refused here, alone.
		return fmt.Errorf("%w: name %q is not valid UTF-8", ErrInvalid, r.Name)
	case r.Generation < 0:
		return fmt.Errorf("%w: negative generation %d", ErrInvalid, r.Generation)
	}
	return nil
}

// URI formats r as gs://bucket/name with the name quoted, for logs and error text.
func (r Record) URI() string {
	return fmt.Sprintf("gs://%s/%q", r.Bucket, r.Name)
}

// parseLine turns one line of the Lines format into a record. A line that starts with
// gs:// is a URI: the bucket runs to the first "/", and everything after it is the name.
func parseLine(line, bucket string) (Record, error) {
	r := Record{Bucket: bucket, Name: line}
	if rest, ok := strings.CutPrefix(line, "gs://"); ok {
		b, name, found := strings.Cut(rest, "/")
		if !found {
			return Record{}, fmt.Errorf("%w: URI %q has no object name", ErrInvalid, line)
		}
		r = Record{Bucket: b, Name: name}
	} else if bucket == "" {
		return Record{}, fmt.Errorf("%w: bare name %q needs --bucket", ErrInvalid, line)
	}
	if err := r.Validate(); err != nil {
		return Record{}, err
	}
	return r, nil
}
