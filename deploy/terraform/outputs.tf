output "topic" {
  description = "Topic that bucket notifications and the backfill publish to."
  value       = google_pubsub_topic.objects.name
}

output "subscription" {
  description = "Subscription the worker consumes."
  value       = google_pubsub_subscription.worker.name
}

output "dead_letter_topic" {
  description = "Where undeliverable messages go; read them from the subscription of the same name."
  value       = google_pubsub_topic.dead_letter.name
}

output "worker_principal" {
  description = "IAM principal of the worker's Kubernetes service account."
  value       = local.worker_principal
}

output "producer_principal" {
  description = "IAM principal of the producer's Kubernetes service account."
  value       = local.producer_principal
}

output "worker_env" {
  description = "Contents of deploy/k8s/overlays/gke/sluice.env."
  value       = <<-EOT
    SLUICE_PROJECT=${var.project_id}
    SLUICE_OUTPUT_BUCKET=${google_storage_bucket.output.name}
  EOT
}

output "backfill_env" {
  description = "Contents of deploy/k8s/backfill/config/backfill.env (set BACKFILL_PREFIX by hand)."
  value       = <<-EOT
    SLUICE_PROJECT=${var.project_id}
    BACKFILL_BUCKET=${google_storage_bucket.input.name}
    BACKFILL_PREFIX=${var.notification_prefix}
  EOT
}
