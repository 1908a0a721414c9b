package worker

import (
	"context"
	"time"

	"github.com/sluice-dev/sluice/pkg/notify"
)

// Settlement describes one settled message.
type Settlement struct {
	Outcome Outcome
	// Reason is a short cause from a bounded set (safe as a metric label); "" for
	// Processed.
	Reason string
	// Event is what the message decoded to; zero fields when it did not decode.
	Event       notify.Event
	MessageID   string
	PublishTime time.Time
	// Attempt is the delivery attempt, when the subscription has a dead-letter policy;
	// 0 otherwise.
	Attempt   int
	Duration  time.Duration
	BytesRead int64
	Err       error
}

// Observer is told about every message the worker settles, after it is acknowledged or
// nacked. Implementations must be safe for concurrent use and must not block: Settled
// runs on the receive path.
type Observer interface {
	Settled(ctx context.Context, s Settlement)
}
