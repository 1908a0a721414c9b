// Package memlimit finds how much memory the process may use: the Go runtime's soft
// limit (GOMEMLIMIT, or debug.SetMemoryLimit) or, failing that, the memory limit of the
// cgroup the process runs in, as Kubernetes sets it from a container's limits.memory.
package memlimit

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// Source names where a limit came from.
type Source string

// Sources of a limit.
const (
	None     Source = "none"
	GoMemLim Source = "GOMEMLIMIT"
	CgroupV2 Source = "cgroup v2"
	CgroupV1 Source = "cgroup v1"
)

// Limit is the memory the process may use.
type Limit struct {
	// Bytes is the limit; 0 when Source is None.
	Bytes  int64
	Source Source
	// Cgroup is the container's limit even when GOMEMLIMIT sets a lower one; 0 if none.
	Cgroup int64
}

// unlimited is the smallest value cgroup v1 reports as "no limit": the kernel rounds
// its maximum (2^63-1) down to a page multiple.
const unlimited = math.MaxInt64 / 2

// Detect returns the process's memory limit. The runtime's limit wins when set, since
// it is the one the garbage collector works to; otherwise the cgroup's. A limit it cannot
// read counts as none.
func Detect() Limit {
	return detect("/", debug.SetMemoryLimit(-1))
}

// detect reads cgroup files under root; goLimit is the runtime's current soft limit.
func detect(root string, goLimit int64) Limit {
	var l Limit
	src := None
	if b, s := cgroupLimit(root); b > 0 {
		l.Cgroup, src = b, s
	}
	switch {
	case goLimit > 0 && goLimit < unlimited && (l.Cgroup == 0 || goLimit <= l.Cgroup):
		l.Bytes, l.Source = goLimit, GoMemLim
	case l.Cgroup > 0:
		l.Bytes, l.Source = l.Cgroup, src
	default:
		l.Source = None
	}
	return l
}

// cgroupLimit returns the memory limit of the process's own cgroup, from
// /proc/self/cgroup, trying v2 then v1. 0 means none found.
func cgroupLimit(root string) (int64, Source) {
	v2, v1 := cgroupPaths(filepath.Join(root, "proc/self/cgroup"))
	fs := filepath.Join(root, "sys/fs/cgroup")
	if v2 != "" {
		if b, ok := readLimit(filepath.Join(fs, v2, "memory.max")); ok {
			return b, CgroupV2
		}
		// Hybrid hierarchies mount v2 under "unified".
		if b, ok := readLimit(filepath.Join(fs, "unified", v2, "memory.max")); ok {
			return b, CgroupV2
		}
	}
	if v1 != "" {
		if b, ok := readLimit(filepath.Join(fs, "memory", v1, "memory.limit_in_bytes")); ok {
			return b, CgroupV1
		}
	}
	// Inside a container the process's cgroup is often the mount's root.
	if b, ok := readLimit(filepath.Join(fs, "memory.max")); ok {
		return b, CgroupV2
	}
	if b, ok := readLimit(filepath.Join(fs, "memory", "memory.limit_in_bytes")); ok {
		return b, CgroupV1
	}
	return 0, None
}

// cgroupPaths parses /proc/self/cgroup: the v2 path ("0::/path") and the v1 memory
// controller's path ("N:memory:/path").
func cgroupPaths(file string) (v2, v1 string) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", ""
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			v2 = parts[2]
		case contains(strings.Split(parts[1], ","), "memory"):
			v1 = parts[2]
		}
	}
	return v2, v1
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// readLimit reads a limit file: a byte count, or "max" (v2) or a huge number (v1) for
// none. ok is false when there is no limit or the file cannot be read.
func readLimit(file string) (int64, bool) {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, false
	}
	s := strings.TrimSpace(string(data))
	if s == "max" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n >= unlimited {
		return 0, false
	}
	return n, true
}

// String formats the limit for logs, e.g. "512MiB (cgroup v1)".
func (l Limit) String() string {
	if l.Source == None {
		return "none"
	}
	return fmt.Sprintf("%s (%s)", FormatBytes(l.Bytes), l.Source)
}

// FormatBytes formats n in the largest binary unit that keeps it at least 1, to one
// decimal, e.g. "1.5GiB".
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + "B"
	}
	v, i := float64(n), -1
	for v >= unit && i < 3 {
		v /= unit
		i++
	}
	v = math.Round(v*10) / 10
	return strconv.FormatFloat(v, 'f', -1, 64) + []string{"KiB", "MiB", "GiB", "TiB"}[i]
}
