package k8sjob

import (
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// vrrpSpec is vrrp-failover's sweep of 1000 seeds in 50 shards on real
// hosts.
func vrrpSpec() Spec {
	return Spec{Name: "lblab-vrrp-failover", Lab: "vrrp-failover", Mode: "netns", Image: "registry.example/lblab:1",
		First: 1, Seeds: 1000, ShardSize: 20, Parallelism: 10, BackoffLimitPerIndex: 2, Claim: "lblab-sweep"}
}

// decodeStrict decodes a manifest into a Job, a field the API does not
// know being an error.
func decodeStrict(t *testing.T, b []byte) *batchv1.Job {
	t.Helper()
	var job batchv1.Job
	if err := yaml.UnmarshalStrict(b, &job); err != nil {
		t.Fatalf("the manifest does not decode strictly into batchv1.Job: %v\n%s", err, b)
	}
	return &job
}

// The manifest decodes strictly into a batchv1.Job, passes the API's
// rules that hold without a cluster, and says what a sweep's Job must:
// Indexed, one completion a shard, restartPolicy Never with the failure
// policy (exit 1 fails the index, exit 2 the Job, evictions ignored),
// the shard picked by the pod's index, the capabilities netns needs.
func TestManifestDecodesStrictlyAndValidates(t *testing.T) {
	job0, err := Build(vrrpSpec())
	if err != nil {
		t.Fatal(err)
	}
	b, err := YAML(job0)
	if err != nil {
		t.Fatal(err)
	}
	job := decodeStrict(t, b)
	if errs := Validate(job); len(errs) > 0 {
		t.Fatalf("the decoded manifest breaks the API's rules: %v", errs)
	}
	s := job.Spec
	if *s.CompletionMode != batchv1.IndexedCompletion || *s.Completions != 50 || *s.Parallelism != 10 || *s.BackoffLimitPerIndex != 2 {
		t.Errorf("mode %s, completions %d, parallelism %d, backoffLimitPerIndex %d; want Indexed, 50, 10, 2",
			*s.CompletionMode, *s.Completions, *s.Parallelism, *s.BackoffLimitPerIndex)
	}
	pod := s.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy %s, want Never", pod.RestartPolicy)
	}
	actions := map[int32]batchv1.PodFailurePolicyAction{}
	ignoresDisruption := false
	for _, r := range s.PodFailurePolicy.Rules {
		if r.OnExitCodes != nil {
			for _, v := range r.OnExitCodes.Values {
				actions[v] = r.Action
			}
		}
		for _, c := range r.OnPodConditions {
			ignoresDisruption = ignoresDisruption || c.Type == corev1.DisruptionTarget && r.Action == batchv1.PodFailurePolicyActionIgnore
		}
	}
	if actions[ExitFailed] != batchv1.PodFailurePolicyActionFailIndex || actions[ExitBadInput] != batchv1.PodFailurePolicyActionFailJob || len(actions) != 2 {
		t.Errorf("exit code actions %v, want 1 FailIndex, 2 FailJob, the rest counted", actions)
	}
	if !ignoresDisruption {
		t.Error("an evicted pod counts against its index")
	}
	c := pod.Containers[0]
	cmd := strings.Join(c.Command, " ")
	if want := "/lblab/lblab run vrrp-failover --mode netns --seed 1 --seeds 1000 --shard-size 20 --shard-index-env JOB_COMPLETION_INDEX --out /out"; cmd != want {
		t.Errorf("command\n%s\nwant\n%s", cmd, want)
	}
	if got := c.SecurityContext.Capabilities.Add; !slices.Contains(got, "NET_ADMIN") || !slices.Contains(got, "NET_RAW") {
		t.Errorf("netns pod's capabilities %v lack NET_ADMIN or NET_RAW", got)
	}
	sim := vrrpSpec()
	sim.Mode = "sim"
	job, err = Build(sim)
	if err != nil {
		t.Fatal(err)
	}
	if job.Spec.Template.Spec.Containers[0].SecurityContext != nil {
		t.Error("a sim pod asks for capabilities")
	}
}

// The last shard is shorter when the shard size does not divide the
// seeds: 10 seeds by 3 are 4 completions.
func TestShardsRoundUp(t *testing.T) {
	s := vrrpSpec()
	s.Seeds, s.ShardSize, s.Parallelism = 10, 3, 4
	job, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	if *job.Spec.Completions != 4 {
		t.Errorf("10 seeds by 3: %d completions, want 4", *job.Spec.Completions)
	}
}

// Strict decoding refuses a field the API does not know, and Validate
// refuses each rule broken (so that the test above means something).
func TestValidateRefuses(t *testing.T) {
	job, err := Build(vrrpSpec())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := YAML(job)
	typo := strings.Replace(string(b), "completionMode:", "completionMod:", 1)
	var j batchv1.Job
	if err := yaml.UnmarshalStrict([]byte(typo), &j); err == nil || !strings.Contains(err.Error(), "completionMod") {
		t.Errorf("a misspelt field decodes: %v", err)
	}
	for _, c := range []struct {
		name, want string
		edit       func(j *batchv1.Job)
	}{
		{"restart policy", "restartPolicy Never", func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure }},
		{"parallelism", "more than the", func(j *batchv1.Job) { *j.Spec.Parallelism = *j.Spec.Completions + 1 }},
		{"completions", "at least 1", func(j *batchv1.Job) { *j.Spec.Completions = 0 }},
		{"not indexed", "requires completionMode Indexed", func(j *batchv1.Job) { nc := batchv1.NonIndexedCompletion; j.Spec.CompletionMode = &nc }},
		{"FailIndex", "FailIndex requires", func(j *batchv1.Job) { j.Spec.BackoffLimitPerIndex = nil }},
		{"name", "metadata.name", func(j *batchv1.Job) { j.Name = "Lblab_VRRP" }},
		{"long name", "metadata.name", func(j *batchv1.Job) { j.Name = strings.Repeat("a", 64) }},
		{"container name", "container name", func(j *batchv1.Job) { j.Spec.Template.Spec.Containers[0].Name = "" }},
		{"image", "no image", func(j *batchv1.Job) { j.Spec.Template.Spec.Containers[0].Image = "" }},
		{"exit codes", "increasing order", func(j *batchv1.Job) {
			j.Spec.PodFailurePolicy.Rules[1].OnExitCodes.Values = []int32{3, 1}
		}},
		{"exit 0", "0 with operator In", func(j *batchv1.Job) { j.Spec.PodFailurePolicy.Rules[1].OnExitCodes.Values = []int32{0} }},
		{"claim", "claimName", func(j *batchv1.Job) { j.Spec.Template.Spec.Volumes[0].PersistentVolumeClaim.ClaimName = "No Claim" }},
		{"mount", "no such volume", func(j *batchv1.Job) { j.Spec.Template.Spec.Volumes = j.Spec.Template.Spec.Volumes[1:] }},
	} {
		j, _ := Build(vrrpSpec())
		c.edit(j)
		errs := Validate(j)
		if !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, c.want) }) {
			t.Errorf("%s: Validate says %q, want one with %q", c.name, errs, c.want)
		}
	}
	bad := vrrpSpec()
	bad.Mode = "docker"
	if _, err := Build(bad); err == nil {
		t.Error("a docker-mode Job without DOCKER_HOST builds")
	}
}
