terraform {
  required_version = ">= 1.5"

  required_providers {
    google = {
      source = "hashicorp/google"
      # Principal identifiers for Workload Identity Federation for GKE are plain IAM members,
      # so any current provider works; stay within one major version for plan stability.
      version = ">= 6.0, < 8.0"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}
