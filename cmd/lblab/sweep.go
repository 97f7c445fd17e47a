package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/internal/k8sjob"
	"github.com/lblab/lblab/scenarios"
	"github.com/spf13/cobra"
)

func init() { commands = append(commands, newSweep) }

// k8sFlags are lblab sweep's flags for --k8s.
type k8sFlags struct {
	k8s bool
	// shards is how many parts the seeds are cut into (the pods: the
	// Job's completions); parallelism how many run at once.
	shards, parallelism int
	// backoffLimitPerIndex is how many times a shard that failed for
	// another reason than its lab runs again.
	backoffLimitPerIndex int
	// image, name, namespace, claim, dockerHost and binary are the
	// flags of the same names.
	image, name, namespace, claim, dockerHost, binary string
	// out is the manifest's file ("" or "-": stdout).
	out string
}

func newSweep() *cobra.Command {
	var f runFlags
	var k k8sFlags
	c := &cobra.Command{
		Use:   "sweep LAB --seeds N",
		Short: "Run a lab once per seed (lblab run --seeds), or write the Kubernetes Job that runs it on many machines",
		Long: `Run a lab once per seed, --seed to --seed+N−1: the same as lblab run
--seeds N (the same flags, folder and exit status).

With --k8s it runs nothing and writes a Kubernetes manifest (to stdout or
-o FILE; kubectl apply -f it): an Indexed Job that cuts the seeds into
--shards shards of ceil(N/shards) seeds (the last one shorter; when that
size leaves a shard empty, fewer shards), one pod an index. Each pod runs

  lblab run LAB --seed S --seeds N --shard-size SIZE --shard-index-env JOB_COMPLETION_INDEX --out /out

which plays the seeds S+I·SIZE to S+I·SIZE+SIZE−1 (at most S+N−1) for
index I, and writes its folder /out/shard-IIIII (shard-IIIII-1, ... for a
retried pod) on the volume claim --claim. lblab merge /out/shard-* then
makes the one sweep folder.

The pods restart never; the Job's pod failure policy fails an index whose
lab failed (exit 1: its folder is written, and running it again gives the
same seeds), fails the Job on bad input (exit 2), ignores a pod evicted or
preempted (it runs again), and runs any other failure again, up to
--backoff-limit-per-index times an index. --mode netns pods run as root
with NET_ADMIN, NET_RAW and SYS_ADMIN, and need an image with iproute2
(see the README, "More than one machine").`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if !c.Flags().Changed("seeds") {
				return usageError{i18n.Errorf("lblab sweep needs --seeds N")}
			}
			if !k.k8s {
				return runLab(c, args[0], f)
			}
			return writeJob(c, args[0], f, k)
		},
	}
	addRunFlags(c, &f)
	fl := c.Flags()
	fl.BoolVar(&k.k8s, "k8s", false, "write the Kubernetes Indexed Job that runs the sweep's shards, instead of running it")
	fl.IntVar(&k.shards, "shards", 0, "with --k8s, cut the seeds into this many shards (default: one seed a shard for a real world, 1 for sim)")
	fl.IntVar(&k.parallelism, "parallelism", 0, "with --k8s, how many pods run at once (default all shards)")
	fl.IntVar(&k.backoffLimitPerIndex, "backoff-limit-per-index", 2, "with --k8s, how many times a shard that failed for another reason than its lab runs again")
	fl.StringVar(&k.image, "image", "", "with --k8s, the image holding lblab at --binary (required)")
	fl.StringVar(&k.binary, "binary", "/lblab/lblab", "with --k8s, where the image holds lblab")
	fl.StringVar(&k.name, "name", "", "with --k8s, the Job's name (default lblab-LAB)")
	fl.StringVar(&k.namespace, "namespace", "", "with --k8s, the Job's namespace (default kubectl's)")
	fl.StringVar(&k.claim, "claim", "lblab-sweep", "with --k8s, the PersistentVolumeClaim mounted at /out, where the shards' folders go (ReadWriteMany for pods on several nodes)")
	fl.StringVar(&k.dockerHost, "docker-host", "", "with --k8s --mode docker, the Docker engine the pods use (their DOCKER_HOST)")
	fl.StringVarP(&k.out, "output", "o", "", "with --k8s, write the manifest to this file (default stdout)")
	return c
}

