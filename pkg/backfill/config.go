package backfill

import (
	"errors"
	"time"

	"cloud.google.com/go/storage"
)

// Config says what to list. Only Bucket is required.
type Config struct {
	Bucket string
	// Prefix keeps names that start with it; "" lists the whole bucket.
	Prefix string
	// Glob keeps names that match it, evaluated by Cloud Storage (the matchGlob list
	// parameter, https://cloud.google.com/storage/docs/json_api/v1/objects/list).
	Glob string
	// StartAfter and EndBefore bound the names listed: StartAfter < name < EndBefore.
	// "" means unbounded.
	StartAfter, EndBefore string
	// from, when set, starts the listing at from itself instead of after StartAfter:
	// the lower half of a split range ends before the split point, the upper half
	// starts at it.
	from string
	// UpdatedSince, when set, skips objects last updated before it. Cloud Storage has
	// no such list filter, so skipped objects are still listed (and counted).
	UpdatedSince time.Time
	// PageSize is the objects a list request asks for. 0 means 1,000, the service's
	// maximum: fewer only adds round trips.
	PageSize int
}

// Validate reports a Config that cannot list.
func (c Config) Validate() error {
	switch {
	case c.Bucket == "":
		return errors.New("backfill: no bucket")
	case c.PageSize < 0:
		return errors.New("backfill: negative page size")
	case c.EndBefore != "" && c.StartAfter >= c.EndBefore:
		return errors.New("backfill: start-after is not before end-before")
	case c.EndBefore != "" && c.from >= c.EndBefore:
		return errors.New("backfill: a range's start is not before its end")
	}
	return nil
}

// fields are the object attributes a producer message carries, plus Updated for the
// UpdatedSince filter: the listing asks for nothing else.
var fields = []string{"Name", "Generation", "Size", "CRC32C", "MD5", "Updated"}

func (c Config) query(attrs []string) *storage.Query {
	q := &storage.Query{
		Prefix:      c.Prefix,
		MatchGlob:   c.Glob,
		StartOffset: c.StartAfter, // inclusive: the lister drops StartAfter itself
		EndOffset:   c.EndBefore,
	}
	if c.from != "" {
		q.StartOffset = c.from
	}
	if err := q.SetAttrSelection(attrs); err != nil {
		// The names above are constants SetAttrSelection knows.
		panic(err)
	}
	return q
}

func (c Config) pageSize() int {
	if c.PageSize == 0 {
		return 1000
	}
	return c.PageSize
}
