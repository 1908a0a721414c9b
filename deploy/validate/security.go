package validate

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// nonrootUID is the user distroless's nonroot images run as.
const nonrootUID = 65532

// CheckRestricted reports pods that fall short of the restricted Pod Security Standard plus a
// read-only root filesystem. The namespace enforces restricted, so such a pod would be refused
// at admission; this finds it before a deploy does.
func CheckRestricted(s *Set) error {
	var p problems
	for name, tmpl := range s.PodSpecs() {
		pod := tmpl.Spec
		psc := pod.SecurityContext
		if psc == nil {
			psc = &corev1.PodSecurityContext{}
		}
		for _, c := range slices.Concat(pod.InitContainers, pod.Containers) {
			sc := c.SecurityContext
			if sc == nil {
				p.addf("%s container %s: no securityContext", name, c.Name)
				continue
			}
			if !isTrue(firstNonNil(sc.RunAsNonRoot, psc.RunAsNonRoot)) {
				p.addf("%s container %s: runAsNonRoot is not true", name, c.Name)
			}
			if uid := firstNonNil(sc.RunAsUser, psc.RunAsUser); uid == nil || *uid != nonrootUID {
				p.addf("%s container %s: runAsUser is not %d", name, c.Name, nonrootUID)
			}
			if !isTrue(sc.ReadOnlyRootFilesystem) {
				p.addf("%s container %s: readOnlyRootFilesystem is not true", name, c.Name)
			}
			if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				p.addf("%s container %s: allowPrivilegeEscalation is not false", name, c.Name)
			}
			if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
				p.addf("%s container %s: capabilities do not drop ALL", name, c.Name)
			}
			seccomp := firstNonNil(sc.SeccompProfile, psc.SeccompProfile)
			if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
				p.addf("%s container %s: seccompProfile is not RuntimeDefault", name, c.Name)
			}
		}
	}
	return p.err()
}

// firstNonNil returns the container's setting if it has one, else the pod's, as the kubelet
// resolves them.
func firstNonNil[T any](container, pod *T) *T {
	if container != nil {
		return container
	}
	return pod
}

func isTrue(b *bool) bool { return b != nil && *b }
