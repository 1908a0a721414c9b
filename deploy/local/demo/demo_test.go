package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestDemoEndToEnd builds the real worker and producer binaries and runs the whole demo
// on a generated corpus: the local stack, two worker processes, finalize notifications,
// a producer backfill, and verification of every record. Names carry the characters that
// URL handling tends to mangle.
func TestDemoEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+string(os.PathSeparator), "../../../worker", "../../../producer")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build binaries: %v\n%s", err, out)
	}

	corpus := t.TempDir()
	names := []string{
		"with space.txt", "hash#frag.txt", "what?q=1", "literal%2Fslash", "plus+sign",
		"ünïcødé/日本語.txt", "deep/a/b/c/d.txt", "empty", "big.bin",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 120 {
		names = append(names, fmt.Sprintf("gen/%03d.dat", i))
	}
	for _, n := range names {
		size := rng.IntN(20 << 10)
		switch n {
		case "empty":
			size = 0
		case "big.bin":
			size = 3 << 20
		}
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(rng.UintN(256))
		}
		p := filepath.Join(corpus, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	err := run(ctx, []string{"-dir=" + corpus, "-bin=" + bin, "-workers=2", "-backfill-every=4", "-timeout=3m"})
	if err != nil {
		t.Fatalf("demo: %v", err)
	}
}
