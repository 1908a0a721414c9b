package worker

import (
	"fmt"

	"github.com/sluice-dev/sluice/pkg/memlimit"
)

const (
	// ObjectOverhead is what one object in flight costs besides its upload buffer: the
	// 64 KiB copy buffer, the storage reader's buffers and, for the gzip processor, a
	// flate compressor (measured at 788 KiB at the default level). Too low and a memory
	// limit admits more objects than fit; too high and it admits fewer than could run.
	ObjectOverhead = 1 << 20
	// reservedMemory is kept out of the memory limit for everything that is not an
	// object: the runtime, the Pub/Sub and storage clients' connections and buffers, the
	// HTTP server, telemetry.
	reservedMemory = 32 << 20
)

// objectMemory returns the memory a limit leaves for objects in flight: what is left
// after reservedMemory, halved. The Go collector lets the heap grow to about twice what
// is live (GOGC=100) before it collects, so live object buffers must stay under half of
// what the heap may reach, or the process runs at the limit and GC-thrashes (with
// GOMEMLIMIT) or is OOM-killed (without).
func objectMemory(limit int64) int64 {
	return (limit - reservedMemory) / 2
}

// weight is what an object of size bytes counts against the byte budget: the part of
// it that may be buffered at once (the processors stream, so never more than the upload
// buffer) plus its fixed overhead. An unknown size (-1) weighs the most.
func (c Config) weight(size int64) int64 {
	if size < 0 || size > c.ObjectBuffer {
		size = c.ObjectBuffer
	}
	return size + ObjectOverhead
}

// fitMemory checks flow control against MemoryLimit and fills in MaxInFlightBytes.
//
// The messages limit must fit its objects' overheads plus one full upload buffer:
// below that, the byte budget would hold messages that can never start. A default that
// does not fit is lowered, with a warning; an explicit one is an error, since an
// operator who chose it should choose again. The byte budget defaults to the memory left
// for objects, and is lowered to it if set higher. With no MemoryLimit nothing is
// checked, and the budget is sized never to bind.
func (c Config) fitMemory(explicitMessages bool) (Config, []string, error) {
	full := c.weight(-1)
	if c.MemoryLimit == 0 {
		if c.MaxInFlightBytes == 0 {
			c.MaxInFlightBytes = int64(c.MaxOutstandingMessages) * full
		}
		return c, nil, nil
	}

	limit, avail := memlimit.FormatBytes(c.MemoryLimit), objectMemory(c.MemoryLimit)
	if avail < full {
		return Config{}, nil, fmt.Errorf("memory limit %s leaves %s for objects, less than one "+
			"object's %s (upload buffer %s plus overhead): raise the limit or lower the upload buffer",
			limit, memlimit.FormatBytes(max(avail, 0)), memlimit.FormatBytes(full),
			memlimit.FormatBytes(c.ObjectBuffer))
	}
	var warnings []string
	need := int64(c.MaxOutstandingMessages-1)*ObjectOverhead + full
	if need > avail {
		fit := 1 + int((avail-full)/ObjectOverhead)
		if explicitMessages {
			return Config{}, nil, fmt.Errorf("max outstanding messages %d needs at least %s for "+
				"objects, but memory limit %s leaves %s: set at most %d, or raise the limit",
				c.MaxOutstandingMessages, memlimit.FormatBytes(need), limit,
				memlimit.FormatBytes(avail), fit)
		}
		warnings = append(warnings, fmt.Sprintf("max outstanding messages lowered from %d to %d "+
			"to fit memory limit %s", c.MaxOutstandingMessages, fit, limit))
		c.MaxOutstandingMessages = fit
	}
	switch {
	case c.MaxInFlightBytes == 0:
		c.MaxInFlightBytes = avail
	case c.MaxInFlightBytes > avail:
		warnings = append(warnings, fmt.Sprintf("in-flight byte budget lowered from %s to %s "+
			"to fit memory limit %s", memlimit.FormatBytes(c.MaxInFlightBytes),
			memlimit.FormatBytes(avail), limit))
		c.MaxInFlightBytes = avail
	}
	return c, warnings, nil
}
