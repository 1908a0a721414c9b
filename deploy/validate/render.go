package validate

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
)

// ErrNoKubectl is returned by Render when kubectl is not on PATH.
var ErrNoKubectl = errors.New("kubectl not found on PATH")

// Render runs `kubectl kustomize dir` and returns the rendered multi-document YAML. It blocks
// until kubectl exits.
func Render(dir string) ([]byte, error) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		return nil, ErrNoKubectl
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(kubectl, "kustomize", dir)
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("kubectl kustomize %s: %w: %s", dir, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.Bytes(), nil
}
