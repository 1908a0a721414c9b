package validate

import (
	"fmt"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
)

const (
	// BacklogMetric is the Pub/Sub backlog as the Custom Metrics Stackdriver Adapter names it
	// for External metrics: the Cloud Monitoring type with "/" replaced by "|".
	BacklogMetric = "pubsub.googleapis.com|subscription|num_undelivered_messages"
	// backlogSelectorLabel selects one subscription's series of BacklogMetric.
	backlogSelectorLabel = "resource.labels.subscription_id"
	// backlogPromQLMetric is the same metric in Cloud Monitoring's PromQL naming.
	backlogPromQLMetric = "pubsub_googleapis_com:subscription_num_undelivered_messages"

	// minScaleDownWindow is the shortest scale-down stabilization worth having: the backlog
	// metric is sampled once a minute, so a shorter window reacts to a single sample.
	minScaleDownWindow = 60
)

// CheckHPA reports broken invariants of the worker's HorizontalPodAutoscaler: it scales the
// worker Deployment on the backlog of Terraform's subscription, per pod, with CPU beside it.
func CheckHPA(s *Set, c Contract) error {
	if len(s.HPAs) != 1 {
		return fmt.Errorf("%d HorizontalPodAutoscalers, want 1", len(s.HPAs))
	}
	h := s.HPAs[0]
	var p problems
	if ref := h.Spec.ScaleTargetRef; ref.Kind != "Deployment" || ref.Name != WorkerName {
		p.addf("HPA targets %s %s, want Deployment %s", ref.Kind, ref.Name, WorkerName)
	}
	if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 1 {
		p.addf("minReplicas unset or below 1")
	} else if h.Spec.MaxReplicas < *h.Spec.MinReplicas {
		p.addf("maxReplicas %d below minReplicas %d", h.Spec.MaxReplicas, *h.Spec.MinReplicas)
	}

	var backlog, cpu bool
	for _, m := range h.Spec.Metrics {
		switch {
		case m.Type == autoscalingv2.ExternalMetricSourceType && m.External != nil:
			backlog = true
			checkBacklogMetric(&p, *m.External, c)
		case m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil &&
			m.Resource.Name == corev1.ResourceCPU:
			cpu = m.Resource.Target.Type == autoscalingv2.UtilizationMetricType &&
				m.Resource.Target.AverageUtilization != nil
		}
	}
	if !backlog {
		p.addf("no External backlog metric")
	}
	if !cpu {
		p.addf("no cpu Utilization metric")
	}

	b := h.Spec.Behavior
	if b == nil || b.ScaleDown == nil || b.ScaleDown.StabilizationWindowSeconds == nil ||
		*b.ScaleDown.StabilizationWindowSeconds < minScaleDownWindow {
		p.addf("scaleDown stabilizationWindowSeconds unset or below %d", minScaleDownWindow)
	}
	return p.err()
}

func checkBacklogMetric(p *problems, m autoscalingv2.ExternalMetricSource, c Contract) {
	if m.Metric.Name != BacklogMetric {
		p.addf("External metric %q, want %q", m.Metric.Name, BacklogMetric)
	}
	var sub string
	if m.Metric.Selector != nil {
		sub = m.Metric.Selector.MatchLabels[backlogSelectorLabel]
	}
	if sub != c.Subscription {
		p.addf("External metric selects %s=%q, want Terraform's subscription %q",
			backlogSelectorLabel, sub, c.Subscription)
	}
	// AverageValue divides the backlog by the pod count; Value would compare the whole
	// backlog with the target and scale to the maximum as soon as it was exceeded.
	if m.Target.Type != autoscalingv2.AverageValueMetricType || m.Target.AverageValue == nil ||
		m.Target.AverageValue.Sign() <= 0 {
		p.addf("backlog target is not a positive AverageValue")
	}
}

