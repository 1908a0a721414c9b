package validate

import (
	"bytes"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// Set holds every object of a rendered overlay, by kind.
type Set struct {
	Namespaces             []corev1.Namespace
	ServiceAccounts        []corev1.ServiceAccount
	ConfigMaps             []corev1.ConfigMap
	Services               []corev1.Service
	Deployments            []appsv1.Deployment
	Jobs                   []batchv1.Job
	HPAs                   []autoscalingv2.HorizontalPodAutoscaler
	PDBs                   []policyv1.PodDisruptionBudget
	PodMonitorings         []PodMonitoring
	ScaledObjects          []ScaledObject
	TriggerAuthentications []TriggerAuthentication
}

type kindKey struct{ apiVersion, kind string }

// decoders lists every kind an overlay may contain. A kind missing here fails Decode, so a new
// kind of object gets a typed, strict decoder before it can ship.
var decoders = map[kindKey]func(doc []byte, s *Set) error{
	{"v1", "Namespace"}:      func(d []byte, s *Set) error { return decodeInto(d, &s.Namespaces) },
	{"v1", "ServiceAccount"}: func(d []byte, s *Set) error { return decodeInto(d, &s.ServiceAccounts) },
	{"v1", "ConfigMap"}:      func(d []byte, s *Set) error { return decodeInto(d, &s.ConfigMaps) },
	{"v1", "Service"}:        func(d []byte, s *Set) error { return decodeInto(d, &s.Services) },
	{"apps/v1", "Deployment"}: func(d []byte, s *Set) error {
		return decodeInto(d, &s.Deployments)
	},
	{"batch/v1", "Job"}: func(d []byte, s *Set) error { return decodeInto(d, &s.Jobs) },
	{"autoscaling/v2", "HorizontalPodAutoscaler"}: func(d []byte, s *Set) error {
		return decodeInto(d, &s.HPAs)
	},
	{"policy/v1", "PodDisruptionBudget"}: func(d []byte, s *Set) error {
		return decodeInto(d, &s.PDBs)
	},
	{"monitoring.googleapis.com/v1", "PodMonitoring"}: func(d []byte, s *Set) error {
		return decodeInto(d, &s.PodMonitorings)
	},
	{"keda.sh/v1alpha1", "ScaledObject"}: func(d []byte, s *Set) error {
		return decodeInto(d, &s.ScaledObjects)
	},
	{"keda.sh/v1alpha1", "TriggerAuthentication"}: func(d []byte, s *Set) error {
		return decodeInto(d, &s.TriggerAuthentications)
	},
}

// Decode splits rendered YAML into documents and decodes each strictly into its type: an
// unknown field, a duplicate field or an unknown kind is an error.
func Decode(rendered []byte) (*Set, error) {
	s := &Set{}
	for i, doc := range splitDocuments(rendered) {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		decode, ok := decoders[kindKey{tm.APIVersion, tm.Kind}]
		if !ok {
			return nil, fmt.Errorf("document %d: no decoder for %s %s", i, tm.APIVersion, tm.Kind)
		}
		if err := decode(doc, s); err != nil {
			return nil, fmt.Errorf("document %d (%s): %w", i, tm.Kind, err)
		}
	}
	return s, nil
}

func decodeInto[T any](doc []byte, list *[]T) error {
	var v T
	if err := yaml.UnmarshalStrict(doc, &v); err != nil {
		return err
	}
	*list = append(*list, v)
	return nil
}

// splitDocuments splits on the "---" separator lines that kustomize writes between objects.
func splitDocuments(b []byte) [][]byte {
	var docs [][]byte
	for _, part := range strings.Split("\n"+string(b), "\n---\n") {
		if len(bytes.TrimSpace([]byte(part))) > 0 {
			docs = append(docs, []byte(part))
		}
	}
	return docs
}

// Deployment returns the named Deployment, or nil.
func (s *Set) Deployment(name string) *appsv1.Deployment {
	for i := range s.Deployments {
		if s.Deployments[i].Name == name {
			return &s.Deployments[i]
		}
	}
	return nil
}

// ConfigMap returns the named ConfigMap, or nil.
func (s *Set) ConfigMap(name string) *corev1.ConfigMap {
	for i := range s.ConfigMaps {
		if s.ConfigMaps[i].Name == name {
			return &s.ConfigMaps[i]
		}
	}
	return nil
}

// Service returns the named Service, or nil.
func (s *Set) Service(name string) *corev1.Service {
	for i := range s.Services {
		if s.Services[i].Name == name {
			return &s.Services[i]
		}
	}
	return nil
}

// HasServiceAccount reports whether the named ServiceAccount is in the set.
func (s *Set) HasServiceAccount(name string) bool {
	for _, sa := range s.ServiceAccounts {
		if sa.Name == name {
			return true
		}
	}
	return false
}

// NamespacedObjects returns the metadata of every object but the Namespaces themselves.
func (s *Set) NamespacedObjects() []metav1.ObjectMeta {
	var out []metav1.ObjectMeta
	add := func(m metav1.ObjectMeta) { out = append(out, m) }
	for _, o := range s.ServiceAccounts {
		add(o.ObjectMeta)
	}
	for _, o := range s.ConfigMaps {
		add(o.ObjectMeta)
	}
	for _, o := range s.Services {
		add(o.ObjectMeta)
	}
	for _, o := range s.Deployments {
		add(o.ObjectMeta)
	}
	for _, o := range s.Jobs {
		add(o.ObjectMeta)
	}
	for _, o := range s.HPAs {
		add(o.ObjectMeta)
	}
	for _, o := range s.PDBs {
		add(o.ObjectMeta)
	}
	for _, o := range s.PodMonitorings {
		add(o.ObjectMeta)
	}
	for _, o := range s.ScaledObjects {
		add(o.ObjectMeta)
	}
	for _, o := range s.TriggerAuthentications {
		add(o.ObjectMeta)
	}
	return out
}

// PodSpecs returns every pod template in the set, keyed "Kind/name".
func (s *Set) PodSpecs() map[string]corev1.PodTemplateSpec {
	out := make(map[string]corev1.PodTemplateSpec)
	for _, d := range s.Deployments {
		out["Deployment/"+d.Name] = d.Spec.Template
	}
	for _, j := range s.Jobs {
		out["Job/"+j.Name] = j.Spec.Template
	}
	return out
}
