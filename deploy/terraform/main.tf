# Pub/Sub, buckets and least-privilege IAM for Sluice on GKE. The GKE cluster itself is made
# with gcloud (docs/runbook.md), since its shape is the operator's choice.
#
# The topic, subscription and dead-letter names are literals, not variables: deploy/k8s
# repeats them (ConfigMap, HPA selector, backfill Job), and deploy/validate checks that both
# sides agree. Rename them in both places or not at all.

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  # Workload Identity Federation for GKE: IAM grants roles to a Kubernetes service account as
  # a principal of the project's workload pool. No Google service account and no KSA
  # annotation are involved; the pool exists once a cluster in the project has Workload
  # Identity enabled.
  workload_pool = "principal://iam.googleapis.com/projects/${data.google_project.this.number}/locations/global/workloadIdentityPools/${var.project_id}.svc.id.goog/subject"

  worker_principal   = "${local.workload_pool}/ns/${var.namespace}/sa/${var.worker_service_account}"
  producer_principal = "${local.workload_pool}/ns/${var.namespace}/sa/${var.producer_service_account}"

  # The Custom Metrics Stackdriver Adapter reads the backlog metric for the HPA.
  metrics_adapter_principal = "${local.workload_pool}/ns/custom-metrics/sa/custom-metrics-stackdriver-adapter"
  keda_principal            = "${local.workload_pool}/ns/keda/sa/keda-operator"

  # Pub/Sub's own service agent moves messages to the dead-letter topic.
  pubsub_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

resource "google_project_service" "apis" {
  for_each = toset([
    "container.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "storage.googleapis.com",
  ])

  project = var.project_id
  service = each.value
  # Other things in the project may use these APIs; destroying Sluice must not turn them off.
  disable_on_destroy = false
}

# Pub/Sub.

resource "google_pubsub_topic" "objects" {
  name       = "sluice-objects"
  depends_on = [google_project_service.apis]
}

resource "google_pubsub_topic" "dead_letter" {
  name       = "sluice-dead-letter"
  depends_on = [google_project_service.apis]
}

resource "google_pubsub_subscription" "worker" {
  name  = "sluice-worker"
  topic = google_pubsub_topic.objects.id

  # The worker extends leases while it works, so this only bounds how long a message held by
  # a crashed pod waits before redelivery.
  ack_deadline_seconds         = 60
  enable_exactly_once_delivery = var.enable_exactly_once_delivery

  # Back off on nacks so a failing object does not spin: 10 s doubling to 10 min.
  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  # After five deliveries a message is moved aside for a human rather than retried forever.
  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = 5
  }

  # The default deletes a subscription after 31 days without subscribers; a quiet month
  # must not silently drop the pipeline's input.
  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_subscription" "dead_letter" {
  name                       = "sluice-dead-letter"
  topic                      = google_pubsub_topic.dead_letter.id
  ack_deadline_seconds       = 60
  message_retention_duration = "604800s"

  expiration_policy {
    ttl = ""
  }
}

# Forwarding to the dead-letter topic is done by the Pub/Sub service agent: it must publish
# there and subscribe (to ack the original) on the source subscription.
resource "google_pubsub_topic_iam_member" "dead_letter_agent_publisher" {
  topic  = google_pubsub_topic.dead_letter.id
  role   = "roles/pubsub.publisher"
  member = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "worker_agent_subscriber" {
  subscription = google_pubsub_subscription.worker.id
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

# Cloud Storage.

resource "google_storage_bucket" "input" {
  name                        = var.input_bucket
  location                    = var.bucket_location
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  depends_on                  = [google_project_service.apis]
}

resource "google_storage_bucket" "output" {
  name                        = var.output_bucket
  location                    = var.bucket_location
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  depends_on                  = [google_project_service.apis]
}

# Cloud Storage publishes notifications as its project service agent, which needs publisher
# on the topic before the notification can be created.
data "google_storage_project_service_account" "gcs" {
  project = var.project_id
}

resource "google_pubsub_topic_iam_member" "objects_gcs_publisher" {
  topic  = google_pubsub_topic.objects.id
  role   = "roles/pubsub.publisher"
  member = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
}

resource "google_storage_notification" "input" {
  bucket             = google_storage_bucket.input.name
  topic              = google_pubsub_topic.objects.id
  payload_format     = "JSON_API_V1"
  event_types        = ["OBJECT_FINALIZE"]
  object_name_prefix = var.notification_prefix == "" ? null : var.notification_prefix
  depends_on         = [google_pubsub_topic_iam_member.objects_gcs_publisher]
}

# The worker: consume its subscription, dead-letter what it cannot decode, read inputs, write
# results.

resource "google_pubsub_subscription_iam_member" "worker_subscriber" {
  subscription = google_pubsub_subscription.worker.id
  role         = "roles/pubsub.subscriber"
  member       = local.worker_principal
}

# The worker reads its subscription once at start (GetSubscription) to fail fast when it is
# missing; roles/pubsub.subscriber lacks pubsub.subscriptions.get, so add viewer on this one
# subscription only.
resource "google_pubsub_subscription_iam_member" "worker_subscription_viewer" {
  subscription = google_pubsub_subscription.worker.id
  role         = "roles/pubsub.viewer"
  member       = local.worker_principal
}

resource "google_pubsub_topic_iam_member" "worker_dead_letter_publisher" {
  topic  = google_pubsub_topic.dead_letter.id
  role   = "roles/pubsub.publisher"
  member = local.worker_principal
}

resource "google_storage_bucket_iam_member" "worker_input_viewer" {
  bucket = google_storage_bucket.input.name
  role   = "roles/storage.objectViewer"
  member = local.worker_principal
}

# objectUser rather than objectCreator: a redelivered message rewrites its result, and
# replacing an existing object needs storage.objects.delete, which objectCreator lacks.
resource "google_storage_bucket_iam_member" "worker_output_user" {
  bucket = google_storage_bucket.output.name
  role   = "roles/storage.objectUser"
  member = local.worker_principal
}

# The producer: list the input bucket (objectViewer carries storage.objects.list) and publish.

resource "google_pubsub_topic_iam_member" "producer_publisher" {
  topic  = google_pubsub_topic.objects.id
  role   = "roles/pubsub.publisher"
  member = local.producer_principal
}

resource "google_storage_bucket_iam_member" "producer_input_viewer" {
  bucket = google_storage_bucket.input.name
  role   = "roles/storage.objectViewer"
  member = local.producer_principal
}

# Autoscaling reads the backlog from Cloud Monitoring.

resource "google_project_iam_member" "metrics_adapter_viewer" {
  project = var.project_id
  role    = "roles/monitoring.viewer"
  member  = local.metrics_adapter_principal
}

resource "google_project_iam_member" "keda_viewer" {
  count   = var.enable_keda ? 1 : 0
  project = var.project_id
  role    = "roles/monitoring.viewer"
  member  = local.keda_principal
}
