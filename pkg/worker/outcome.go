package worker

import (
	"context"
	"errors"
	"net/http"

	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sluice-dev/sluice/pkg/notify"
	"github.com/sluice-dev/sluice/pkg/process"
)

// Outcome is how a message was settled.
type Outcome string

// Outcomes. Every one but Failed acknowledges the message.
const (
	// Processed: the processor wrote its output.
	Processed Outcome = "processed"
	// Duplicate: the output for this object generation already existed.
	Duplicate Outcome = "duplicate"
	// Superseded: a newer generation replaced the object, or its output.
	Superseded Outcome = "superseded"
	// Skipped: the event carries no new content (delete, archive, metadata update).
	Skipped Outcome = "skipped"
	// Rejected: a permanent error; dead-lettered when a dead-letter topic is set.
	Rejected Outcome = "rejected"
	// Failed: a transient error; the message is nacked and redelivered.
	Failed Outcome = "failed"
)

// Outcomes lists every outcome, in a stable order.
var Outcomes = []Outcome{Processed, Duplicate, Superseded, Skipped, Rejected, Failed}

// Acks reports whether the outcome acknowledges the message.
func (o Outcome) Acks() bool { return o != Failed }

// result is the outcome of one message with its cause.
type result struct {
	outcome Outcome
	reason  string // short, bounded set of values: safe as a metric label
	err     error
}

// classify maps a processing error to its result.
func classify(err error) result {
	switch {
	case err == nil:
		return result{outcome: Processed}
	case errors.Is(err, process.ErrDuplicate):
		return result{Duplicate, "output exists", err}
	case errors.Is(err, process.ErrSuperseded):
		return result{Superseded, "newer generation", err}
	case errors.Is(err, notify.ErrInvalid):
		return result{Rejected, "invalid message", err}
	case errors.Is(err, errObjectGone):
		return result{Rejected, "object gone", err}
	case errors.Is(err, storage.ErrBucketNotExist):
		return result{Rejected, "bucket not found", err}
	case process.IsPermanent(err):
		return result{Rejected, "permanent", err}
	case errors.Is(err, errNotAdmitted):
		return result{Failed, "not admitted", err}
	case errors.Is(err, context.DeadlineExceeded):
		return result{Failed, "deadline exceeded", err}
	case errors.Is(err, context.Canceled):
		return result{Failed, reasonAbandoned, err}
	case isClientError(err):
		return result{Rejected, "bad request", err}
	case isPermissionDenied(err):
		return result{Failed, "permission denied", err}
	default:
		return result{Failed, "transient", err}
	}
}

// errObjectGone reports that the object generation no longer exists and no newer one
// replaced it: it was deleted before it could be processed.
var errObjectGone = errors.New("object generation no longer exists")

// reasonAbandoned is the reason of a message whose work a drain timeout cut off.
const reasonAbandoned = "abandoned"

// isClientError reports a 400: a request that no retry can make valid, such as an object
// name the service refuses.
func isClientError(err error) bool {
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		return gerr.Code == http.StatusBadRequest
	}
	return status.Code(err) == codes.InvalidArgument
}

// isPermissionDenied reports a 401 or 403. Sluice treats it as transient, and so retries
// it: a denied read is almost always a missing or still-propagating IAM grant (grants
// take minutes to apply), which operators fix for every object of the bucket at once.
// Rejecting would dead-letter, and so force a replay of, every object read while the
// grant was missing; retrying keeps them in the subscription, backing off under its
// retry policy, and a grant that is never made ends each message in the subscription's
// dead-letter policy after its maximum delivery attempts. See docs/faults.md.
func isPermissionDenied(err error) bool {
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		return gerr.Code == http.StatusForbidden || gerr.Code == http.StatusUnauthorized
	}
	c := status.Code(err)
	return c == codes.PermissionDenied || c == codes.Unauthenticated
}
