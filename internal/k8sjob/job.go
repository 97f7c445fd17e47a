// Package k8sjob builds the Kubernetes Indexed Job that runs a sweep's
// shards on many machines (lblab sweep --k8s): one pod an index, each
// running lblab run for its shard of the seeds and writing its folder to
// a shared volume, for lblab merge to make one sweep of. It builds the
// API's own types (k8s.io/api/batch/v1) and writes them as YAML; it
// applies nothing.
package k8sjob

import (
	"fmt"
	"slices"
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// IndexEnv is the variable the Job controller sets in each pod of an
// Indexed Job to the pod's index (0 .. completions−1).
const IndexEnv = "JOB_COMPLETION_INDEX"

// ContainerName is the name of the pod's one container.
const ContainerName = "lblab"

// OutPath is where the pod mounts the volume the shards' folders go to.
const OutPath = "/out"

// Exit statuses of lblab run, as the pod failure policy reads them.
const (
	// ExitFailed is a lab whose expectation failed on a seed: the
	// shard's folder is written and is data; running it again gives the
	// same seeds, so the index fails without a retry.
	ExitFailed = 1
	// ExitBadInput is a bad lab file or flag: every index would fail the
	// same way, so the Job fails.
	ExitBadInput = 2
)

// Spec is what the Job runs.
type Spec struct {
	// Name is the Job's name (a DNS-1123 label, at most 63 characters:
	// the Job controller puts it in each pod's labels and hostname);
	// Namespace its namespace ("" leaves it to kubectl's).
	Name, Namespace string
	// Lab is the lab as lblab run takes it: a catalog name (a file must
	// be in the image or a mounted volume).
	Lab string
	// Mode is the world: sim, netns or docker.
	Mode string
	// Image is the container image holding lblab at Binary; Binary
	// defaults to /lblab/lblab, where the docker world's FROM scratch
	// image holds it.
	Image, Binary string
	// First and Seeds are the whole sweep's seeds: First .. First+Seeds−1.
	First uint64
	Seeds int
	// ShardSize is how many seeds a pod runs (the last shard shorter).
	ShardSize int
	// Parallelism is how many pods run at once (at most the shards).
	Parallelism int
	// BackoffLimitPerIndex is how many times a shard that failed for
	// another reason than its lab (a node lost, an evicted pod is not
	// counted) runs again before its index fails.
	BackoffLimitPerIndex int
	// Claim is the PersistentVolumeClaim mounted at OutPath, where each
	// shard writes its folder shard-NNNNN; ReadWriteMany when pods run
	// on several nodes.
	Claim string
	// Args are more arguments of lblab run (--set, --impl), in order.
	Args []string
	// DockerHost is the Docker engine of a docker-mode sweep (the
	// DOCKER_HOST the pods get).
	DockerHost string
}

// Shards is how many pods (completions) the Job runs: ceil(Seeds/ShardSize).
func (s Spec) Shards() int { return (s.Seeds + s.ShardSize - 1) / s.ShardSize }

// Command is the pod's command line: lblab run for the whole sweep, the
// shard picked by the index the Job controller sets in IndexEnv (no
// shell: a FROM scratch image has none).
func (s Spec) Command() []string {
	bin := s.Binary
	if bin == "" {
		bin = "/lblab/lblab"
	}
	cmd := []string{bin, "run", s.Lab, "--mode", s.Mode,
		"--seed", strconv.FormatUint(s.First, 10), "--seeds", strconv.Itoa(s.Seeds),
		"--shard-size", strconv.Itoa(s.ShardSize), "--shard-index-env", IndexEnv, "--out", OutPath}
	return append(cmd, s.Args...)
}

// Build returns the Job running spec: an Indexed Job of Shards()
// completions, a pod failure policy that tells a lab that failed (exit 1:
// the index fails, no retry) from bad input (exit 2: the Job fails) and
// from a failure of the infrastructure (any other exit: retried up to
// BackoffLimitPerIndex; a pod evicted or preempted: retried, not
// counted), restartPolicy Never (the failure policy requires it), and
// for netns mode the capabilities network namespaces need. It checks
// the result with Validate.
func Build(s Spec) (*batchv1.Job, error) {
	if s.ShardSize < 1 || s.Seeds < 1 {
		return nil, fmt.Errorf("k8s job: %d seeds by shards of %d: both must be at least 1", s.Seeds, s.ShardSize)
	}
	labels := map[string]string{"app.kubernetes.io/name": "lblab", "app.kubernetes.io/component": "sweep"}
	c := corev1.Container{
		Name:    ContainerName,
		Image:   s.Image,
		Command: s.Command(),
		VolumeMounts: []corev1.VolumeMount{
			{Name: "out", MountPath: OutPath},
			{Name: "tmp", MountPath: "/tmp"},
		},
		Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("1"),
			corev1.ResourceMemory: resource.MustParse("512Mi"),
		}},
	}
	volumes := []corev1.Volume{
		{Name: "out", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: s.Claim}}},
		{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	switch s.Mode {
	case "netns":
		// Namespaces, bridges, veths and netem (NET_ADMIN), raw VRRP
		// and ARP sockets (NET_RAW), and ip netns's bind mounts under
		// /run/netns (SYS_ADMIN, and no AppArmor profile that forbids
		// mount), as root.
		root := int64(0)
		c.SecurityContext = &corev1.SecurityContext{
			RunAsUser:       &root,
			Capabilities:    &corev1.Capabilities{Add: []corev1.Capability{"NET_ADMIN", "NET_RAW", "SYS_ADMIN"}},
			AppArmorProfile: &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeUnconfined},
		}
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "run", MountPath: "/run"})
		volumes = append(volumes, corev1.Volume{Name: "run", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}})
	case "docker":
		if s.DockerHost == "" {
			return nil, fmt.Errorf("k8s job: docker mode needs the engine the pods use (DOCKER_HOST)")
		}
		c.Env = append(c.Env, corev1.EnvVar{Name: "DOCKER_HOST", Value: s.DockerHost})
	}
	completions := int32(s.Shards())
	parallelism := int32(s.Parallelism)
	backoff := int32(s.BackoffLimitPerIndex)
	indexed := batchv1.IndexedCompletion
	job := &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace, Labels: labels},
		Spec: batchv1.JobSpec{
			CompletionMode:       &indexed,
			Completions:          &completions,
			Parallelism:          &parallelism,
			BackoffLimitPerIndex: &backoff,
			PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
				{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{
					{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}},
				{Action: batchv1.PodFailurePolicyActionFailIndex, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					ContainerName: ptr(ContainerName), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{ExitFailed}}},
				{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					ContainerName: ptr(ContainerName), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{ExitBadInput}}},
			}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers:    []corev1.Container{c},
					Volumes:       volumes,
				},
			},
		},
	}
	if errs := Validate(job); len(errs) > 0 {
		return nil, fmt.Errorf("k8s job: %s", errs[0])
	}
	return job, nil
}

