package validate

import (
	"regexp"

	corev1 "k8s.io/api/core/v1"
)

// ResolveEnv returns the environment the kubelet would give container c, as far as the
// rendered objects decide it: envFrom ConfigMaps first, then env entries with a value or a
// configMapKeyRef, later ones winning. Entries from the downward API are left out; checks
// look at those entries directly.
func ResolveEnv(s *Set, c corev1.Container) map[string]string {
	env := make(map[string]string)
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef == nil {
			continue
		}
		if cm := s.ConfigMap(from.ConfigMapRef.Name); cm != nil {
			for k, v := range cm.Data {
				env[from.Prefix+k] = v
			}
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = expand(e.Value, env)
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			if cm := s.ConfigMap(ref.Name); cm != nil {
				if v, ok := cm.Data[ref.Key]; ok {
					env[e.Name] = v
				}
			}
		}
	}
	return env
}

// EnvEntry returns the env entry of container c with the given name, or nil.
func EnvEntry(c corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// expand replaces $(NAME) with NAME's value where env defines it, as the kubelet does for
// command, args and env values; an undefined reference is left as written.
func expand(s string, env map[string]string) string {
	return varRef.ReplaceAllStringFunc(s, func(ref string) string {
		if v, ok := env[ref[2:len(ref)-1]]; ok {
			return v
		}
		return ref
	})
}

// ExpandArgs returns container c's args with $(NAME) references expanded.
func ExpandArgs(s *Set, c corev1.Container) []string {
	env := ResolveEnv(s, c)
	out := make([]string, len(c.Args))
	for i, a := range c.Args {
		out[i] = expand(a, env)
	}
	return out
}
