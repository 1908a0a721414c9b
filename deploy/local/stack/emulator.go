package stack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/api/iterator"
)

const (
	// emulatorLauncher is the emulator's start script, relative to the
	// Google Cloud CLI's SDK root.
	emulatorLauncher = "platform/pubsub-emulator/bin/cloud-pubsub-emulator"

	// emulatorReadyTimeout bounds the wait for the emulator to answer. On
	// a 2-core machine it answered after 1.2 s idle and 2.9 s at load
	// average 7. Too low fails a healthy start on a busy CI runner; too
	// high only delays the error when it will never start.
	emulatorReadyTimeout = 30 * time.Second

	// emulatorStopTimeout is how long the JVM gets to exit on SIGTERM
	// before its process group is killed.
	emulatorStopTimeout = 5 * time.Second

	// emulatorTailBytes is how much of the emulator's output an error
	// quotes: enough for a Java exception's first frames.
	emulatorTailBytes = 4 << 10

	// emulatorFatal starts the JVM's report of an exception that ended the
	// main thread. The emulator's other threads keep the JVM alive after
	// it (seen with "java.net.BindException: Address already in use"), so
	// the process does not exit and only its output tells of the failure.
	emulatorFatal = `Exception in thread "main"`
)

// findEmulator returns the path of the Pub/Sub emulator's launcher, or an
// error saying what is missing. The answer is looked up once per process:
// asking gcloud takes about half a second.
var findEmulator = sync.OnceValues(lookupEmulator)

func lookupEmulator() (string, error) {
	if _, err := exec.LookPath("java"); err != nil {
		return "", fmt.Errorf("java: %w", err)
	}
	gcloud, err := exec.LookPath("gcloud")
	if err != nil {
		return "", fmt.Errorf("google cloud cli: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, gcloud, "info",
		"--format=value(installation.sdk_root)").Output()
	if err != nil {
		return "", fmt.Errorf("gcloud info: %w", err)
	}
	launcher := filepath.Join(strings.TrimSpace(string(out)), emulatorLauncher)
	if _, err := os.Stat(launcher); err != nil {
		return "", fmt.Errorf("pubsub emulator component: %w", err)
	}
	return launcher, nil
}

// emulator is a running official Pub/Sub emulator.
type emulator struct {
	host   string
	cmd    *exec.Cmd
	out    *tailWriter
	log    *os.File
	exited chan struct{} // closed when the launcher's process has been reaped
}

// startEmulator launches the emulator on loopback, logging to
// dir/pubsub-emulator.log. It returns without waiting for it to answer.
func startEmulator(launcher, listen string, port int, dir string) (*emulator, error) {
	port, err := checkPort(listen, port)
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "pubsub-emulator.log"))
	if err != nil {
		return nil, err
	}
	e := &emulator{
		host:   net.JoinHostPort(dialHost(listen), strconv.Itoa(port)),
		out:    &tailWriter{max: emulatorTailBytes},
		log:    logFile,
		exited: make(chan struct{}),
	}
	e.cmd = exec.Command(launcher, "--host="+listen, fmt.Sprintf("--port=%d", port))
	e.cmd.Dir = dir
	e.cmd.Stdout = io.MultiWriter(logFile, e.out)
	e.cmd.Stderr = e.cmd.Stdout
	e.cmd.SysProcAttr = &syscall.SysProcAttr{
		// The launcher is a shell script that runs java; where java is its
		// child rather than exec'd in its place, stopping the launcher
		// alone leaves the emulator running. A process group of its own
		// lets stop reach both.
		Setpgid: true,
		// If this process dies without Close, take the launcher with it.
		Pdeathsig: syscall.SIGKILL,
	}
	if err := e.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start pubsub emulator: %w", err)
	}
	go func() {
		e.cmd.Wait()
		close(e.exited)
	}()
	return e, nil
}

// waitReady blocks until the emulator lists topics, it exits, ctx is done
// or emulatorReadyTimeout passes. Errors quote the tail of its output.
func (e *emulator) waitReady(ctx context.Context, c *pubsub.Client, project string) error {
	ctx, cancel := context.WithTimeout(ctx, emulatorReadyTimeout)
	defer cancel()
	req := &pubsubpb.ListTopicsRequest{Project: "projects/" + project}
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, 500*time.Millisecond)
		_, err := c.TopicAdminClient.ListTopics(attempt, req).Next()
		cancelAttempt()
		if err == nil || errors.Is(err, iterator.Done) {
			return nil
		}
		if e.out.fatal.Load() {
			return fmt.Errorf("pubsub emulator on %s failed; output ends:\n%s", e.host, e.out)
		}
		select {
		case <-e.exited:
			return fmt.Errorf("pubsub emulator on %s exited (%v); output ends:\n%s",
				e.host, e.cmd.ProcessState, e.out)
		case <-ctx.Done():
			return fmt.Errorf("pubsub emulator on %s not answering: %w (last: %v); output ends:\n%s",
				e.host, ctx.Err(), err, e.out)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM to the emulator's process group, then SIGKILL if the
// launcher has not exited within emulatorStopTimeout, and reaps it.
func (e *emulator) stop() error {
	defer e.log.Close()
	pgid := e.cmd.Process.Pid
	if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop pubsub emulator: %w", err)
	}
	select {
	case <-e.exited:
	case <-time.After(emulatorStopTimeout):
	}
	// Also reaches any child left in the group after the launcher exited.
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill pubsub emulator: %w", err)
	}
	<-e.exited
	return nil
}

// tailWriter keeps the last max bytes written to it, and notes whether the
// output reported a fatal error. It is safe for concurrent use.
type tailWriter struct {
	mu    sync.Mutex
	max   int
	buf   []byte
	fatal atomic.Bool
}

func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	// A marker split across two writes is missed; waitReady's timeout still
	// ends the wait.
	if bytes.Contains(p, []byte(emulatorFatal)) {
		w.fatal.Store(true)
	}
	w.buf = append(w.buf, p...)
	if over := len(w.buf) - w.max; over > 0 {
		w.buf = append(w.buf[:0], w.buf[over:]...)
	}
	return len(p), nil
}

func (w *tailWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(bytes.TrimSpace(w.buf))
}
