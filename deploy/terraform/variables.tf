variable "project_id" {
  description = "Google Cloud project that holds the topics, buckets and GKE cluster."
  type        = string
}

variable "region" {
  description = "Default region for regional resources."
  type        = string
  default     = "us-central1"
}

variable "bucket_location" {
  description = "Location of the input and output buckets; put them where the cluster runs so reads stay in the region."
  type        = string
  default     = "US-CENTRAL1"
}

variable "input_bucket" {
  description = "Name of the bucket whose new objects the worker processes. An existing bucket can be adopted with terraform import."
  type        = string
}

variable "output_bucket" {
  description = "Name of the bucket the worker writes results to."
  type        = string
}

variable "notification_prefix" {
  description = "Only objects whose names start with this raise a notification; empty means every object."
  type        = string
  default     = ""
}

variable "namespace" {
  description = "Kubernetes namespace of the workloads. Must match namespace in deploy/k8s."
  type        = string
  default     = "sluice"
}

variable "worker_service_account" {
  description = "Kubernetes service account the worker runs as."
  type        = string
  default     = "sluice-worker"
}

variable "producer_service_account" {
  description = "Kubernetes service account the producer (backfill Job) runs as."
  type        = string
  default     = "sluice-producer"
}

variable "enable_exactly_once_delivery" {
  description = "Exactly-once delivery on the worker subscription. It lowers throughput and makes acks round trips; the worker is correct without it."
  type        = bool
  default     = false
}

variable "enable_keda" {
  description = "Grant the KEDA operator (keda/keda-operator) read access to Cloud Monitoring, for the keda overlay."
  type        = bool
  default     = false
}
