package validate

import (
	"fmt"
	"slices"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// producerImage is the image name Skaffold builds from ./producer.
const producerImage = "producer"

// CheckBackfill reports broken invariants of every backfill Job: it runs the producer's
// backfill command against a bucket as the producer's service account, publishes to
// Terraform's topic, never restarts in place, and cleans itself up.
func CheckBackfill(s *Set, c Contract) error {
	if len(s.Jobs) == 0 {
		return fmt.Errorf("no Jobs")
	}
	var p problems
	for _, j := range s.Jobs {
		if err := checkJob(s, j, c); err != nil {
			p.addf("Job %s: %w", j.Name, err)
		}
	}
	return p.err()
}

func checkJob(s *Set, j batchv1.Job, c Contract) error {
	var p problems
	pod := j.Spec.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		p.addf("restartPolicy %q, want Never", pod.RestartPolicy)
	}
	if pod.ServiceAccountName != c.ProducerServiceAccount {
		p.addf("serviceAccountName %q, want %q", pod.ServiceAccountName, c.ProducerServiceAccount)
	}
	if j.Spec.BackoffLimit == nil {
		p.addf("backoffLimit unset")
	}
	if j.Spec.TTLSecondsAfterFinished == nil || *j.Spec.TTLSecondsAfterFinished <= 0 {
		p.addf("ttlSecondsAfterFinished unset")
	}
	if len(pod.Containers) != 1 {
		p.addf("%d containers, want 1", len(pod.Containers))
		return p.err()
	}
	ctr := pod.Containers[0]
	if ctr.Image != producerImage {
		p.addf("image %q, want %q", ctr.Image, producerImage)
	}
	env := ResolveEnv(s, ctr)
	if got := env["SLUICE_TOPIC"]; got != c.Topic {
		p.addf("SLUICE_TOPIC %q, want Terraform's %q", got, c.Topic)
	}
	if env["SLUICE_PROJECT"] == "" {
		p.addf("SLUICE_PROJECT unset or empty")
	}
	args := ExpandArgs(s, ctr)
	if len(args) == 0 || args[0] != "backfill" {
		p.addf("args %q do not start with backfill", args)
	}
	if flag(args, "bucket") == "" {
		p.addf("args %q have no non-empty --bucket", args)
	}
	for _, a := range args {
		if varRef.MatchString(a) {
			p.addf("arg %q refers to a variable the container does not define", a)
		}
	}
	return p.err()
}

// Shard is the name range one backfill Job lists: StartAfter < name < EndBefore, an empty
// bound being open, as the producer's --start-after and --end-before define them.
type Shard struct {
	Job, Prefix, StartAfter, EndBefore string
}

// CheckShards reports gaps between the ranges of sharded backfill Jobs. Sorted by start, the
// first must be open below and the last open above, and each shard must start strictly before
// the previous one ends: both bounds are exclusive, so a shard that starts after exactly the
// name the previous one ends before would skip that name. This is the shape `producer ranges`
// prints (the next shard starts after the name just before the boundary). Bounds must also lie
// under the listed prefix, or they cut nothing.
func CheckShards(s *Set) error {
	var shards []Shard
	for _, j := range s.Jobs {
		if len(j.Spec.Template.Spec.Containers) == 0 {
			continue
		}
		args := ExpandArgs(s, j.Spec.Template.Spec.Containers[0])
		shards = append(shards, Shard{
			Job:        j.Name,
			Prefix:     flag(args, "prefix"),
			StartAfter: flag(args, "start-after"),
			EndBefore:  flag(args, "end-before"),
		})
	}
	if len(shards) < 2 {
		return fmt.Errorf("%d shards, want at least 2", len(shards))
	}
	slices.SortFunc(shards, func(a, b Shard) int { return strings.Compare(a.StartAfter, b.StartAfter) })

	var p problems
	if first := shards[0]; first.StartAfter != "" {
		p.addf("first shard %s starts after %q; names up to it are never listed",
			first.Job, first.StartAfter)
	}
	if last := shards[len(shards)-1]; last.EndBefore != "" {
		p.addf("last shard %s ends before %q; names from it on are never listed",
			last.Job, last.EndBefore)
	}
	for i, sh := range shards {
		for _, bound := range []string{sh.StartAfter, sh.EndBefore} {
			if bound != "" && !strings.HasPrefix(bound, sh.Prefix) {
				p.addf("shard %s bound %q is outside prefix %q", sh.Job, bound, sh.Prefix)
			}
		}
		if sh.StartAfter != "" && sh.EndBefore != "" && sh.StartAfter >= sh.EndBefore {
			p.addf("shard %s is empty: start-after %q, end-before %q",
				sh.Job, sh.StartAfter, sh.EndBefore)
		}
		if i+1 < len(shards) {
			next := shards[i+1]
			if sh.EndBefore == "" || next.StartAfter >= sh.EndBefore {
				p.addf("gap: shard %s ends before %q but shard %s starts after %q",
					sh.Job, sh.EndBefore, next.Job, next.StartAfter)
			}
		}
	}
	return p.err()
}

// flag returns the value of the last --name=value in args, or "".
func flag(args []string, name string) string {
	var v string
	for _, a := range args {
		if after, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			v = after
		}
	}
	return v
}
