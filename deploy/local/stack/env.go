package stack

import (
	"errors"
	"os"
	"sync"
)

// pubsubEnv is the variable fake-gcs-server's notification publisher reads.
const pubsubEnv = "PUBSUB_EMULATOR_HOST"

// envHeld records whether an open Stack owns pubsubEnv. The variable is
// process-wide, so two open Stacks would route each other's notifications.
var (
	envMu   sync.Mutex
	envHeld bool
)

var errStackOpen = errors.New("another Stack is open in this process " +
	"(PUBSUB_EMULATOR_HOST is process-wide)")

// envClaim is one Stack's hold on pubsubEnv, with the value to restore.
type envClaim struct {
	prev    string
	hadPrev bool
	changed bool
}

// claimEnv reserves pubsubEnv for one Stack, or fails with errStackOpen.
func claimEnv() (*envClaim, error) {
	envMu.Lock()
	defer envMu.Unlock()
	if envHeld {
		return nil, errStackOpen
	}
	envHeld = true
	prev, ok := os.LookupEnv(pubsubEnv)
	return &envClaim{prev: prev, hadPrev: ok}, nil
}

// set points pubsubEnv at host.
func (c *envClaim) set(host string) error {
	c.changed = true
	return os.Setenv(pubsubEnv, host)
}

// release restores pubsubEnv and frees the claim for the next Stack.
func (c *envClaim) release() error {
	envMu.Lock()
	defer envMu.Unlock()
	envHeld = false
	switch {
	case !c.changed:
		return nil
	case c.hadPrev:
		return os.Setenv(pubsubEnv, c.prev)
	default:
		return os.Unsetenv(pubsubEnv)
	}
}
