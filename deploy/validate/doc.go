// Package validate checks Sluice's deployment files offline: the kustomize overlays under
// deploy/k8s, the Terraform under deploy/terraform and skaffold.yaml at the repository root.
//
// Nothing here reaches a cluster or a cloud. The overlays are rendered with `kubectl
// kustomize`, each rendered document is decoded strictly into its Kubernetes type (so a
// misspelt field fails instead of being dropped), and the checks assert the invariants that
// keep the pieces agreeing with each other: the drain timeout fits in the grace period, the
// memory limit reaches GOMEMLIMIT, and the names Terraform creates are the names the
// manifests use. The package is its own Go module so that the Kubernetes and HCL libraries stay
// out of the worker's dependency graph.
//
// Run it with `make test-deploy`, or `go test ./...` in this directory.
package validate
