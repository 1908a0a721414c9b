package validate

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTerraformPubSub(t *testing.T) {
	tf := loadTerraform(t)
	const sub = "google_pubsub_subscription.worker"
	tests := []struct {
		addr string
		path []string
		want string
	}{
		{"google_pubsub_topic.objects", []string{"name"}, "sluice-objects"},
		{"google_pubsub_topic.dead_letter", []string{"name"}, "sluice-dead-letter"},
		{sub, []string{"name"}, "sluice-worker"},
		{sub, []string{"ack_deadline_seconds"}, "60"},
		{sub, []string{"retry_policy", "minimum_backoff"}, "10s"},
		{sub, []string{"retry_policy", "maximum_backoff"}, "600s"},
		{sub, []string{"dead_letter_policy", "max_delivery_attempts"}, "5"},
		{sub, []string{"expiration_policy", "ttl"}, ""},
		{sub, []string{"enable_exactly_once_delivery"}, "false"},
		{"google_pubsub_subscription.dead_letter", []string{"name"}, "sluice-dead-letter"},
		{"google_pubsub_subscription.dead_letter", []string{"expiration_policy", "ttl"}, ""},
		{"google_storage_notification.input", []string{"payload_format"}, "JSON_API_V1"},
		{"google_storage_notification.input", []string{"event_types"}, "[OBJECT_FINALIZE]"},
	}
	for _, tt := range tests {
		t.Run(tt.addr+"."+strings.Join(tt.path, "."), func(t *testing.T) {
			got, err := tf.Value(tt.addr, tt.path...)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Value(%s, %v) = %q, want %q", tt.addr, tt.path, got, tt.want)
			}
		})
	}
}

