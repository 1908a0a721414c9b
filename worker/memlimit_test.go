package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/deploy/local/stack"
	"github.com/sluice-dev/sluice/internal/stacktest"
)

// cgroupV1Memory is where a cgroup v1 memory controller is mounted on Linux.
const cgroupV1Memory = "/sys/fs/cgroup/memory"

// memoryCgroup makes a cgroup v1 memory group limited to limit bytes, as a pod's memory
// limit is, and returns its directory. It skips the test where that is not possible
// (not root, no cgroup v1 memory controller).
func memoryCgroup(t *testing.T, limit int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a memory cgroup")
	}
	if _, err := os.Stat(filepath.Join(cgroupV1Memory, "cgroup.procs")); err != nil {
		t.Skipf("no cgroup v1 memory controller at %s: %v", cgroupV1Memory, err)
	}
	dir := filepath.Join(cgroupV1Memory, fmt.Sprintf("sluice-test-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("cannot make a memory cgroup: %v", err)
	}
	t.Cleanup(func() {
		// The group can only be removed once its processes have gone.
		for range 50 {
			if err := os.Remove(dir); err == nil || os.IsNotExist(err) {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Errorf("cgroup %s left behind", dir)
	})
	if err := os.WriteFile(filepath.Join(dir, "memory.limit_in_bytes"), []byte(strconv.FormatInt(limit, 10)), 0o644); err != nil {
		t.Fatalf("set the memory limit: %v", err)
	}
	return dir
}

// allocateEnv, when set in the environment of this test binary, makes it allocate and
// touch that many MiB and exit: a process that must not survive a smaller memory limit.
const allocateEnv = "SLUICE_TEST_ALLOCATE_MIB"

func init() {
	if v := os.Getenv(allocateEnv); v != "" {
		n, _ := strconv.Atoi(v)
		b := make([]byte, n<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		os.Exit(0)
	}
}

// inGroup returns a command that runs argv inside the memory cgroup group.
func inGroup(t *testing.T, group, argv string) string {
	t.Helper()
	launcher := filepath.Join(t.TempDir(), "in-cgroup.sh")
	script := fmt.Sprintf("#!/bin/sh\necho $$ > %s/cgroup.procs && exec %s\n", group, argv)
	if err := os.WriteFile(launcher, []byte(script), 0o644|0o111); err != nil {
		t.Fatal(err)
	}
	return launcher
}

// requireEnforced checks that the group really kills a process over its limit, so a
// survivor proves something; it skips the test where the limit is not enforced.
func requireEnforced(t *testing.T, group string, limit int64) {
	t.Helper()
	cmd := exec.Command(inGroup(t, group, os.Args[0]))
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", allocateEnv, 2*limit>>20))
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Skipf("the cgroup's memory limit is not enforced here (allocating twice it gave %v)", err)
	}
	// Forget the killed process's peak, so the group's peak is the worker's.
	_ = os.WriteFile(filepath.Join(group, "memory.max_usage_in_bytes"), []byte("0"), 0o644)
}

// patternReader yields n bytes of a repeating pattern without holding them.
type patternReader struct{ n int64 }

func (r *patternReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.n {
		p = p[:r.n]
	}
	for i := range p {
		p[i] = byte(i * 31)
	}
	r.n -= int64(len(p))
	return len(p), nil
}

// TestHugeObjectUnderMemoryLimit runs the built worker inside a 128 MiB memory cgroup,
// with no GOMEMLIMIT, on a 256 MiB object: it must detect the limit, fit its flow control
// to it, stream the object, write a matching record and exit 0 on SIGTERM, instead of
// being OOM-killed as a process holding the object whole would be (requireEnforced shows
// that the group kills one).
func TestHugeObjectUnderMemoryLimit(t *testing.T) {
	const limit, size = 128 << 20, 256 << 20
	group := memoryCgroup(t, limit)
	requireEnforced(t, group, limit)
	bin := buildWorker(t)
	env := stacktest.Start(t, stack.Config{Buckets: []string{"in", "out"}})

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w := env.Storage.Bucket("in").Object("huge.bin").NewWriter(ctx)
	if _, err := io.Copy(w, &patternReader{n: size}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	a := w.Attrs()
	env.Publish(t, map[string]string{
		"eventType": "OBJECT_FINALIZE", "payloadFormat": "NONE", "bucketId": "in",
		"objectId": "huge.bin", "objectGeneration": strconv.FormatInt(a.Generation, 10),
	}, nil)

	// The worker enters the group before it starts, as a container's process does.
	p := startProc(t, inGroup(t, group, bin), env, env.StorageHost, "GOMEMLIMIT=")

	deadline := time.Now().Add(90 * time.Second)
	for countRecords(t, env) < 1 {
		select {
		case err := <-p.done:
			t.Fatalf("worker exited before writing the record (%v, exit %d): OOM-killed?", err, p.cmd.ProcessState.ExitCode())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no record within 90s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}

	recv := p.find("receiving")
	if recv == nil || recv["memory_limit"] != float64(limit) {
		t.Errorf("receiving log %v: want memory_limit %d, detected from the cgroup", recv, limit)
	}
	data, err := env.Read("out", "results/in/huge.bin@"+strconv.FormatInt(a.Generation, 10)+".json")
	if err != nil || !strings.Contains(string(data), `"match":true`) || !strings.Contains(string(data), fmt.Sprintf(`"size":%d`, size)) {
		t.Errorf("record = %s, %v; want a matching record of %d bytes", data, err, size)
	}
	if b, err := os.ReadFile(filepath.Join(group, "memory.max_usage_in_bytes")); err == nil {
		peak, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		t.Logf("peak memory of the worker's cgroup: %.1f MiB of %d MiB, for a %d MiB object",
			float64(peak)/(1<<20), limit>>20, size>>20)
	}
}
