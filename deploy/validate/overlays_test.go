package validate

import "testing"

type check struct {
	name string
	fn   func(*Set, Contract) error
}

var (
	namespaces   = check{"namespaces", CheckNamespaces}
	restricted   = check{"restricted", func(s *Set, _ Contract) error { return CheckRestricted(s) }}
	worker       = check{"worker", CheckWorker}
	emulators    = check{"emulators", func(s *Set, _ Contract) error { return CheckEmulators(s) }}
	hpa          = check{"hpa", CheckHPA}
	scaledObject = check{"scaledobject", CheckScaledObject}
	monitoring   = check{"monitoring", func(s *Set, _ Contract) error { return CheckMonitoring(s) }}
	backfill     = check{"backfill", CheckBackfill}
	shards       = check{"shards", func(s *Set, _ Contract) error { return CheckShards(s) }}
)

// Overlays lists every kustomization that is deployed on its own, with the checks it must pass.
var overlays = []struct {
	name   string
	dir    string
	checks []check
}{
	{"local", "deploy/k8s/overlays/local", []check{namespaces, restricted, worker, emulators}},
	{"gke", "deploy/k8s/overlays/gke", []check{namespaces, restricted, worker, hpa, monitoring}},
	{"keda", "deploy/k8s/overlays/keda", []check{namespaces, restricted, worker, scaledObject, monitoring}},
	{"backfill", "deploy/k8s/backfill", []check{namespaces, restricted, backfill}},
	{"backfill-shards", "deploy/k8s/backfill/shards", []check{namespaces, restricted, backfill, shards}},
}

func TestOverlays(t *testing.T) {
	c := contract(t)
	for _, o := range overlays {
		t.Run(o.name, func(t *testing.T) {
			s := decoded(t, o.dir)
			for _, ch := range o.checks {
				if err := ch.fn(s, c); err != nil {
					t.Errorf("%s on %s:\n%v", ch.name, o.dir, err)
				}
			}
		})
	}
}
