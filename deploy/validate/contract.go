package validate

import (
	"errors"
	"fmt"
)

// Contract is what the manifests and Terraform must agree on. Terraform is the source: the
// tests build a Contract from deploy/terraform and check each overlay against it.
type Contract struct {
	Namespace              string
	Topic                  string
	Subscription           string
	DeadLetterTopic        string
	WorkerServiceAccount   string
	ProducerServiceAccount string
}

// problems collects every broken invariant of one check, so a run reports them all at once.
type problems []error

func (p *problems) addf(format string, args ...any) {
	*p = append(*p, fmt.Errorf(format, args...))
}

func (p problems) err() error { return errors.Join(p...) }

// CheckNamespaces reports objects outside the contract's namespace, and Namespaces other than
// it. Terraform grants roles to service accounts in that namespace only.
func CheckNamespaces(s *Set, c Contract) error {
	var p problems
	for _, ns := range s.Namespaces {
		if ns.Name != c.Namespace {
			p.addf("Namespace %q, want only %q", ns.Name, c.Namespace)
		}
	}
	for _, m := range s.NamespacedObjects() {
		if m.Namespace != c.Namespace {
			p.addf("%s in namespace %q, want %q", m.Name, m.Namespace, c.Namespace)
		}
	}
	return p.err()
}
