package validate

import (
	"encoding/json"
	"fmt"
	"os"

	"sigs.k8s.io/yaml"
)

// Skaffold is the part of skaffold.yaml's schema (skaffold/v4beta14) that Sluice uses. It is
// decoded strictly, so a field Sluice writes must be declared here.
type Skaffold struct {
	APIVersion  string            `json:"apiVersion"`
	Kind        string            `json:"kind"`
	Metadata    SkaffoldMetadata  `json:"metadata"`
	Build       *SkaffoldBuild    `json:"build,omitempty"`
	Manifests   *SkaffoldManifest `json:"manifests,omitempty"`
	Deploy      json.RawMessage   `json:"deploy,omitempty"`
	PortForward []PortForward     `json:"portForward,omitempty"`
	Profiles    []SkaffoldProfile `json:"profiles,omitempty"`
}

// SkaffoldMetadata names the config.
type SkaffoldMetadata struct {
	Name string `json:"name"`
}

// SkaffoldBuild lists the images to build.
type SkaffoldBuild struct {
	Artifacts []Artifact      `json:"artifacts,omitempty"`
	TagPolicy json.RawMessage `json:"tagPolicy,omitempty"`
	Local     *LocalBuild     `json:"local,omitempty"`
}

// LocalBuild configures building on the developer's machine.
type LocalBuild struct {
	Push *bool `json:"push,omitempty"`
}

// Artifact is one image, built here always with ko.
type Artifact struct {
	Image string    `json:"image"`
	Ko    *KoConfig `json:"ko,omitempty"`
}

// KoConfig is the ko builder's settings.
type KoConfig struct {
	Main      string `json:"main,omitempty"`
	FromImage string `json:"fromImage,omitempty"`
}

// SkaffoldManifest says how manifests are rendered.
type SkaffoldManifest struct {
	Kustomize *KustomizeManifests `json:"kustomize,omitempty"`
}

// KustomizeManifests lists kustomization directories, relative to skaffold.yaml.
type KustomizeManifests struct {
	Paths []string `json:"paths"`
}

// PortForward forwards a port of a deployed resource to localhost.
type PortForward struct {
	ResourceType string `json:"resourceType"`
	ResourceName string `json:"resourceName"`
	Namespace    string `json:"namespace,omitempty"`
	Port         int    `json:"port"`
	LocalPort    int    `json:"localPort,omitempty"`
}

// SkaffoldProfile overrides build and manifests when selected with -p or activated.
type SkaffoldProfile struct {
	Name       string            `json:"name"`
	Activation []Activation      `json:"activation,omitempty"`
	Build      *SkaffoldBuild    `json:"build,omitempty"`
	Manifests  *SkaffoldManifest `json:"manifests,omitempty"`
}

// Activation selects a profile automatically, here by kube context.
type Activation struct {
	KubeContext string `json:"kubeContext,omitempty"`
}

// LoadSkaffold reads and strictly decodes a skaffold.yaml.
func LoadSkaffold(path string) (*Skaffold, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s Skaffold
	if err := yaml.UnmarshalStrict(b, &s); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return &s, nil
}

// Effective returns the artifacts and kustomize paths that running with profile name would
// use; "" means no profile. A profile's build or manifests replaces the top level's whole.
func (s *Skaffold) Effective(profile string) ([]Artifact, []string, error) {
	build, manifests := s.Build, s.Manifests
	if profile != "" {
		p := s.profile(profile)
		if p == nil {
			return nil, nil, fmt.Errorf("no profile %q", profile)
		}
		if p.Build != nil && p.Build.Artifacts != nil {
			build = p.Build
		}
		if p.Manifests != nil {
			manifests = p.Manifests
		}
	}
	var artifacts []Artifact
	if build != nil {
		artifacts = build.Artifacts
	}
	var paths []string
	if manifests != nil && manifests.Kustomize != nil {
		paths = manifests.Kustomize.Paths
	}
	return artifacts, paths, nil
}

func (s *Skaffold) profile(name string) *SkaffoldProfile {
	for i := range s.Profiles {
		if s.Profiles[i].Name == name {
			return &s.Profiles[i]
		}
	}
	return nil
}
