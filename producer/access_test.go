package main

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/faultproxy"
	"github.com/sluice-dev/sluice/pkg/backfill"
)

// TestBackfillListDenied puts faultproxy in front of the fake, answering 403 to every
// list request, and checks the run fails with backfill.ErrAccess and says so.
func TestBackfillListDenied(t *testing.T) {
	e := startEngines(t, objectsNamed("bk", "a", "b")...)
	proxy, err := faultproxy.Start(e.gcs.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	rule := proxy.Add(faultproxy.Rule{
		Match: func(r *http.Request) bool {
			return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/b/bk/o")
		},
		Action: faultproxy.Status,
		Code:   http.StatusForbidden,
	})
	t.Setenv("STORAGE_EMULATOR_HOST", "http://"+proxy.Host)

	for _, workers := range []string{"1", "3"} {
		_, stderr, err := runProducer(t, "", "backfill", "--bucket", "bk", "--progress", "0",
			"--list-workers", workers)
		if !errors.Is(err, backfill.ErrAccess) || !strings.Contains(err.Error(), "not allowed to list the bucket") {
			t.Errorf("--list-workers %s: backfill with listing denied = %v, want ErrAccess\n%s", workers, err, stderr)
		}
	}
	if proxy.Hits(rule) == 0 {
		t.Error("no list request reached the proxy")
	}
	if n := len(e.ps.Messages()); n != 0 {
		t.Errorf("published %d messages with listing denied, want 0", n)
	}
}

// TestBackfillUpdatedSince checks --updated-since through the command line: objects
// updated before it are skipped and counted, the others published.
func TestBackfillUpdatedSince(t *testing.T) {
	old := object("bk", "old", "o")
	old.Updated = time.Now().Add(-48 * time.Hour)
	fresh := object("bk", "fresh", "f")
	fresh.Updated = time.Now()
	e := startEngines(t, old, fresh)
	since := time.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339)
	_, stderr, err := runProducer(t, "", "backfill", "--bucket", "bk", "--progress", "0", "--updated-since", since)
	if err != nil {
		t.Fatalf("backfill --updated-since: %v\n%s", err, stderr)
	}
	var got []string
	for _, ev := range e.published(t) {
		got = append(got, ev.Name)
	}
	if len(got) != 1 || got[0] != "fresh" {
		t.Errorf("published %q, want only \"fresh\"", got)
	}
	if !strings.Contains(stderr, `"skipped":1,`) {
		t.Errorf("summary lacks skipped 1:\n%s", stderr)
	}
	if _, _, err := runProducer(t, "", "backfill", "--bucket", "bk", "--updated-since", "yesterday"); !errors.Is(err, errUsage) {
		t.Errorf("--updated-since yesterday = %v, want errUsage", err)
	}
}

// TestBackfillGlobOnTheWire checks that --glob reaches Cloud Storage as matchGlob on every
// list request, those of ranges split by --list-workers included. fake-gcs-server ignores
// matchGlob (it publishes every object), so the filtering itself, which is the service's,
// is not what this test can show; it shows the producer asks for it.
func TestBackfillGlobOnTheWire(t *testing.T) {
	e := startEngines(t, objectsNamed("bk", "a.csv", "b.json", "c/d.csv")...)
	proxy, err := faultproxy.Start(e.gcs.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	var (
		mu    sync.Mutex
		globs []string
	)
	// A rule that never acts: it only sees each list request on its way through.
	proxy.Add(faultproxy.Rule{Match: func(r *http.Request) bool {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/b/bk/o") {
			mu.Lock()
			globs = append(globs, r.URL.Query().Get("matchGlob"))
			mu.Unlock()
		}
		return false
	}})
	t.Setenv("STORAGE_EMULATOR_HOST", "http://"+proxy.Host)

	for _, workers := range []string{"1", "3"} {
		mu.Lock()
		globs = nil
		mu.Unlock()
		_, stderr, err := runProducer(t, "", "backfill", "--bucket", "bk", "--progress", "0",
			"--glob", "**/*.csv", "--list-workers", workers, "--page-size", "1")
		if err != nil {
			t.Fatalf("--list-workers %s --glob: %v\n%s", workers, err, stderr)
		}
		mu.Lock()
		// One page per object; three workers split the range and list more.
		if want := map[string]int{"1": 3, "3": 4}[workers]; len(globs) < want {
			t.Errorf("--list-workers %s: %d list requests, want at least %d", workers, len(globs), want)
		}
		for i, g := range globs {
			if g != "**/*.csv" {
				t.Errorf("--list-workers %s: list request %d has matchGlob %q, want %q", workers, i, g, "**/*.csv")
			}
		}
		mu.Unlock()
	}
}
