package validate

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The custom resources below carry only the fields Sluice's manifests use. Decoding is strict,
// so a field written in a manifest but missing here fails the decode: add it here, after
// checking the CRD's own schema, rather than loosening the decoder.

// PodMonitoring is Managed Service for Prometheus's scrape config
// (monitoring.googleapis.com/v1).
type PodMonitoring struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              PodMonitoringSpec `json:"spec"`
}

// PodMonitoringSpec selects pods and says how to scrape them.
type PodMonitoringSpec struct {
	Selector  metav1.LabelSelector `json:"selector"`
	Endpoints []ScrapeEndpoint     `json:"endpoints"`
}

// ScrapeEndpoint is one scraped port of a PodMonitoring.
type ScrapeEndpoint struct {
	Port     intstr.IntOrString `json:"port"`
	Path     string             `json:"path,omitempty"`
	Interval string             `json:"interval,omitempty"`
}

// ScaledObject is KEDA's autoscaling config (keda.sh/v1alpha1).
type ScaledObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ScaledObjectSpec `json:"spec"`
}

// ScaledObjectSpec names the workload to scale, its bounds and its triggers.
type ScaledObjectSpec struct {
	ScaleTargetRef  ScaleTarget    `json:"scaleTargetRef"`
	MinReplicaCount *int32         `json:"minReplicaCount,omitempty"`
	MaxReplicaCount *int32         `json:"maxReplicaCount,omitempty"`
	PollingInterval *int32         `json:"pollingInterval,omitempty"`
	CooldownPeriod  *int32         `json:"cooldownPeriod,omitempty"`
	Advanced        *ScaleAdvanced `json:"advanced,omitempty"`
	Triggers        []ScaleTrigger `json:"triggers"`
}

// ScaleTarget is the workload a ScaledObject scales; Kind defaults to Deployment.
type ScaleTarget struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
	Name       string `json:"name"`
}

// ScaleAdvanced passes settings through to the HPA that KEDA creates.
type ScaleAdvanced struct {
	HorizontalPodAutoscalerConfig *HPAConfig `json:"horizontalPodAutoscalerConfig,omitempty"`
}

// HPAConfig is the part of the generated HPA a ScaledObject may set.
type HPAConfig struct {
	Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`
}

// ScaleTrigger is one KEDA scaler. Metadata is scaler-specific and always string-valued.
type ScaleTrigger struct {
	Type              string            `json:"type"`
	MetricType        string            `json:"metricType,omitempty"`
	Metadata          map[string]string `json:"metadata"`
	AuthenticationRef *AuthRef          `json:"authenticationRef,omitempty"`
}

// AuthRef names a TriggerAuthentication in the trigger's namespace.
type AuthRef struct {
	Name string `json:"name"`
	Kind string `json:"kind,omitempty"`
}

// TriggerAuthentication is how a KEDA scaler authenticates (keda.sh/v1alpha1).
type TriggerAuthentication struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              TriggerAuthenticationSpec `json:"spec"`
}

// TriggerAuthenticationSpec holds the one mode Sluice uses: the operator's pod identity.
type TriggerAuthenticationSpec struct {
	PodIdentity *PodIdentity `json:"podIdentity,omitempty"`
}

// PodIdentity selects an identity provider such as "gcp" (Workload Identity).
type PodIdentity struct {
	Provider string `json:"provider"`
}
