package worker

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/sluice-dev/sluice/pkg/notify"
)

// maxObjectName is Cloud Storage's limit on an object name, in bytes of UTF-8
// (cloud.google.com/storage/docs/objects#naming).
const maxObjectName = 1024

// checkName rejects an object name Cloud Storage can never hold, so its message is
// dead-lettered at once instead of failing a read: longer than 1024 bytes, not valid
// UTF-8, or containing a carriage return or line feed. Other control characters are
// allowed (Cloud Storage only discourages them) and processed like any name; logs quote
// names so they stay visible.
func checkName(name string) error {
	switch {
	case len(name) > maxObjectName:
		return fmt.Errorf("%w: object name of %d bytes exceeds %d", notify.ErrInvalid, len(name), maxObjectName)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: object name %q is not valid UTF-8", notify.ErrInvalid, name)
	case strings.ContainsAny(name, "\r\n"):
		return fmt.Errorf("%w: object name %q contains a carriage return or line feed", notify.ErrInvalid, name)
	}
	return nil
}
