package main

import (
	"crypto/md5"
	"errors"
	"fmt"
	"hash/crc32"
	"regexp"
	"strings"
	"testing"

	"cloud.google.com/go/storage"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sluice-dev/sluice/pkg/notify"
)

// wantEvent is the event a backfill publishes for a fake object with content.
func wantEvent(bucket, name, content string) notify.Event {
	sum := md5.Sum([]byte(content))
	return notify.Event{
		Type:      notify.Finalize,
		Bucket:    bucket,
		Name:      name,
		Size:      int64(len(content)),
		CRC32C:    crc32.Checksum([]byte(content), crc32.MakeTable(crc32.Castagnoli)),
		HasCRC32C: true,
		MD5:       sum[:],
		Source:    notify.SourceBackfill,
	}
}

// ignoreListed ignores what the fake assigns: generation and time, checked apart.
var ignoreListed = cmpopts.IgnoreFields(notify.Event{}, "Generation", "Time")

func TestBackfill(t *testing.T) {
	names := append(oddNames, "nl\nname", "cr\rname", "ctl\x01\x7f", "p/a", "p/b", "p/c/d")
	var objs []fakestorage.Object
	for _, n := range names {
		objs = append(objs, object("bk", n, "content of "+n))
	}
	objs = append(objs, object("other", "x", "elsewhere"))

	tests := []struct {
		name   string
		args   []string
		names  []string
		splits bool
	}{
		{"whole bucket", nil, names, false},
		{"whole bucket, four list workers splitting", []string{"--list-workers", "4", "--page-size", "2"}, names, true},
		{"range, two list workers", []string{"--start-after", "p/a", "--end-before", "p/c/d", "--list-workers", "2", "--page-size", "1"}, []string{"p/b"}, false},
		{"prefix", []string{"--prefix", "p/"}, []string{"p/a", "p/b", "p/c/d"}, false},
		{"prefix matching nothing", []string{"--prefix", "nothing/"}, nil, false},
		{"range", []string{"--start-after", "p/a", "--end-before", "p/c/d"}, []string{"p/b"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startEngines(t, objs...)
			args := append([]string{"backfill", "--bucket", "bk", "--progress", "0"}, tt.args...)
			_, stderr, err := runProducer(t, "", args...)
			if err != nil {
				t.Fatalf("run(%q) = %v; stderr:\n%s", args, err, stderr)
			}
			var want []notify.Event
			for _, n := range tt.names {
				want = append(want, wantEvent("bk", n, "content of "+n))
			}
			got := e.published(t)
			sortOpt := cmpopts.SortSlices(func(a, b notify.Event) bool { return a.Name < b.Name })
			if diff := cmp.Diff(want, got, ignoreListed, sortOpt, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("published events mismatch (-want +got):\n%s", diff)
			}
			for _, ev := range got {
				if ev.Generation <= 0 {
					t.Errorf("%q published with generation %d, want the listed one", ev.Name, ev.Generation)
				}
			}
			if !strings.Contains(stderr, `"msg":"summary"`) {
				t.Errorf("stderr has no summary line:\n%s", stderr)
			}
			// Every published message was timed, and the summary reports it.
			if want := fmt.Sprintf(`"publish_latency_count":%d,`, len(tt.names)); !strings.Contains(stderr, want) {
				t.Errorf("summary lacks %s:\n%s", want, stderr)
			}
			// Small pages and idle list workers split the range; one page never is.
			m := regexp.MustCompile(`"splits":(\d+)`).FindStringSubmatch(stderr)
			if m == nil || (m[1] != "0") != tt.splits {
				t.Errorf("summary splits %v, want splits %v:\n%s", m, tt.splits, stderr)
			}
		})
	}
}

func TestBackfillBadBucket(t *testing.T) {
	startEngines(t)
	_, _, err := runProducer(t, "", "backfill", "--bucket", "missing", "--progress", "0")
	if !errors.Is(err, storage.ErrBucketNotExist) {
		t.Errorf("backfill of a missing bucket = %v, want ErrBucketNotExist", err)
	}
}

func TestBackfillDryRun(t *testing.T) {
	e := startEngines(t, object("bk", "a", "12345"), object("bk", "b", "678"))
	_, stderr, err := runProducer(t, "", "backfill", "--bucket", "bk", "--dry-run", "--progress", "0")
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, stderr)
	}
	if n := len(e.ps.Messages()); n != 0 {
		t.Errorf("dry run published %d messages, want 0", n)
	}
	if !strings.Contains(stderr, `"listed":2`) || !strings.Contains(stderr, `"bytes":8`) {
		t.Errorf("dry-run summary lacks listed 2, bytes 8:\n%s", stderr)
	}
}