func ptr[T any](v T) *T { return &v }

// YAML writes job as a YAML document.
func YAML(job *batchv1.Job) ([]byte, error) {
	b, err := yaml.Marshal(job)
	if err != nil {
		return nil, fmt.Errorf("k8s job: %w", err)
	}
	return append([]byte("---\n"), b...), nil
}

// Limits of the API server's validation of an Indexed Job.
const (
	// maxIndexed is the most completions (with backoffLimitPerIndex)
	// and the most parallelism of an Indexed Job.
	maxIndexed = 100_000
	// maxRules is the most rules of a pod failure policy; maxValues the
	// most exit codes of one rule.
	maxRules, maxValues = 20, 255
)

// Validate returns what the API server would refuse in job, of the
// rules it checks without a cluster (k8s.io/kubernetes's
// pkg/apis/batch/validation and core's, for the fields Build sets): the
// names (DNS-1123), the Indexed completions and parallelism, the per-index
// backoff, the pod failure policy and its restart policy, the
// containers and their volumes.
func Validate(job *batchv1.Job) []string {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if job.APIVersion != "batch/v1" || job.Kind != "Job" {
		bad("apiVersion %q kind %q, want batch/v1 Job", job.APIVersion, job.Kind)
	}
	// The Job controller labels each pod with the Job's name (a label
	// value, at most 63) and names its hostname NAME-INDEX: a DNS label.
	for _, e := range validation.IsDNS1123Label(job.Name) {
		bad("metadata.name %q: %s", job.Name, e)
	}
	if job.Namespace != "" {
		for _, e := range validation.IsDNS1123Label(job.Namespace) {
			bad("metadata.namespace %q: %s", job.Namespace, e)
		}
	}
	for _, m := range []map[string]string{job.Labels, job.Spec.Template.Labels} {
		for k, v := range m {
			for _, e := range append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...) {
				bad("label %s=%s: %s", k, v, e)
			}
		}
	}
	s := job.Spec
	indexed := s.CompletionMode != nil && *s.CompletionMode == batchv1.IndexedCompletion
	if !indexed {
		bad("spec.completionMode: want Indexed")
	}
	switch {
	case s.Completions == nil || *s.Completions < 1:
		bad("spec.completions: an Indexed Job needs at least 1")
	case *s.Completions > maxIndexed:
		bad("spec.completions %d: at most %d", *s.Completions, maxIndexed)
	}
	if s.Parallelism == nil || *s.Parallelism < 1 || *s.Parallelism > maxIndexed {
		bad("spec.parallelism: 1 to %d", maxIndexed)
	} else if s.Completions != nil && *s.Parallelism > *s.Completions {
		bad("spec.parallelism %d: more than the %d completions", *s.Parallelism, *s.Completions)
	}
	if s.BackoffLimitPerIndex != nil {
		if !indexed {
			bad("spec.backoffLimitPerIndex requires completionMode Indexed")
		}
		if *s.BackoffLimitPerIndex < 0 {
			bad("spec.backoffLimitPerIndex %d: not negative", *s.BackoffLimitPerIndex)
		}
	}
	if s.MaxFailedIndexes != nil {
		if s.BackoffLimitPerIndex == nil {
			bad("spec.maxFailedIndexes requires backoffLimitPerIndex")
		}
		if s.Completions != nil && (*s.MaxFailedIndexes < 0 || *s.MaxFailedIndexes > *s.Completions) {
			bad("spec.maxFailedIndexes %d: 0 to completions", *s.MaxFailedIndexes)
		}
	}
	pod := s.Template.Spec
	if p := s.PodFailurePolicy; p != nil {
		if pod.RestartPolicy != corev1.RestartPolicyNever {
			bad("spec.podFailurePolicy requires restartPolicy Never, not %q", pod.RestartPolicy)
		}
		if len(p.Rules) > maxRules {
			bad("spec.podFailurePolicy: %d rules, at most %d", len(p.Rules), maxRules)
		}
		for i, r := range p.Rules {
			at := fmt.Sprintf("spec.podFailurePolicy.rules[%d]", i)
			if r.Action == batchv1.PodFailurePolicyActionFailIndex && s.BackoffLimitPerIndex == nil {
				bad("%s: FailIndex requires backoffLimitPerIndex", at)
			}
			if (r.OnExitCodes == nil) == (len(r.OnPodConditions) == 0) {
				bad("%s: exactly one of onExitCodes and onPodConditions", at)
			}
			if x := r.OnExitCodes; x != nil {
				if x.ContainerName != nil && !slices.ContainsFunc(pod.Containers, func(c corev1.Container) bool { return c.Name == *x.ContainerName }) {
					bad("%s.onExitCodes.containerName %q: no such container", at, *x.ContainerName)
				}
				if len(x.Values) == 0 || len(x.Values) > maxValues {
					bad("%s.onExitCodes.values: 1 to %d of them", at, maxValues)
				}
				for j, v := range x.Values {
					if j > 0 && v <= x.Values[j-1] {
						bad("%s.onExitCodes.values: in increasing order, without repeats", at)
					}
					if v == 0 && x.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn {
						bad("%s.onExitCodes.values: 0 with operator In", at)
					}
				}
			}
		}
	}
	if len(pod.Containers) == 0 {
		bad("spec.template.spec.containers: none")
	}
	vols := map[string]bool{}
	for _, v := range pod.Volumes {
		for _, e := range validation.IsDNS1123Label(v.Name) {
			bad("volume %q: %s", v.Name, e)
		}
		if pvc := v.PersistentVolumeClaim; pvc != nil {
			for _, e := range validation.IsDNS1123Subdomain(pvc.ClaimName) {
				bad("volume %s: claimName %q: %s", v.Name, pvc.ClaimName, e)
			}
		}
		vols[v.Name] = true
	}
	for _, c := range pod.Containers {
		for _, e := range validation.IsDNS1123Label(c.Name) {
			bad("container name %q: %s", c.Name, e)
		}
		if c.Image == "" {
			bad("container %s: no image", c.Name)
		}
		if len(c.Command) == 0 {
			bad("container %s: no command", c.Name)
		}
		for _, m := range c.VolumeMounts {
			if !vols[m.Name] {
				bad("container %s: volumeMount %q: no such volume", c.Name, m.Name)
			}
		}
		for _, e := range c.Env {
			for _, m := range validation.IsEnvVarName(e.Name) {
				bad("container %s: env %q: %s", c.Name, e.Name, m)
			}
		}
	}
	return errs
}
