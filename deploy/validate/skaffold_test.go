package validate

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// distrolessNonroot is the base of every image, from ko and from deploy/docker alike.
const distrolessNonroot = "gcr.io/distroless/static-debian12:nonroot"

func loadSkaffold(t *testing.T) *Skaffold {
	t.Helper()
	s, err := LoadSkaffold(filepath.Join(repoRoot, "skaffold.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSkaffoldConfig(t *testing.T) {
	s := loadSkaffold(t)
	if s.APIVersion != "skaffold/v4beta14" || s.Kind != "Config" {
		t.Errorf("apiVersion, kind = %s, %s, want skaffold/v4beta14, Config", s.APIVersion, s.Kind)
	}

	tests := []struct {
		profile   string
		wantMains map[string]string
		wantPaths []string
	}{
		{"", map[string]string{"worker": "./worker", "producer": "./producer"}, []string{"deploy/k8s/overlays/gke"}},
		{
			"local",
			map[string]string{"worker": "./worker", "producer": "./producer", "sluice-local": "./deploy/local"},
			[]string{"deploy/k8s/overlays/local"},
		},
		{"gke", map[string]string{"worker": "./worker", "producer": "./producer"}, []string{"deploy/k8s/overlays/gke"}},
		{"keda", map[string]string{"worker": "./worker", "producer": "./producer"}, []string{"deploy/k8s/overlays/keda"}},
		{"backfill", map[string]string{"producer": "./producer"}, []string{"deploy/k8s/backfill"}},
		{"backfill-sharded", map[string]string{"producer": "./producer"}, []string{"deploy/k8s/backfill/shards"}},
	}
	for _, tt := range tests {
		t.Run("profile="+tt.profile, func(t *testing.T) {
			artifacts, paths, err := s.Effective(tt.profile)
			if err != nil {
				t.Fatal(err)
			}
			mains := make(map[string]string)
			for _, a := range artifacts {
				if a.Ko == nil {
					t.Errorf("artifact %s is not built with ko", a.Image)
					continue
				}
				mains[a.Image] = a.Ko.Main
				if a.Ko.FromImage != distrolessNonroot {
					t.Errorf("artifact %s fromImage %q, want %q", a.Image, a.Ko.FromImage, distrolessNonroot)
				}
			}
			if diff := cmp.Diff(tt.wantMains, mains); diff != "" {
				t.Errorf("ko mains mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantPaths, paths); diff != "" {
				t.Errorf("kustomize paths mismatch (-want +got):\n%s", diff)
			}
			for _, p := range paths {
				if _, err := os.Stat(filepath.Join(repoRoot, p, "kustomization.yaml")); err != nil {
					t.Errorf("kustomize path %s: %v", p, err)
				}
			}
		})
	}
}

// TestSkaffoldBuildsEveryImage renders what each profile deploys and requires every container
// image to be an artifact that profile builds; an image left unbuilt would be pulled by its
// bare name and never start.
func TestSkaffoldBuildsEveryImage(t *testing.T) {
	s := loadSkaffold(t)
	profiles := []string{""}
	for _, p := range s.Profiles {
		profiles = append(profiles, p.Name)
	}
	for _, profile := range profiles {
		t.Run("profile="+profile, func(t *testing.T) {
			artifacts, paths, err := s.Effective(profile)
			if err != nil {
				t.Fatal(err)
			}
			var built []string
			for _, a := range artifacts {
				built = append(built, a.Image)
			}
			for _, p := range paths {
				for name, tmpl := range decoded(t, p).PodSpecs() {
					for _, c := range slices.Concat(tmpl.Spec.InitContainers, tmpl.Spec.Containers) {
						if !slices.Contains(built, c.Image) {
							t.Errorf("%s in %s uses image %q, which profile %q does not build (builds %v)",
								name, p, c.Image, profile, built)
						}
					}
				}
			}
		})
	}
}

func TestSkaffoldPortForward(t *testing.T) {
	s := loadSkaffold(t)
	c := contract(t)
	port := containerPort(*workerContainerOf(t, decoded(t, "deploy/k8s/overlays/gke")), httpPortName)
	if port == nil {
		t.Fatalf("worker has no port named %s", httpPortName)
	}
	want := []PortForward{{
		ResourceType: "deployment",
		ResourceName: WorkerName,
		Namespace:    c.Namespace,
		Port:         int(port.ContainerPort),
		LocalPort:    8080,
	}}
	if diff := cmp.Diff(want, s.PortForward); diff != "" {
		t.Errorf("portForward mismatch (-want +got):\n%s", diff)
	}
}

func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "docker", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	tests := []struct {
		name, want string
	}{
		{"selects the binary", "ARG BINARY=worker"},
		{"builds the selected directory", `"./${BINARY}"`},
		{"static build", "CGO_ENABLED=0 go build -trimpath"},
		{"distroless nonroot final stage", "FROM " + distrolessNonroot},
		{"runs as the manifests' user", "USER 65532:65532"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(df, tt.want) {
				t.Errorf("Dockerfile lacks %q", tt.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(repoRoot, ".dockerignore")); err != nil {
		t.Errorf(".dockerignore: %v", err)
	}
}
