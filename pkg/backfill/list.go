package backfill

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"

	"github.com/sluice-dev/sluice/pkg/notify"
)

// ErrAccess is wrapped when the caller may not list the bucket.
var ErrAccess = errors.New("not allowed to list the bucket")

// Stats counts what a listing saw.
type Stats struct {
	// Listed objects were passed to the callback.
	Listed int64
	// Skipped objects were listed by the service but filtered out here (UpdatedSince).
	Skipped int64
	// Splits counts the ranges ListRanges split off ranges being listed.
	Splits int64
}

// List calls fn for every object cfg selects, in name order, from the calling goroutine.
// One page is fetched ahead while fn works through the current one, so at most a few
// pages are held. An error from fn stops the listing and is returned as is. List
// returns an error wrapping storage.ErrBucketNotExist for a missing bucket and ErrAccess
// when listing is denied. Cancelling ctx stops it with ctx's error.
func List(ctx context.Context, b *storage.BucketHandle, cfg Config, fn func(*storage.ObjectAttrs) error) (Stats, error) {
	return list(ctx, b, cfg, fields, fn)
}

func list(ctx context.Context, b *storage.BucketHandle, cfg Config, attrs []string, fn func(*storage.ObjectAttrs) error) (Stats, error) {
	var st Stats
	if err := cfg.Validate(); err != nil {
		return st, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	pages := make(chan []*storage.ObjectAttrs, 1)
	errc := make(chan error, 1)
	go func() {
		defer close(pages)
		errc <- fetch(ctx, b, cfg, cfg.query(attrs), pages)
	}()

	for page := range pages {
		for _, o := range page {
			if o.Name == cfg.StartAfter {
				continue
			}
			if !cfg.UpdatedSince.IsZero() && o.Updated.Before(cfg.UpdatedSince) {
				st.Skipped++
				continue
			}
			st.Listed++
			if err := fn(o); err != nil {
				cancel()
				for range pages {
				}
				return st, err
			}
		}
	}
	if err := <-errc; err != nil {
		return st, fmt.Errorf("list gs://%s/%s: %w", cfg.Bucket, cfg.Prefix, err)
	}
	return st, nil
}

// fetch sends pages of q's results to pages until the listing ends.
func fetch(ctx context.Context, b *storage.BucketHandle, cfg Config, q *storage.Query, pages chan<- []*storage.ObjectAttrs) error {
	return fetchEach(ctx, b, cfg, q, func(page []*storage.ObjectAttrs, _ bool) error {
		select {
		case pages <- page:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
}

// fetchEach calls send with each non-empty page of q's results, and whether the service
// has more after it, until the listing ends or send fails.
func fetchEach(ctx context.Context, b *storage.BucketHandle, cfg Config, q *storage.Query, send func(page []*storage.ObjectAttrs, more bool) error) error {
	pager := iterator.NewPager(b.Objects(ctx, q), cfg.pageSize(), "")
	for {
		var page []*storage.ObjectAttrs
		token, err := pager.NextPage(&page)
		if err != nil {
			return classify(err)
		}
		if len(page) > 0 {
			if err := send(page, token != ""); err != nil {
				return err
			}
		}
		if token == "" {
			return nil
		}
	}
}

// classify gives the two errors a user can act on their own sentinels.
func classify(err error) error {
	var ge *googleapi.Error
	if errors.As(err, &ge) && (ge.Code == http.StatusForbidden || ge.Code == http.StatusUnauthorized) {
		return fmt.Errorf("%w: %w", ErrAccess, err)
	}
	return err
}

// Event returns the finalize event a producer publishes for o.
func Event(bucket string, o *storage.ObjectAttrs) notify.Event {
	ev := notify.Event{
		Type:       notify.Finalize,
		Bucket:     bucket,
		Name:       o.Name,
		Generation: o.Generation,
		Size:       o.Size,
		Source:     notify.SourceBackfill,
		Time:       o.Updated,
	}
	// A listing asked for CRC32C always returns one; a zero checksum is real too.
	ev.CRC32C, ev.HasCRC32C = o.CRC32C, true
	if len(o.MD5) > 0 {
		ev.MD5 = o.MD5
	}
	return ev
}