func TestTerraformReferences(t *testing.T) {
	tf := loadTerraform(t)
	tests := []struct {
		addr string
		path []string
		want []string
	}{
		{"google_pubsub_subscription.worker", []string{"topic"}, []string{"google_pubsub_topic.objects"}},
		{
			"google_pubsub_subscription.worker", []string{"dead_letter_policy", "dead_letter_topic"},
			[]string{"google_pubsub_topic.dead_letter"},
		},
		{"google_pubsub_subscription.dead_letter", []string{"topic"}, []string{"google_pubsub_topic.dead_letter"}},
		{"google_storage_notification.input", []string{"topic"}, []string{"google_pubsub_topic.objects"}},
		{"google_storage_notification.input", []string{"bucket"}, []string{"google_storage_bucket.input"}},
		// The notification is refused unless Cloud Storage's agent can already publish.
		{
			"google_storage_notification.input", []string{"depends_on"},
			[]string{"google_pubsub_topic_iam_member.objects_gcs_publisher"},
		},
		{
			"google_pubsub_topic_iam_member.objects_gcs_publisher", []string{"member"},
			[]string{"data.google_storage_project_service_account.gcs"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.addr+"."+strings.Join(tt.path, "."), func(t *testing.T) {
			got, err := tf.Refs(tt.addr, tt.path...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Refs(%s, %v) mismatch (-want +got):\n%s", tt.addr, tt.path, diff)
			}
		})
	}
}

// binding is one IAM grant: a role on a resource ("project" for the project) to a member.
type binding struct {
	Target, Role, Member string
}

// iamTargetAttr is the attribute naming the resource each IAM member type grants on.
var iamTargetAttr = map[string]string{
	"google_pubsub_topic_iam_member":        "topic",
	"google_pubsub_subscription_iam_member": "subscription",
	"google_storage_bucket_iam_member":      "bucket",
	"google_project_iam_member":             "project",
}

func iamBindings(t *testing.T, tf *Terraform) []binding {
	t.Helper()
	var out []binding
	for typ, attr := range iamTargetAttr {
		for _, addr := range tf.ResourcesOfType(typ) {
			target := "project"
			if attr != "project" {
				refs, err := tf.Refs(addr, attr)
				if err != nil || len(refs) != 1 {
					t.Fatalf("Refs(%s, %s) = %v, %v, want one resource", addr, attr, refs, err)
				}
				target = refs[0]
			}
			role, err := tf.Value(addr, "role")
			if err != nil {
				t.Fatal(err)
			}
			member, err := tf.Value(addr, "member")
			if err != nil {
				// A member built from another resource's attributes is known only at apply
				// time; name the resource instead.
				refs, rerr := tf.Refs(addr, "member")
				if rerr != nil {
					t.Fatal(errors.Join(err, rerr))
				}
				member = strings.Join(refs, ",")
			}
			out = append(out, binding{target, role, member})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return fmt.Sprint(out[i]) < fmt.Sprint(out[j])
	})
	return out
}

// TestTerraformIAM checks every IAM grant at once: the workloads' principals name the
// namespace and service accounts the gke overlay really runs as, and nothing holds a role it
// does not need.
func TestTerraformIAM(t *testing.T) {
	tf := loadTerraform(t)
	s := decoded(t, "deploy/k8s/overlays/gke")
	d := s.Deployment(WorkerName)
	if d == nil {
		t.Fatalf("no Deployment %s in the gke overlay", WorkerName)
	}
	principal := func(ns, sa string) string {
		return "principal://iam.googleapis.com/projects/" + ProjectNumber +
			"/locations/global/workloadIdentityPools/PROJECT_ID.svc.id.goog/subject/ns/" +
			ns + "/sa/" + sa
	}
	workerP := principal(d.Namespace, d.Spec.Template.Spec.ServiceAccountName)
	producerP := principal(d.Namespace, decoded(t, "deploy/k8s/backfill").Jobs[0].Spec.Template.Spec.ServiceAccountName)
	pubsubAgent := "serviceAccount:service-" + ProjectNumber + "@gcp-sa-pubsub.iam.gserviceaccount.com"

	want := []binding{
		{"google_pubsub_subscription.worker", "roles/pubsub.subscriber", workerP},
		{"google_pubsub_subscription.worker", "roles/pubsub.viewer", workerP},
		{"google_pubsub_topic.dead_letter", "roles/pubsub.publisher", workerP},
		{"google_storage_bucket.input", "roles/storage.objectViewer", workerP},
		{"google_storage_bucket.output", "roles/storage.objectUser", workerP},

		{"google_pubsub_topic.objects", "roles/pubsub.publisher", producerP},
		{"google_storage_bucket.input", "roles/storage.objectViewer", producerP},

		{"google_pubsub_topic.dead_letter", "roles/pubsub.publisher", pubsubAgent},
		{"google_pubsub_subscription.worker", "roles/pubsub.subscriber", pubsubAgent},
		{"google_pubsub_topic.objects", "roles/pubsub.publisher", "data.google_storage_project_service_account.gcs"},

		{"project", "roles/monitoring.viewer", principal("custom-metrics", "custom-metrics-stackdriver-adapter")},
		{"project", "roles/monitoring.viewer", principal("keda", "keda-operator")},
	}
	sort.Slice(want, func(i, j int) bool { return fmt.Sprint(want[i]) < fmt.Sprint(want[j]) })
	if diff := cmp.Diff(want, iamBindings(t, tf)); diff != "" {
		t.Errorf("IAM bindings mismatch (-want +got):\n%s", diff)
	}
}

func TestTerraformContract(t *testing.T) {
	got := contract(t)
	want := Contract{
		Namespace:              "sluice",
		Topic:                  "sluice-objects",
		Subscription:           "sluice-worker",
		DeadLetterTopic:        "sluice-dead-letter",
		WorkerServiceAccount:   "sluice-worker",
		ProducerServiceAccount: "sluice-producer",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ContractFromTerraform mismatch (-want +got):\n%s", diff)
	}
}

func TestTerraformFmt(t *testing.T) {
	terraform, err := exec.LookPath("terraform")
	if err != nil {
		t.Skip("terraform is not on PATH; skipping terraform fmt -check")
	}
	dir := filepath.Join(repoRoot, "deploy", "terraform")
	out, err := exec.Command(terraform, "fmt", "-check", "-recursive", "-diff", dir).CombinedOutput()
	if err != nil {
		t.Errorf("terraform fmt -check -recursive %s: %v\n%s\nRun terraform fmt -recursive deploy/terraform.", dir, err, out)
	}
}
