package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sluice-dev/sluice/bench/internal/probe"
)

// Spec says how to run one consumer process.
type Spec struct {
	// Name labels the consumer in tables and CSV.
	Name string
	// Path is the consumer binary; Args its flags (without -count, which Count sets).
	Path string
	Args []string
	// Env is the child's whole environment (see Env.ChildEnv).
	Env []string
	// Count is how many messages the consumer processes before it stops itself.
	Count int64
	// Timeout stops the consumer (SIGTERM) if it has not finished by then; the result
	// then covers what it did. 0 means no limit.
	Timeout time.Duration
	// Log receives the consumer's stderr; nil discards it.
	Log io.Writer
	// OnSample, if set, is called after each second's sample, e.g. to publish more.
	OnSample func(Sample)
}

// Sample is one second of a consumer's life: the harness's reading of its RSS joined to
// the consumer's latest probe line.
type Sample struct {
	Consumer   string
	Elapsed    float64 // seconds since the process started
	Messages   int64
	RSSBytes   int64
	HeapBytes  uint64
	Goroutines int
}

// Result is what one consumer run measured.
type Result struct {
	Name     string
	Messages int64
	Failed   int64
	// Busy is the time from its first message done to its last, in seconds.
	Busy float64
	// CPU is the child's user plus system time, in seconds.
	CPU float64
	// MaxRSS is the child's peak resident set, in bytes: the highest VmHWM sampled. Not
	// rusage's ru_maxrss: Linux starts a child's at its parent's RSS when it forks
	// (Go forks with the parent's memory shared), so it reports the harness's size
	// whenever that is larger.
	MaxRSS   int64
	Samples  []Sample
	TimedOut bool
}

// Rate returns messages per second.
func (r Result) Rate() float64 { return float64(r.Messages) / r.Busy }

// CPUPer10k returns CPU seconds per 10,000 messages.
func (r Result) CPUPer10k() float64 { return r.CPU / float64(r.Messages) * 1e4 }

// Run starts the consumer, samples it every second until it exits, and returns what it
// measured. It fails if the consumer exits non-zero.
func Run(ctx context.Context, s Spec) (Result, error) {
	args := append(append([]string(nil), s.Args...), "-count="+strconv.FormatInt(s.Count, 10))
	cmd := exec.Command(s.Path, args...)
	cmd.Env = s.Env
	cmd.Stderr = s.Log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return Result{}, err
	}
	if err := cmd.Start(); err != nil {
		return Result{}, fmt.Errorf("start %s: %w", s.Name, err)
	}
	start := time.Now()

	var (
		mu    sync.Mutex
		last  probe.Sample
		final probe.Sample
	)
	lines := make(chan struct{})
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var p probe.Sample
			if json.Unmarshal(sc.Bytes(), &p) != nil {
				continue
			}
			mu.Lock()
			last = p
			if p.Final {
				final = p
			}
			mu.Unlock()
		}
	}()
	exited := make(chan error, 1)
	go func() {
		<-lines // Wait must not close the pipe before every line is read.
		exited <- cmd.Wait()
	}()

	res := Result{Name: s.Name}
	var deadline <-chan time.Time
	if s.Timeout > 0 {
		deadline = time.After(s.Timeout)
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var waitErr error
	cancelled := ctx.Done()
loop:
	for {
		select {
		case waitErr = <-exited:
			break loop
		case <-deadline:
			res.TimedOut = true
			cmd.Process.Signal(syscall.SIGTERM)
			deadline = nil
		case <-cancelled:
			cmd.Process.Signal(syscall.SIGTERM)
			cancelled = nil
		case <-tick.C:
			rss, hwm, err := ReadRSS(cmd.Process.Pid)
			if err != nil {
				continue // exiting
			}
			res.MaxRSS = max(res.MaxRSS, hwm)
			mu.Lock()
			p := last
			mu.Unlock()
			smp := Sample{
				Consumer: s.Name, Elapsed: time.Since(start).Seconds(), Messages: p.Messages,
				RSSBytes: rss, HeapBytes: p.HeapBytes, Goroutines: p.Goroutines,
			}
			res.Samples = append(res.Samples, smp)
			if s.OnSample != nil {
				s.OnSample(smp)
			}
		}
	}

	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.CPU = tv(ru.Utime) + tv(ru.Stime)
	}
	res.Messages, res.Failed, res.Busy = final.Messages, final.Failed, final.Busy
	if waitErr != nil && !res.TimedOut {
		return res, fmt.Errorf("%s: %w", s.Name, waitErr)
	}
	if !final.Final {
		return res, fmt.Errorf("%s: exited without its final sample", s.Name)
	}
	return res, nil
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// ReadRSS returns a process's resident set size and its high-water mark from
// /proc/PID/status.
func ReadRSS(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	for line := range bytes.Lines(b) {
		name, value, ok := strings.Cut(string(line), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s %q: %w", name, value, err)
		}
		if name == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	if rss == 0 {
		return 0, 0, errors.New("no VmRSS (process exited?)")
	}
	return rss, hwm, nil
}
