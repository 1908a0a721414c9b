package validate

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// emulatorVars are the variables that point the Google Cloud clients at local engines.
var emulatorVars = []string{"PUBSUB_EMULATOR_HOST", "STORAGE_EMULATOR_HOST"}

// CheckEmulators reports emulator addresses in the worker's environment that lead nowhere:
// each must name a Service in the overlay, on one of its ports, whose target port is a port of
// a container the Service selects.
func CheckEmulators(s *Set) error {
	d := s.Deployment(WorkerName)
	if d == nil {
		return fmt.Errorf("no Deployment %s", WorkerName)
	}
	ctr := container(d.Spec.Template.Spec, workerContainer)
	if ctr == nil {
		return fmt.Errorf("Deployment %s: no container %s", WorkerName, workerContainer)
	}
	env := ResolveEnv(s, *ctr)
	var p problems
	for _, name := range emulatorVars {
		if err := checkServiceAddr(s, env[name]); err != nil {
			p.addf("%s: %w", name, err)
		}
	}
	return p.err()
}

func checkServiceAddr(s *Set, addr string) error {
	host, port, err := net.SplitHostPort(strings.TrimPrefix(addr, "http://"))
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	svc := s.Service(host)
	if svc == nil {
		return fmt.Errorf("no Service %q", host)
	}
	var sp *corev1.ServicePort
	for i := range svc.Spec.Ports {
		if strconv.Itoa(int(svc.Spec.Ports[i].Port)) == port {
			sp = &svc.Spec.Ports[i]
		}
	}
	if sp == nil {
		return fmt.Errorf("Service %s has no port %s", host, port)
	}
	for _, dep := range s.Deployments {
		if len(svc.Spec.Selector) == 0 ||
			!labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(dep.Spec.Template.Labels)) {
			continue
		}
		for _, c := range dep.Spec.Template.Spec.Containers {
			if servesPort(c, sp.TargetPort) {
				return nil
			}
		}
	}
	return fmt.Errorf("Service %s port %s: no selected container serves target port %s",
		host, port, sp.TargetPort.String())
}

func servesPort(c corev1.Container, target intstr.IntOrString) bool {
	for _, cp := range c.Ports {
		if (target.Type == intstr.String && cp.Name == target.StrVal) ||
			(target.Type == intstr.Int && cp.ContainerPort == target.IntVal) {
			return true
		}
	}
	return false
}
