package validate

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestChecksCatchBrokenManifests breaks one invariant of a rendered overlay at a time and
// requires the matching check to fail with a message naming it. It proves the checks in
// TestOverlays can fail at all.
func TestChecksCatchBrokenManifests(t *testing.T) {
	tests := []struct {
		name    string
		dir     string
		check   check
		break_  func(t *testing.T, s *Set)
		wantErr string
	}{
		{
			name:  "grace period below drain timeout",
			dir:   "deploy/k8s/overlays/gke",
			check: worker,
			break_: func(t *testing.T, s *Set) {
				grace := int64(20)
				workerPod(t, s).TerminationGracePeriodSeconds = &grace
			},
			wantErr: "terminationGracePeriodSeconds 20s is not at least SLUICE_DRAIN_TIMEOUT 25s",
		},
		{
			name:  "watchdog fires after the kubelet's kill",
			dir:   "deploy/k8s/overlays/gke",
			check: worker,
			break_: func(t *testing.T, s *Set) {
				EnvEntry(*workerContainerOf(t, s), "SLUICE_SHUTDOWN_GRACE").Value = "20s"
			},
			wantErr: "SLUICE_SHUTDOWN_GRACE 20s reaches terminationGracePeriodSeconds 40s",
		},
		{
			name:  "GOMEMLIMIT in mebibytes",
			dir:   "deploy/k8s/overlays/gke",
			check: worker,
			break_: func(t *testing.T, s *Set) {
				e := EnvEntry(*workerContainerOf(t, s), "GOMEMLIMIT")
				e.ValueFrom.ResourceFieldRef.Divisor = resource.MustParse("1Mi")
			},
			wantErr: "GOMEMLIMIT divisor 1Mi",
		},
		{
			name:  "no memory limit",
			dir:   "deploy/k8s/overlays/gke",
			check: worker,
			break_: func(t *testing.T, s *Set) {
				delete(workerContainerOf(t, s).Resources.Limits, corev1.ResourceMemory)
			},
			wantErr: "no memory limit",
		},
		{
			name:  "probe on a port number",
			dir:   "deploy/k8s/overlays/gke",
			check: worker,
			break_: func(t *testing.T, s *Set) {
				workerContainerOf(t, s).ReadinessProbe.HTTPGet.Port = intstr.FromInt32(9090)
			},
			wantErr: "readinessProbe port 9090, want the port named http",
		},
		{
			name:  "subscription renamed in the ConfigMap only",
			dir:   "deploy/k8s/overlays/gke",
			check: worker,
			break_: func(t *testing.T, s *Set) {
				workerConfigMap(s).Data["SLUICE_SUBSCRIPTION"] = "sluice-workers"
			},
			wantErr: `SLUICE_SUBSCRIPTION "sluice-workers", want Terraform's "sluice-worker"`,
		},
		{
			name:  "flow control hoarding the backlog",
			dir:   "deploy/k8s/overlays/gke",
			check: worker,
			break_: func(t *testing.T, s *Set) {
				workerConfigMap(s).Data["SLUICE_MAX_OUTSTANDING_MESSAGES"] = "1000"
			},
			wantErr: "SLUICE_MAX_OUTSTANDING_MESSAGES \"1000\"",
		},
		{
			name:  "container may run as root",
			dir:   "deploy/k8s/overlays/gke",
			check: restricted,
			break_: func(t *testing.T, s *Set) {
				no := false
				workerContainerOf(t, s).SecurityContext.RunAsNonRoot = &no
			},
			wantErr: "container worker: runAsNonRoot is not true",
		},
		{
			name:  "HPA watches another subscription",
			dir:   "deploy/k8s/overlays/gke",
			check: hpa,
			break_: func(t *testing.T, s *Set) {
				for _, m := range s.HPAs[0].Spec.Metrics {
					if m.External != nil {
						m.External.Metric.Selector.MatchLabels[backlogSelectorLabel] = "other"
					}
				}
			},
			wantErr: `selects resource.labels.subscription_id="other"`,
		},
		{
			name:  "KEDA beside the HPA",
			dir:   "deploy/k8s/overlays/keda",
			check: scaledObject,
			break_: func(t *testing.T, s *Set) {
				s.HPAs = append(s.HPAs, decoded(t, "deploy/k8s/overlays/gke").HPAs...)
			},
			wantErr: "1 HorizontalPodAutoscalers beside the ScaledObject",
		},
		{
			name:  "emulator on a port the Service lacks",
			dir:   "deploy/k8s/overlays/local",
			check: emulators,
			break_: func(t *testing.T, s *Set) {
				EnvEntry(*workerContainerOf(t, s), "PUBSUB_EMULATOR_HOST").Value = "sluice-local:9999"
			},
			wantErr: "Service sluice-local has no port 9999",
		},
		{
			name:  "backfill publishes to another topic",
			dir:   "deploy/k8s/backfill",
			check: backfill,
			break_: func(t *testing.T, s *Set) {
				EnvEntry(s.Jobs[0].Spec.Template.Spec.Containers[0], "SLUICE_TOPIC").Value = "objects"
			},
			wantErr: `SLUICE_TOPIC "objects", want Terraform's "sluice-objects"`,
		},
		{
			name:  "shard starts after the name the previous one ends before",
			dir:   "deploy/k8s/backfill/shards",
			check: shards,
			break_: func(t *testing.T, s *Set) {
				setArg(s, "--start-after=7fff.bin", "--start-after=8000.bin")
			},
			wantErr: `gap: shard sluice-backfill-1 ends before "8000.bin" but shard sluice-backfill-2 starts after "8000.bin"`,
		},
		{
			name:  "shard bounds outside the prefix",
			dir:   "deploy/k8s/backfill/shards",
			check: shards,
			break_: func(t *testing.T, s *Set) {
				for i := range s.ConfigMaps {
					s.ConfigMaps[i].Data["BACKFILL_PREFIX"] = "incoming/"
				}
			},
			wantErr: `bound "3fff.bin" is outside prefix "incoming/"`,
		},
	}
	c := contract(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := decoded(t, tt.dir)
			if err := tt.check.fn(s, c); err != nil {
				t.Fatalf("%s before breaking: %v", tt.check.name, err)
			}
			tt.break_(t, s)
			err := tt.check.fn(s, c)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s = %v, want an error containing %q", tt.check.name, err, tt.wantErr)
			}
		})
	}
}

func workerPod(t *testing.T, s *Set) *corev1.PodSpec {
	t.Helper()
	d := s.Deployment(WorkerName)
	if d == nil {
		t.Fatalf("no Deployment %s", WorkerName)
	}
	return &d.Spec.Template.Spec
}

func workerContainerOf(t *testing.T, s *Set) *corev1.Container {
	t.Helper()
	c := container(*workerPod(t, s), workerContainer)
	if c == nil {
		t.Fatalf("no container %s", workerContainer)
	}
	return c
}

// setArg replaces an exact argument in every Job's container.
func setArg(s *Set, from, to string) {
	for i := range s.Jobs {
		args := s.Jobs[i].Spec.Template.Spec.Containers[0].Args
		for j := range args {
			if args[j] == from {
				args[j] = to
			}
		}
	}
}
