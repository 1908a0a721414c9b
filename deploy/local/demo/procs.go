package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a child process of the demo: a worker or the producer.
type proc struct {
	name string
	cmd  *exec.Cmd
	addr string // health and metrics address, for workers; from the log, under mu
	peak int64  // peak RSS in bytes, read by stop

	mu      sync.Mutex
	stopped map[string]json.RawMessage // the worker's final "stopped" log line
	tail    []string                   // its last log lines, for errors
	done    chan struct{}
	err     error
}

// startWorker starts worker number i with env added to the demo's environment.
func startWorker(o options, i int, env []string) (*proc, error) {
	p := &proc{name: fmt.Sprintf("worker-%d", i)}
	p.cmd = exec.Command(filepath.Join(o.bin, "worker"))
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Env = append(p.cmd.Env,
		"SLUICE_PROJECT=sluice-local",
		"SLUICE_SUBSCRIPTION=sluice-worker",
		"SLUICE_PROCESSOR=checksum",
		"SLUICE_OUTPUT_BUCKET="+resultsBucket,
		"SLUICE_OUTPUT_PREFIX="+resultsPrefix,
		"SLUICE_DEAD_LETTER_TOPIC=sluice-dead-letter",
		"SLUICE_MAX_OUTSTANDING_MESSAGES=16",
		"SLUICE_WORKER_ID="+p.name,
		// Port 0: the worker binds a free port and logs it (see scan).
		"SLUICE_HTTP_ADDR=127.0.0.1:0",
	)
	if err := p.start(o.verbose); err != nil {
		return nil, err
	}
	return p, nil
}

// start runs the process, scanning its JSON logs on stderr.
func (p *proc) start(verbose bool) error {
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		return err
	}
	p.cmd.Stdout = os.Stdout
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	p.done = make(chan struct{})
	go func() {
		p.scan(stderr, verbose)
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return nil
}

func (p *proc) scan(r io.Reader, verbose bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if verbose {
			fmt.Fprintf(os.Stderr, "%s: %s\n", p.name, line)
		}
		p.mu.Lock()
		p.tail = append(p.tail, string(line))
		if len(p.tail) > 20 {
			p.tail = p.tail[1:]
		}
		if p.addr == "" && bytes.Contains(line, []byte(`"serving health and metrics"`)) {
			var m struct {
				Addr string `json:"addr"`
			}
			if json.Unmarshal(line, &m) == nil {
				p.addr = m.Addr
			}
		}
		if bytes.Contains(line, []byte(`"stopped"`)) {
			var m map[string]json.RawMessage
			if json.Unmarshal(line, &m) == nil {
				p.stopped = m
			}
		}
		p.mu.Unlock()
	}
}

// waitReady polls the worker's /readyz until it answers 200.
func (p *proc) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited during start-up: %v\n%s", p.name, p.err, p.lastLines())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		p.mu.Lock()
		addr := p.addr
		p.mu.Unlock()
		if addr == "" {
			continue
		}
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("%s not ready after 60s\n%s", p.name, p.lastLines())
}

// stop sends SIGTERM and waits for a clean drain.
func (p *proc) stop(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.exitErr()
	default:
	}
	p.peak = vmHWM(p.cmd.Process.Pid)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.exitErr()
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within %s; killed", p.name, timeout)
	}
}

func (p *proc) exitErr() error {
	if p.err != nil {
		return fmt.Errorf("%s: %w\n%s", p.name, p.err, p.lastLines())
	}
	return nil
}

// peakRSS returns the process's peak resident set in bytes, as read just before stop
// signalled it; 0 if unknown.
func (p *proc) peakRSS() int64 { return p.peak }

// vmHWM reads a live process's peak resident set ("VmHWM") from /proc, in bytes; 0 if
// unknown. rusage's ru_maxrss is no substitute: Linux starts a forked child's at the
// parent's size, and this parent holds the storage fake.
func vmHWM(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kib << 10
		}
	}
	return 0
}

// finalStats returns the outcome counts from the worker's "stopped" log line.
func (p *proc) finalStats() (received int64, outcomes map[string]int64, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var s struct {
		Received int64            `json:"received"`
		Outcomes map[string]int64 `json:"outcomes"`
	}
	raw, found := p.stopped["stats"]
	if !found || json.Unmarshal(raw, &s) != nil {
		return 0, nil, false
	}
	return s.Received, s.Outcomes, true
}

func (p *proc) lastLines() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b bytes.Buffer
	for _, l := range p.tail {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

// runProducer runs the producer with args and waits for it.
func runProducer(ctx context.Context, o options, env []string, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(o.bin, "producer"), args...)
	cmd.Env = append(append(os.Environ(), env...), "SLUICE_PROJECT=sluice-local", "SLUICE_TOPIC=sluice-objects")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("producer %v: %w\n%s", args, err, out.String())
	}
	if o.verbose {
		fmt.Fprintf(os.Stderr, "producer: %s", out.String())
	}
	return nil
}
