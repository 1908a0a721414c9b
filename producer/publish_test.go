package main

import (
	"errors"
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sluice-dev/sluice/pkg/notify"
)

// oddNames are object names that a careless producer would mangle.
var oddNames = []string{
	"a b", "hash#tag", "what?x=1", "lit%2Fslash", "plus+sign", "ñandú/雪.txt", "dir/",
	" lead and trail ", "tab\there",
}

func backfillEvent(bucket, name string) notify.Event {
	return notify.Event{Type: notify.Finalize, Bucket: bucket, Name: name, Size: -1, Source: notify.SourceBackfill}
}

func TestPublishNames(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		args    []string
		want    []notify.Event
		wantErr error
	}{
		{
			name:  "bare names in --bucket",
			input: strings.Join(oddNames, "\n") + "\n",
			args:  []string{"--bucket", "bk"},
			want: func() []notify.Event {
				var evs []notify.Event
				for _, n := range oddNames {
					evs = append(evs, backfillEvent("bk", n))
				}
				return evs
			}(),
		},
		{
			name:  "URIs, CRLF, blank lines and duplicates",
			input: "gs://one/x y\r\n\r\ngs://two/%2F\ngs://two/%2F\n\n",
			want: []notify.Event{
				backfillEvent("two", "%2F"), backfillEvent("two", "%2F"), backfillEvent("one", "x y"),
			},
		},
		{
			name:    "a bare name without --bucket fails the run, others still publish",
			input:   "gs://one/ok\nbare\n",
			want:    []notify.Event{backfillEvent("one", "ok")},
			wantErr: errFailed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startEngines(t)
			args := append([]string{"publish", "--progress", "0"}, tt.args...)
			_, stderr, err := runProducer(t, tt.input, args...)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("run(%q) = %v, want %v; stderr:\n%s", args, err, tt.wantErr, stderr)
			}
			got := e.published(t)
			sortOpt := cmpopts.SortSlices(func(a, b notify.Event) bool {
				return a.Bucket+"/"+a.Name < b.Bucket+"/"+b.Name
			})
			if diff := cmp.Diff(tt.want, got, sortOpt); diff != "" {
				t.Errorf("published events mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPublishAttributes(t *testing.T) {
	e := startEngines(t)
	if _, stderr, err := runProducer(t, "gs://b/lit%2Fslash?#\n", "publish", "--progress", "0"); err != nil {
		t.Fatalf("publish: %v\n%s", err, stderr)
	}
	msgs := e.ps.Messages()
	if len(msgs) != 1 {
		t.Fatalf("got %d messages, want 1", len(msgs))
	}
	got := msgs[0].Attributes
	tp := got["traceparent"]
	if len(tp) != 55 || !strings.HasPrefix(tp, "00-") {
		t.Errorf("traceparent = %q, want a W3C traceparent", tp)
	}
	delete(got, "traceparent")
	want := map[string]string{
		notify.AttrEventType:     string(notify.Finalize),
		notify.AttrBucket:        "b",
		notify.AttrObject:        "lit%2Fslash?#",
		notify.AttrPayloadFormat: notify.PayloadNone,
		notify.AttrSource:        notify.SourceBackfill,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("attributes mismatch (-want +got):\n%s", diff)
	}
	if len(msgs[0].Data) != 0 {
		t.Errorf("data = %q, want none", msgs[0].Data)
	}
}

func TestPublishFailuresRoundTrip(t *testing.T) {
	e := startEngines(t)
	dir := t.TempDir()
	failures := filepath.Join(dir, "failures.jsonl")
	// The producer's own writing of this file is covered by TestBackfillPublishFailures.
	writeFile(t, failures, `{"bucket":"b","name":"line\nbreak","generation":5,"error":"x"}`+"\n")
	if _, stderr, err := runProducer(t, "", "publish", "--progress", "0", "--input", failures); err != nil {
		t.Fatalf("publish failures file: %v\n%s", err, stderr)
	}
	want := []notify.Event{{Type: notify.Finalize, Bucket: "b", Name: "line\nbreak", Generation: 5, Size: -1,
		Source: notify.SourceBackfill}}
	if diff := cmp.Diff(want, e.published(t)); diff != "" {
		t.Errorf("republished events mismatch (-want +got):\n%s", diff)
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr error
		wantOut string
	}{
		{"top-level help", []string{"-h"}, nil, "Commands:"},
		{"backfill help", []string{"backfill", "-h"}, nil, "--bucket B"},
		{"publish help", []string{"publish", "-h"}, nil, "-input"},
		{"no command", nil, errUsage, "Usage: producer"},
		{"unknown command", []string{"frobnicate"}, errUsage, "unknown command"},
		{"backfill without bucket", []string{"backfill"}, errUsage, "--bucket is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, err := runProducer(t, "", tt.args...)
			if tt.wantErr == nil && err != nil && !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("run(%q) = %v", tt.args, err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("run(%q) = %v, want %v", tt.args, err, tt.wantErr)
			}
			if out := stdout + stderr; !strings.Contains(out, tt.wantOut) {
				t.Errorf("run(%q) printed %q, want it to contain %q", tt.args, out, tt.wantOut)
			}
		})
	}
}

func TestOTLPEnabled(t *testing.T) {
	tests := []struct {
		name               string
		e                  env
		endpoint, exporter string
		want               bool
	}{
		{"nothing set", env{}, "", "", false},
		{"common endpoint", env{OTLPEndpoint: "http://c:4317"}, "", "", true},
		{"signal endpoint", env{}, "http://c:4317", "", true},
		{"turned off", env{OTLPEndpoint: "http://c:4317"}, "", "none", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.e.otlpEnabled(tt.endpoint, tt.exporter); got != tt.want {
				t.Errorf("otlpEnabled(%q, %q) with %+v = %v, want %v", tt.endpoint, tt.exporter, tt.e, got, tt.want)
			}
		})
	}
}
