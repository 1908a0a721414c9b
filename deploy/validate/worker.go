package validate

import (
	"fmt"
	"net"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

const (
	// WorkerName names the worker's Deployment, and its ConfigMap before kustomize adds the
	// hash suffix.
	WorkerName = "sluice-worker"
	// workerContainer is the worker's container within the pod.
	workerContainer = "worker"
	// httpPortName is the container port that serves /metrics, /healthz and /readyz.
	httpPortName = "http"

	// minDrainSlack is how much longer than the drain the grace period must be. After the
	// drain the worker still nacks what is left and flushes telemetry; a kubelet SIGKILL in
	// that window leaves leased messages to wait out their ack deadline.
	minDrainSlack = 5 * time.Second

	// defaultShutdownGrace is the worker's SLUICE_SHUTDOWN_GRACE default.
	defaultShutdownGrace = 15 * time.Second

	// maxOutstandingPerPod bounds flow control. A pod leases up to this many messages; much
	// more than its processing concurrency and it hoards the backlog, so pods the autoscaler
	// adds find nothing to pull.
	maxOutstandingPerPod = 64
)

// workerSettings are the keys the worker's ConfigMap must set, each non-empty.
var workerSettings = []string{
	"SLUICE_PROJECT",
	"SLUICE_SUBSCRIPTION",
	"SLUICE_PROCESSOR",
	"SLUICE_OUTPUT_BUCKET",
	"SLUICE_OUTPUT_PREFIX",
	"SLUICE_MAX_OUTSTANDING_MESSAGES",
	"SLUICE_STREAMS",
	"SLUICE_OBJECT_TIMEOUT",
	"SLUICE_HTTP_ADDR",
	"SLUICE_LOG_LEVEL",
	"SLUICE_DEAD_LETTER_TOPIC",
}

// CheckWorker reports broken invariants of the worker Deployment and its settings: the drain
// fits in the grace period, GOMEMLIMIT follows the memory limit, the probes and the HTTP
// address use the port named http, and the names agree with Terraform.
func CheckWorker(s *Set, c Contract) error {
	d := s.Deployment(WorkerName)
	if d == nil {
		return fmt.Errorf("no Deployment %s", WorkerName)
	}
	pod := d.Spec.Template.Spec
	ctr := container(pod, workerContainer)
	if ctr == nil {
		return fmt.Errorf("Deployment %s: no container %s", WorkerName, workerContainer)
	}

	var p problems
	env := ResolveEnv(s, *ctr)
	checkDrain(&p, pod, env)
	checkMemory(&p, *ctr)
	checkHTTP(&p, *ctr, env)
	checkSettings(&p, s, *ctr, env, c)

	if pod.ServiceAccountName != c.WorkerServiceAccount {
		p.addf("serviceAccountName %q, want %q", pod.ServiceAccountName, c.WorkerServiceAccount)
	}
	if !s.HasServiceAccount(pod.ServiceAccountName) {
		p.addf("ServiceAccount %q is not in the overlay", pod.ServiceAccountName)
	}
	if e := EnvEntry(*ctr, "SLUICE_WORKER_ID"); e == nil || e.ValueFrom == nil ||
		e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "metadata.name" {
		p.addf("SLUICE_WORKER_ID is not the pod name (fieldRef metadata.name)")
	}
	if !spreadsAcrossZones(pod, d.Spec.Template.Labels) {
		p.addf("no ScheduleAnyway topologySpreadConstraint on topology.kubernetes.io/zone " +
			"selecting the worker's pods")
	}
	return p.err()
}

func checkDrain(p *problems, pod corev1.PodSpec, env map[string]string) {
	drain, err := time.ParseDuration(env["SLUICE_DRAIN_TIMEOUT"])
	if err != nil {
		p.addf("SLUICE_DRAIN_TIMEOUT: %v", err)
		return
	}
	if pod.TerminationGracePeriodSeconds == nil {
		p.addf("terminationGracePeriodSeconds unset (default 30s); set it above the drain")
		return
	}
	grace := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
	if drain+minDrainSlack > grace {
		p.addf("terminationGracePeriodSeconds %v is not at least SLUICE_DRAIN_TIMEOUT %v + %v",
			grace, drain, minDrainSlack)
	}
	// The worker's own watchdog exits at drain + shutdown grace; it must fire before the
	// kubelet's SIGKILL, so the log says why the shutdown overran.
	shutdownGrace := defaultShutdownGrace
	if v, ok := env["SLUICE_SHUTDOWN_GRACE"]; ok {
		if shutdownGrace, err = time.ParseDuration(v); err != nil {
			p.addf("SLUICE_SHUTDOWN_GRACE: %v", err)
			return
		}
	}
	if drain+shutdownGrace >= grace {
		p.addf("SLUICE_DRAIN_TIMEOUT %v + SLUICE_SHUTDOWN_GRACE %v reaches terminationGracePeriodSeconds %v: "+
			"the kubelet would kill the worker before its watchdog reports", drain, shutdownGrace, grace)
	}
}

func checkMemory(p *problems, ctr corev1.Container) {
	limit, ok := ctr.Resources.Limits[corev1.ResourceMemory]
	if !ok {
		// Without a limit, resourceFieldRef limits.memory yields the node's allocatable
		// memory, and GOMEMLIMIT would never bite.
		p.addf("no memory limit")
	}
	if req, ok := ctr.Resources.Requests[corev1.ResourceMemory]; !ok {
		p.addf("no memory request")
	} else if limit.Cmp(req) < 0 {
		p.addf("memory request %s above limit %s", req.String(), limit.String())
	}
	if _, ok := ctr.Resources.Requests[corev1.ResourceCPU]; !ok {
		p.addf("no cpu request")
	}

	e := EnvEntry(ctr, "GOMEMLIMIT")
	if e == nil || e.ValueFrom == nil || e.ValueFrom.ResourceFieldRef == nil {
		p.addf("GOMEMLIMIT is not set from a resourceFieldRef")
		return
	}
	ref := e.ValueFrom.ResourceFieldRef
	if ref.Resource != "limits.memory" {
		p.addf("GOMEMLIMIT from %s, want limits.memory", ref.Resource)
	}
	if ref.ContainerName != "" && ref.ContainerName != ctr.Name {
		p.addf("GOMEMLIMIT from container %s, want %s", ref.ContainerName, ctr.Name)
	}
	// Go reads a bare integer GOMEMLIMIT as bytes; any other divisor scales the value down.
	if !ref.Divisor.IsZero() && ref.Divisor.Cmp(resource.MustParse("1")) != 0 {
		p.addf("GOMEMLIMIT divisor %s, want 1 (bytes)", ref.Divisor.String())
	}
}

func checkHTTP(p *problems, ctr corev1.Container, env map[string]string) {
	port := containerPort(ctr, httpPortName)
	if port == nil {
		p.addf("no container port named %s", httpPortName)
		return
	}
	probes := []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{
		{"readinessProbe", ctr.ReadinessProbe, "/readyz"},
		{"livenessProbe", ctr.LivenessProbe, "/healthz"},
	}
	for _, pr := range probes {
		if pr.probe == nil || pr.probe.HTTPGet == nil {
			p.addf("%s is not an httpGet probe", pr.name)
			continue
		}
		if got := pr.probe.HTTPGet.Port.String(); got != httpPortName {
			p.addf("%s port %s, want the port named %s", pr.name, got, httpPortName)
		}
		if got := pr.probe.HTTPGet.Path; got != pr.path {
			p.addf("%s path %q, want %q", pr.name, got, pr.path)
		}
	}

	_, addrPort, err := net.SplitHostPort(env["SLUICE_HTTP_ADDR"])
	if err != nil {
		p.addf("SLUICE_HTTP_ADDR: %v", err)
	} else if addrPort != strconv.Itoa(int(port.ContainerPort)) {
		p.addf("SLUICE_HTTP_ADDR port %s, but the port named %s is %d",
			addrPort, httpPortName, port.ContainerPort)
	}
}

func checkSettings(p *problems, s *Set, ctr corev1.Container, env map[string]string, c Contract) {
	fromConfigMap := false
	for _, from := range ctr.EnvFrom {
		if from.ConfigMapRef == nil {
			continue
		}
		if s.ConfigMap(from.ConfigMapRef.Name) == nil {
			p.addf("envFrom ConfigMap %q is not in the overlay", from.ConfigMapRef.Name)
		} else {
			fromConfigMap = true
		}
	}
	if !fromConfigMap {
		p.addf("settings do not come from a ConfigMap (envFrom)")
	}
	for _, key := range workerSettings {
		if env[key] == "" {
			p.addf("%s unset or empty", key)
		}
	}
	if got := env["SLUICE_SUBSCRIPTION"]; got != c.Subscription {
		p.addf("SLUICE_SUBSCRIPTION %q, want Terraform's %q", got, c.Subscription)
	}
	if got := env["SLUICE_DEAD_LETTER_TOPIC"]; got != c.DeadLetterTopic {
		p.addf("SLUICE_DEAD_LETTER_TOPIC %q, want Terraform's %q", got, c.DeadLetterTopic)
	}
	n, err := strconv.Atoi(env["SLUICE_MAX_OUTSTANDING_MESSAGES"])
	if err != nil || n < 1 || n > maxOutstandingPerPod {
		p.addf("SLUICE_MAX_OUTSTANDING_MESSAGES %q, want 1..%d",
			env["SLUICE_MAX_OUTSTANDING_MESSAGES"], maxOutstandingPerPod)
	}
}

func spreadsAcrossZones(pod corev1.PodSpec, podLabels map[string]string) bool {
	for _, tsc := range pod.TopologySpreadConstraints {
		if tsc.TopologyKey == "topology.kubernetes.io/zone" &&
			tsc.WhenUnsatisfiable == corev1.ScheduleAnyway &&
			selects(tsc.LabelSelector, podLabels) {
			return true
		}
	}
	return false
}

// selects reports whether sel is non-empty and matches the labels.
func selects(sel *metav1.LabelSelector, podLabels map[string]string) bool {
	if sel == nil || (len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0) {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	return err == nil && s.Matches(labels.Set(podLabels))
}

func container(pod corev1.PodSpec, name string) *corev1.Container {
	for i := range pod.Containers {
		if pod.Containers[i].Name == name {
			return &pod.Containers[i]
		}
	}
	return nil
}

func containerPort(ctr corev1.Container, name string) *corev1.ContainerPort {
	for i := range ctr.Ports {
		if ctr.Ports[i].Name == name {
			return &ctr.Ports[i]
		}
	}
	return nil
}
