package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/sluice-dev/sluice/deploy/local/stack"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		want       stack.Config
		wantNotify []notification
		wantErr    bool
	}{
		{
			name: "defaults",
			want: stack.Config{ProjectID: "sluice-local", Topic: "sluice-objects",
				Subscription: "sluice-worker", PubSub: "auto"},
		},
		{
			name: "all flags",
			args: []string{"-project=p1", "-topic=t1", "-subscription=s1",
				"-buckets= in, out,,", "-notify=in:uploads/", "-notify=extra",
				"-pubsub=pstest", "-dir=/tmp/x", "-pubsub-port=8085", "-storage-port=4443"},
			want: stack.Config{ProjectID: "p1", Topic: "t1", Subscription: "s1",
				Buckets: []string{"in", "out", "extra"}, PubSub: "pstest", Dir: "/tmp/x",
				PubSubPort: 8085, StoragePort: 4443},
			wantNotify: []notification{{"in", "uploads/"}, {"extra", ""}},
		},
		{name: "notify without bucket", args: []string{"-notify=:p/"}, wantErr: true},
		{name: "unknown flag", args: []string{"-nope"}, wantErr: true},
		{name: "positional argument", args: []string{"extra"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, notify, err := parseFlags(tt.args, io.Discard)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseFlags(%q) error = %v, want error %v", tt.args, err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(stack.Config{}, "Log")); diff != "" {
				t.Errorf("parseFlags(%q) config (-want +got):\n%s", tt.args, diff)
			}
			if diff := cmp.Diff(tt.wantNotify, notify, cmp.AllowUnexported(notification{})); diff != "" {
				t.Errorf("parseFlags(%q) notify (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

func TestRunHelp(t *testing.T) {
	err := run(context.Background(), []string{"-h"}, io.Discard, io.Discard)
	if !errors.Is(err, flag.ErrHelp) {
		t.Errorf("run(-h) = %v, want %v", err, flag.ErrHelp)
	}
}

// lineWriter is an io.Writer safe for concurrent use that reports the
// lines written to it on a channel.
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			// An unfinished line waits for the rest of it.
			w.buf.Reset()
			w.buf.WriteString(line)
			return len(p), nil
		}
		w.lines <- strings.TrimSuffix(line, "\n")
	}
}

func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout bytes.Buffer
	stderr := &lineWriter{lines: make(chan string, 100)}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-pubsub=pstest", "-buckets=inbox", "-notify=inbox:in/"},
			&stdout, stderr)
	}()

	timeout := time.After(30 * time.Second)
	for ready := false; !ready; {
		select {
		case line := <-stderr.lines:
			ready = line == "ready"
		case err := <-done:
			t.Fatalf("run() returned %v before ready", err)
		case <-timeout:
			t.Fatal("no \"ready\" line on stderr after 30s")
		}
	}

	// run writes stdout before "ready", so it is complete here.
	want := regexp.MustCompile(`^export PUBSUB_EMULATOR_HOST=127\.0\.0\.1:\d+\n` +
		`export STORAGE_EMULATOR_HOST=127\.0\.0\.1:\d+\n$`)
	if !want.Match(stdout.Bytes()) {
		t.Errorf("stdout = %q, want two export lines matching %s", stdout.String(), want)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run() after cancel = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run() still running 10s after cancel")
	}
	checkLogs(t, stderr)
}

// checkLogs checks that everything on stderr but "ready" was a JSON log
// record.
func checkLogs(t *testing.T, stderr *lineWriter) {
	t.Helper()
	close(stderr.lines)
	for line := range stderr.lines {
		if line != "ready" && !strings.HasPrefix(line, `{"time":`) {
			t.Errorf("stderr line %q is not a JSON log record", line)
		}
	}
	sc := bufio.NewScanner(&stderr.buf)
	for sc.Scan() {
		t.Errorf("unfinished stderr line %q", sc.Text())
	}
}