// CheckScaledObject reports broken invariants of the KEDA variant: no HPA of ours beside
// KEDA's, a prometheus trigger on Terraform's subscription at the project's PromQL endpoint,
// authenticated by the operator's GCP pod identity.
func CheckScaledObject(s *Set, c Contract) error {
	var p problems
	if len(s.HPAs) != 0 {
		p.addf("%d HorizontalPodAutoscalers beside the ScaledObject, want 0", len(s.HPAs))
	}
	if len(s.ScaledObjects) != 1 {
		p.addf("%d ScaledObjects, want 1", len(s.ScaledObjects))
		return p.err()
	}
	so := s.ScaledObjects[0]
	if ref := so.Spec.ScaleTargetRef; ref.Name != WorkerName ||
		(ref.Kind != "" && ref.Kind != "Deployment") {
		p.addf("ScaledObject targets %s %s, want Deployment %s", ref.Kind, ref.Name, WorkerName)
	}
	if so.Spec.MinReplicaCount == nil || *so.Spec.MinReplicaCount < 1 {
		p.addf("minReplicaCount unset or below 1")
	}

	var project string
	if cm := workerConfigMap(s); cm != nil {
		project = cm.Data["SLUICE_PROJECT"]
	}
	found := false
	for _, tr := range so.Spec.Triggers {
		if tr.Type != "prometheus" {
			continue
		}
		found = true
		want := "https://monitoring.googleapis.com/v1/projects/" + project +
			"/location/global/prometheus"
		if got := tr.Metadata["serverAddress"]; got != want {
			p.addf("serverAddress %q, want %q", got, want)
		}
		q := tr.Metadata["query"]
		if !strings.Contains(q, backlogPromQLMetric) {
			p.addf("query %q does not read %s", q, backlogPromQLMetric)
		}
		if sel := fmt.Sprintf("subscription_id=%q", c.Subscription); !strings.Contains(q, sel) {
			p.addf("query %q does not select %s", q, sel)
		}
		if tr.Metadata["threshold"] == "" {
			p.addf("prometheus trigger has no threshold")
		}
		if tr.AuthenticationRef == nil || !hasGCPIdentity(s, tr.AuthenticationRef.Name) {
			p.addf("prometheus trigger does not authenticate with a gcp podIdentity " +
				"TriggerAuthentication in the overlay")
		}
	}
	if !found {
		p.addf("no prometheus trigger")
	}
	return p.err()
}

func hasGCPIdentity(s *Set, name string) bool {
	for _, ta := range s.TriggerAuthentications {
		if ta.Name == name && ta.Spec.PodIdentity != nil && ta.Spec.PodIdentity.Provider == "gcp" {
			return true
		}
	}
	return false
}

// workerConfigMap returns the ConfigMap the worker takes its settings from, or nil.
func workerConfigMap(s *Set) *corev1.ConfigMap {
	d := s.Deployment(WorkerName)
	if d == nil {
		return nil
	}
	ctr := container(d.Spec.Template.Spec, workerContainer)
	if ctr == nil {
		return nil
	}
	for _, from := range ctr.EnvFrom {
		if from.ConfigMapRef != nil {
			return s.ConfigMap(from.ConfigMapRef.Name)
		}
	}
	return nil
}

// CheckMonitoring reports a missing or mismatched PodDisruptionBudget and PodMonitoring: both
// must select the worker's pods, and the scrape must hit /metrics on the port named http.
func CheckMonitoring(s *Set) error {
	d := s.Deployment(WorkerName)
	if d == nil {
		return fmt.Errorf("no Deployment %s", WorkerName)
	}
	podLabels := d.Spec.Template.Labels
	var p problems

	if len(s.PDBs) != 1 {
		p.addf("%d PodDisruptionBudgets, want 1", len(s.PDBs))
	} else {
		pdb := s.PDBs[0]
		if !selects(pdb.Spec.Selector, podLabels) {
			p.addf("PodDisruptionBudget does not select the worker's pods")
		}
		if mu := pdb.Spec.MaxUnavailable; mu == nil || mu.String() != "1" {
			p.addf("PodDisruptionBudget maxUnavailable is not 1")
		}
	}

	if len(s.PodMonitorings) != 1 {
		p.addf("%d PodMonitorings, want 1", len(s.PodMonitorings))
		return p.err()
	}
	pm := s.PodMonitorings[0]
	if !selects(&pm.Spec.Selector, podLabels) {
		p.addf("PodMonitoring does not select the worker's pods")
	}
	if len(pm.Spec.Endpoints) != 1 {
		p.addf("PodMonitoring has %d endpoints, want 1", len(pm.Spec.Endpoints))
		return p.err()
	}
	ep := pm.Spec.Endpoints[0]
	if ep.Port.String() != httpPortName || ep.Path != "/metrics" {
		p.addf("PodMonitoring scrapes port %s path %q, want %s /metrics",
			ep.Port.String(), ep.Path, httpPortName)
	}
	return p.err()
}
