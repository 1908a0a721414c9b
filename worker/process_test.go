package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"

	"github.com/sluice-dev/sluice/deploy/local/stack"
	"github.com/sluice-dev/sluice/internal/faultproxy"
	"github.com/sluice-dev/sluice/internal/stacktest"
)

// buildWorker builds this binary into a temporary directory.
func buildWorker(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "worker")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// proc is a worker process with its JSON log lines.
type proc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs []map[string]any
	done chan error
}

// startProc runs the worker binary against env, reading storage through storageHost.
func startProc(t *testing.T, bin string, env *stacktest.Env, storageHost string, extra ...string) *proc {
	t.Helper()
	p := &proc{done: make(chan error, 1)}
	p.cmd = exec.Command(bin)
	p.cmd.Env = append(os.Environ(), env.Env()...)
	p.cmd.Env = append(p.cmd.Env,
		"STORAGE_EMULATOR_HOST="+storageHost,
		"SLUICE_PROJECT="+env.ProjectID,
		"SLUICE_SUBSCRIPTION="+env.Subscription,
		"SLUICE_OUTPUT_BUCKET=out",
		"SLUICE_OUTPUT_PREFIX=results/",
		"SLUICE_DEAD_LETTER_TOPIC="+env.DeadLetterTopic,
		// Port 0: the worker binds a free port itself and logs it, so no other process
		// can take the port between picking and binding.
		"SLUICE_HTTP_ADDR=127.0.0.1:0",
		"SLUICE_LOG_FORMAT=json",
		"SLUICE_LOG_LEVEL=info",
	)
	p.cmd.Env = append(p.cmd.Env, extra...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) != nil {
				m = map[string]any{"msg": sc.Text()}
			}
			p.mu.Lock()
			p.logs = append(p.logs, m)
			p.mu.Unlock()
		}
		p.done <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		if t.Failed() {
			for _, l := range p.log() {
				t.Logf("%s: %v", filepath.Base(bin), l)
			}
		}
	})
	return p
}

func (p *proc) log() []map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]map[string]any(nil), p.logs...)
}

// find returns the first log line with message msg.
func (p *proc) find(msg string) map[string]any {
	for _, l := range p.log() {
		if l["message"] == msg || l["msg"] == msg {
			return l
		}
	}
	return nil
}