// nameChars are what a Job name cannot hold of a lab's name.
var nameChars = regexp.MustCompile(`[^a-z0-9-]+`)

// writeJob writes the Indexed Job of the sweep f of lab name.
func writeJob(c *cobra.Command, name string, f runFlags, k k8sFlags) error {
	if f.shardSize != 0 || f.shardIndex >= 0 || f.shardIndexEnv != "" {
		return usageError{i18n.Errorf("--k8s sets the pods' --shard-size and --shard-index-env itself: give --shards")}
	}
	if err := scenarios.CheckSeeds(f.seed, f.seeds); err != nil {
		return usageError{err}
	}
	if _, err := scenarios.LookupWorld(f.mode); err != nil {
		return usageError{i18n.Errorf("--mode %s: %w", f.mode, err)}
	}
	if k.image == "" {
		return usageError{i18n.Errorf("--k8s needs --image: the image holding lblab (see the README, \"More than one machine\")")}
	}
	// The pods load the lab as given: it must load here too.
	lab, err := loadWithImpl(name, f.sets, f.impl)
	if err != nil {
		return err
	}
	shards := k.shards
	if shards == 0 {
		shards = f.seeds
		if f.mode == "sim" {
			shards = 1
		}
	}
	if shards < 1 || shards > f.seeds {
		return usageError{i18n.Errorf("--shards %d: 1 to the %d seeds", shards, f.seeds)}
	}
	size := (f.seeds + shards - 1) / shards
	var args []string
	for _, s := range f.sets {
		args = append(args, "--set", s)
	}
	if f.impl != "" {
		args = append(args, "--impl", f.impl)
	}
	if f.keepHistories {
		args = append(args, "--keep-histories")
	}
	jobName := k.name
	if jobName == "" {
		jobName = strings.Trim(nameChars.ReplaceAllString("lblab-"+strings.ToLower(lab.Name), "-"), "-")
		jobName = strings.TrimRight(jobName[:min(len(jobName), 63)], "-")
	}
	spec := k8sjob.Spec{Name: jobName, Namespace: k.namespace, Lab: name, Mode: f.mode, Image: k.image, Binary: k.binary,
		First: f.seed, Seeds: f.seeds, ShardSize: size, BackoffLimitPerIndex: k.backoffLimitPerIndex, Claim: k.claim,
		Args: args, DockerHost: k.dockerHost}
	spec.Parallelism = spec.Shards()
	if k.parallelism > 0 {
		spec.Parallelism = min(k.parallelism, spec.Shards())
	}
	job, err := k8sjob.Build(spec)
	if err != nil {
		return usageError{err}
	}
	b, err := k8sjob.YAML(job)
	if err != nil {
		return err
	}
	if spec.Shards() != shards {
		fmt.Fprintln(c.ErrOrStderr(), i18n.T("%d seeds in shards of %d make %d shards, not %d", f.seeds, size, spec.Shards(), shards).In(localeLangOf(c)))
	}
	if k.out == "" || k.out == "-" {
		_, err = c.OutOrStdout().Write(b)
		return err
	}
	if err := os.WriteFile(k.out, b, 0o644); err != nil {
		return fmt.Errorf("-o: %w", err)
	}
	return nil
}

// localeLangOf is the language of c's output (langOf), English when its
// --lang is bad (already said elsewhere).
func localeLangOf(c *cobra.Command) string {
	l, err := langOf(c)
	if err != nil {
		return localeLang()
	}
	return l
}
