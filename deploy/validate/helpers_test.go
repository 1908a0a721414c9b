package validate

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
)

// repoRoot is the Sluice repository, two levels above this module.
var repoRoot = func() string {
	abs, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		panic(err)
	}
	return abs
}()

var (
	renderMu    sync.Mutex
	renderCache = make(map[string][]byte)
)

// render returns the rendered YAML of a kustomization directory relative to the repository
// root, rendering each directory once per test binary.
func render(t *testing.T, dir string) []byte {
	t.Helper()
	renderMu.Lock()
	defer renderMu.Unlock()
	if b, ok := renderCache[dir]; ok {
		return b
	}
	b, err := Render(filepath.Join(repoRoot, dir))
	if errors.Is(err, ErrNoKubectl) {
		t.Skip("kubectl is not on PATH: install kubectl (it has kustomize built in) to render the overlays")
	}
	if err != nil {
		t.Fatal(err)
	}
	renderCache[dir] = b
	return b
}

// decoded renders dir and decodes it into a fresh Set, which the caller may change.
func decoded(t *testing.T, dir string) *Set {
	t.Helper()
	s, err := Decode(render(t, dir))
	if err != nil {
		t.Fatalf("Decode(%s): %v", dir, err)
	}
	return s
}

func loadTerraform(t *testing.T) *Terraform {
	t.Helper()
	tf, err := LoadTerraform(filepath.Join(repoRoot, "deploy", "terraform"))
	if err != nil {
		t.Fatal(err)
	}
	return tf
}

func contract(t *testing.T) Contract {
	t.Helper()
	c, err := ContractFromTerraform(loadTerraform(t))
	if err != nil {
		t.Fatal(err)
	}
	return c
}