// httpAddr returns the address the worker serves health and metrics on, from its log.
func (p *proc) httpAddr(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if l := p.find("serving health and metrics"); l != nil {
			if addr, ok := l["addr"].(string); ok {
				return addr
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the worker never logged its health and metrics address")
	return ""
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(limit):
		t.Fatalf("worker did not exit within %s", limit)
		return -1
	}
}

func uploadAndPublish(t *testing.T, env *stacktest.Env, name string) {
	t.Helper()
	data := []byte("content of " + name)
	a := env.Upload(t, "in", name, data)
	env.Publish(t, map[string]string{
		"eventType": "OBJECT_FINALIZE", "payloadFormat": "NONE", "bucketId": "in",
		"objectId": name, "objectGeneration": fmt.Sprint(a.Generation),
	}, nil)
}

func countRecords(t *testing.T, env *stacktest.Env) int {
	t.Helper()
	n := 0
	it := env.Storage.Bucket("out").Objects(context.Background(), &storage.Query{Prefix: "results/"})
	for {
		_, err := it.Next()
		if err == iterator.Done {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
}

// TestSIGTERMDrains sends SIGTERM to the built worker while two slow reads are in
// flight: readiness turns false, both finish and are acked, the process exits 0 and
// logs what it acked, and nothing comes back.
func TestSIGTERMDrains(t *testing.T) {
	bin := buildWorker(t)
	env := stacktest.Start(t, stack.Config{Buckets: []string{"in", "out"}})
	proxy, err := faultproxy.Start("http://" + env.StorageHost)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	slow := proxy.Add(faultproxy.Rule{Match: faultproxy.ObjectReads("in"), Action: faultproxy.Delay, Delay: 1500 * time.Millisecond})
	uploadAndPublish(t, env, "a")
	uploadAndPublish(t, env, "b")

	p := startProc(t, bin, env, proxy.Host, "SLUICE_MAX_OUTSTANDING_MESSAGES=2", "SLUICE_DRAIN_TIMEOUT=5s")
	addr := p.httpAddr(t)
	deadline := time.Now().Add(30 * time.Second)
	for proxy.Hits(slow) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the two reads never began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The reads are held 1.5 s, so the drain lasts at least that long: readiness must
	// turn false well within it.
	ready := "http://" + addr + "/readyz"
	code := 0
	for start := time.Now(); time.Since(start) < time.Second; time.Sleep(10 * time.Millisecond) {
		resp, err := http.Get(ready)
		if err != nil {
			t.Fatalf("readyz during the drain: %v", err)
		}
		resp.Body.Close()
		if code = resp.StatusCode; code == http.StatusServiceUnavailable {
			break
		}
	}
	if code != http.StatusServiceUnavailable {
		t.Errorf("readyz during the drain = %d, want 503", code)
	}
	if code := p.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	drained := p.find("drained")
	if drained == nil || drained["acked"] != 2.0 || drained["nacked"] != 0.0 || drained["abandoned"] != 0.0 {
		t.Errorf("drained log = %v, want acked 2, nacked 0, abandoned 0", drained)
	}
	if n := countRecords(t, env); n != 2 {
		t.Errorf("%d records, want 2", n)
	}
	if left := env.Drain(t, env.Subscription, time.Second, 5*time.Second); len(left) != 0 {
		t.Errorf("%d messages came back after the drain, want none", len(left))
	}
}

// TestSIGKILLOneOfTwo kills one of two workers under load: every object still ends with
// exactly one record, and the subscription ends empty.
func TestSIGKILLOneOfTwo(t *testing.T) {
	bin := buildWorker(t)
	env := stacktest.Start(t, stack.Config{Buckets: []string{"in", "out"}, AckDeadline: 10 * time.Second})
	proxy, err := faultproxy.Start("http://" + env.StorageHost)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	proxy.Add(faultproxy.Rule{Match: faultproxy.ObjectReads("in"), Action: faultproxy.Delay, Delay: 150 * time.Millisecond})
	const total = 40
	for i := range total {
		uploadAndPublish(t, env, fmt.Sprintf("obj-%02d", i))
	}
	extra := []string{"SLUICE_MAX_OUTSTANDING_MESSAGES=3", "SLUICE_MAX_EXTENSION_PERIOD=10s", "SLUICE_DRAIN_TIMEOUT=5s"}
	a := startProc(t, bin, env, proxy.Host, append(extra, "SLUICE_WORKER_ID=a")...)
	b := startProc(t, bin, env, proxy.Host, append(extra, "SLUICE_WORKER_ID=b")...)

	deadline := time.Now().Add(30 * time.Second)
	for countRecords(t, env) < total/4 {
		if time.Now().After(deadline) {
			t.Fatal("workers made no progress")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code := a.wait(t, 5*time.Second); code != -1 {
		t.Errorf("killed worker exit code %d, want -1 (signalled)", code)
	}
	killedAt := countRecords(t, env)

	deadline = time.Now().Add(60 * time.Second)
	for countRecords(t, env) < total {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d records after the kill", countRecords(t, env), total)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second)
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := b.wait(t, 15*time.Second); code != 0 {
		t.Errorf("survivor exit code %d, want 0", code)
	}
	if n := countRecords(t, env); n != total {
		t.Errorf("%d records, want exactly %d", n, total)
	}
	if left := env.Drain(t, env.Subscription, time.Second, 5*time.Second); len(left) != 0 {
		t.Errorf("%d messages left on the subscription, want none", len(left))
	}
	t.Logf("killed with %d of %d records written", killedAt, total)
}

// TestStartupChecks runs the built worker with settings that cannot work and expects it
// to exit 1 at once with a message that names the problem, instead of running and
// nacking forever.
func TestStartupChecks(t *testing.T) {
	bin := buildWorker(t)
	env := stacktest.Start(t, stack.Config{Buckets: []string{"in", "out"}})
	tests := []struct {
		name  string
		extra []string
		want  string
	}{
		{"missing subscription", []string{"SLUICE_SUBSCRIPTION=no-such-subscription"}, "subscription projects/"},
		{"missing dead-letter topic", []string{"SLUICE_DEAD_LETTER_TOPIC=no-such-topic"}, "dead-letter topic projects/"},
		{"unknown processor", []string{"SLUICE_PROCESSOR=resize"}, `SLUICE_PROCESSOR "resize"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startProc(t, bin, env, env.StorageHost, tt.extra...)
			if code := p.wait(t, 60*time.Second); code != 1 {
				t.Fatalf("exit code %d, want 1", code)
			}
			for _, l := range p.log() {
				if msg, _ := l["msg"].(string); strings.Contains(msg, tt.want) {
					return
				}
			}
			t.Errorf("no output line mentions %q: %v", tt.want, p.log())
		})
	}
}
