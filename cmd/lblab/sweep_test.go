package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lblab/lblab/internal/k8sjob"
	batchv1 "k8s.io/api/batch/v1"
	"sigs.k8s.io/yaml"
)

// failing3s makes vrrp-failover fail on the seeds whose takeover comes
// after 3.1 s (about half of them): their histories are kept.
const failing3s = "expect[0].failover.max=3.1s"

// lblab sweep without --k8s is lblab run --seeds: the same folder.
func TestSweepIsRunSeeds(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	code, out, errOut := lblab(t, "sweep", "vrrp-failover", "--seeds", "6", "--seed", "3", "--set", failing3s, "--out", a)
	wantExit(t, code, 1, out, errOut)
	code, out, errOut = lblab(t, "run", "vrrp-failover", "--seeds", "6", "--seed", "3", "--set", failing3s, "--out", b)
	wantExit(t, code, 1, out, errOut)
	sameFolder(t, a, b)
	code, out, errOut = lblab(t, "sweep", "vrrp-failover")
	wantExit(t, code, 2, out, errOut)
}

// sameFolder fails the test unless the folders a and b hold the same
// files, byte for byte (the report's page and plots aside: they are drawn
// from report.json).
func sameFolder(t *testing.T, a, b string) {
	t.Helper()
	list := func(dir string) []string {
		var names []string
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				rel, _ := filepath.Rel(dir, p)
				names = append(names, rel)
			}
			return nil
		})
		return names
	}
	na, nb := list(a), list(b)
	if !slices.Equal(na, nb) {
		t.Fatalf("%s holds %v, %s holds %v", a, na, b, nb)
	}
	for _, n := range na {
		x, _ := os.ReadFile(filepath.Join(a, n))
		y, _ := os.ReadFile(filepath.Join(b, n))
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between %s and %s:\n%s\n%s", n, a, b, clip(x), clip(y))
		}
	}
}

func clip(b []byte) string { return string(b[:min(len(b), 600)]) }

// jobOf writes lblab sweep --k8s's manifest for args and decodes it
// strictly.
func jobOf(t *testing.T, args ...string) *batchv1.Job {
	t.Helper()
	code, out, errOut := lblab(t, append([]string{"sweep", "--k8s", "--image", "registry.example/lblab:1"}, args...)...)
	wantExit(t, code, 0, out, errOut)
	var job batchv1.Job
	if err := yaml.UnmarshalStrict([]byte(out), &job); err != nil {
		t.Fatalf("the manifest does not decode strictly into batchv1.Job: %v\n%s", err, out)
	}
	if errs := k8sjob.Validate(&job); len(errs) > 0 {
		t.Fatalf("the manifest breaks the API's rules: %v\n%s", errs, out)
	}
	return &job
}

// The manifest of lblab sweep --k8s: 40 seeds in 4 shards are 4
// completions of 10; 10 seeds asked in 4 shards are shards of 3, the
// last of 1; bad flags are bad input.
func TestSweepK8sManifest(t *testing.T) {
	job := jobOf(t, "vrrp-failover", "--seeds", "40", "--shards", "4", "--parallelism", "2")
	if *job.Spec.Completions != 4 || *job.Spec.Parallelism != 2 {
		t.Errorf("completions %d parallelism %d, want 4 and 2", *job.Spec.Completions, *job.Spec.Parallelism)
	}
	job = jobOf(t, "vrrp-failover", "--seeds", "10", "--shards", "4", "--mode", "netns", "--set", failing3s)
	cmd := strings.Join(job.Spec.Template.Spec.Containers[0].Command, " ")
	if want := "--seeds 10 --shard-size 3 --shard-index-env JOB_COMPLETION_INDEX --out /out --set " + failing3s; !strings.Contains(cmd, want) {
		t.Errorf("command %q lacks %q", cmd, want)
	}
	if *job.Spec.Completions != 4 {
		t.Errorf("10 seeds in 4 shards: %d completions, want 4", *job.Spec.Completions)
	}
	file := filepath.Join(t.TempDir(), "job.yaml")
	code, out, errOut := lblab(t, "sweep", "vrrp-failover", "--seeds", "1000", "--shards", "50", "--k8s", "--image", "x", "-o", file)
	wantExit(t, code, 0, out, errOut)
	if b, err := os.ReadFile(file); err != nil || !bytes.Contains(b, []byte("completions: 50")) {
		t.Errorf("-o %s: %v\n%s", file, err, b)
	}
	for _, bad := range [][]string{
		{"--seeds", "10", "--shards", "11"},
		{"--seeds", "10", "--shards", "2", "--name", "Not_A_Name"},
		{"--seeds", "10", "--mode", "docker"},
		{"--seeds", "10", "--shard-size", "3"},
		{"--seeds", "10", "--mode", "nowhere"},
	} {
		code, out, errOut := lblab(t, append([]string{"sweep", "vrrp-failover", "--k8s", "--image", "x"}, bad...)...)
		wantExit(t, code, 2, out, errOut)
	}
	code, out, errOut = lblab(t, "sweep", "vrrp-failover", "--k8s", "--seeds", "10")
	wantExit(t, code, 2, out, errOut)
}

// The Job's pods, run here as the Job controller would run them: the
// manifest's command for every index, with JOB_COMPLETION_INDEX set, the
// shards in parallel processes, one of them run twice (a retried pod),
// then lblab merge of their folders in another order: the merged folder
// is the one-machine sweep's, results.json, report.json, seeds.jsonl and
// the failing seeds' histories byte for byte (vrrp-failover, 40 seeds in
// 4 shards, in the simulator, about half of them failing).
func TestShardsMergeAsOneMachine(t *testing.T) {
	bin := buildLblab(t)
	job := jobOf(t, "vrrp-failover", "--seeds", "40", "--seed", "7", "--shards", "4", "--set", failing3s)
	cmd := job.Spec.Template.Spec.Containers[0].Command
	out := filepath.Join(t.TempDir(), "out")
	args := slices.Clone(cmd[1:])
	args[slices.Index(args, "--out")+1] = out
	pods := []int{0, 1, 2, 3, 2} // index 2 twice: a retried pod
	var wg sync.WaitGroup
	codes := make([]int, len(pods))
	outs := make([][]byte, len(pods))
	for i, index := range pods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := exec.Command(bin, args...)
			c.Env = append(os.Environ(), fmt.Sprintf("%s=%d", k8sjob.IndexEnv, index))
			outs[i], _ = c.CombinedOutput()
			codes[i] = c.ProcessState.ExitCode()
		}()
	}
	wg.Wait()
	for i, code := range codes {
		if code != 0 && code != 1 {
			t.Fatalf("pod %d (index %d): exit %d\n%s", i, pods[i], code, outs[i])
		}
	}
	shards, _ := filepath.Glob(filepath.Join(out, "shard-*"))
	names := make([]string, len(shards))
	for i, s := range shards {
		names[i] = filepath.Base(s)
	}
	if want := []string{"shard-00000", "shard-00001", "shard-00002", "shard-00002-1", "shard-00003"}; !slices.Equal(names, want) {
		t.Fatalf("the pods wrote %v, want %v", names, want)
	}
	if hidden, _ := filepath.Glob(filepath.Join(out, ".shard-*")); len(hidden) > 0 {
		t.Errorf("half-written shard folders left: %v", hidden)
	}
	slices.Reverse(shards)
	merged := filepath.Join(t.TempDir(), "merged")
	code, mout, errOut := lblab(t, append([]string{"merge", "-o", merged}, shards...)...)
	wantExit(t, code, 1, mout, errOut) // seeds failed, as in one machine's sweep
	if !strings.Contains(mout, "10 seeds came twice with the same results: each counted once") {
		t.Errorf("the summary does not count the retried shard's seeds once:\n%s", mout)
	}
	one := filepath.Join(t.TempDir(), "one")
	code, oout, errOut := lblab(t, "run", "vrrp-failover", "--seeds", "40", "--seed", "7", "--set", failing3s, "--out", one)
	wantExit(t, code, 1, oout, errOut)
	sameFolder(t, merged, one)
	hs, _ := filepath.Glob(filepath.Join(one, "histories", "*.jsonl"))
	if len(hs) < 5 {
		t.Errorf("only %d failing seeds: the test means little", len(hs))
	}

	// Without shard 1, seeds 17 to 26 are missing: listed, and the sweep fails.
	partial := filepath.Join(t.TempDir(), "partial")
	code, pout, errOut := lblab(t, "merge", "-o", partial, shards[0], shards[1], shards[4])
	wantExit(t, code, 1, pout, errOut)
	if !strings.Contains(pout, "10 of 40 seeds missing: 17-26") {
		t.Errorf("the summary does not list the missing seeds:\n%s", pout)
	}
	var r struct {
		Seeds   int      `json:"seeds"`
		Missing []uint64 `json:"missing_seeds"`
	}
	b, _ := os.ReadFile(filepath.Join(partial, "results.json"))
	if err := json.Unmarshal(b, &r); err != nil || r.Seeds != 30 || len(r.Missing) != 10 || r.Missing[0] != 17 || r.Missing[9] != 26 {
		t.Errorf("results.json: seeds %d missing %v (%v), want 30 and 17..26", r.Seeds, r.Missing, err)
	}
}

// A seed two folders hold with different results (a retried shard on
// real hosts) is said, and the same one is kept whatever the folders'
// order: results.json is the same either way.
func TestMergeConflictingSeedKeptWhateverTheOrder(t *testing.T) {
	a := filepath.Join(t.TempDir(), "a")
	code, out, errOut := lblab(t, "run", "vrrp-failover", "--seeds", "3", "--out", a)
	wantExit(t, code, 0, out, errOut)
	b := t.TempDir()
	for _, f := range []string{"results.json", "seeds.jsonl"} {
		x, _ := os.ReadFile(filepath.Join(a, f))
		if f == "seeds.jsonl" {
			lines := strings.SplitAfter(string(x), "\n")
			// Seed 2 took over at another time (a real run's figures).
			lines[2] = regexp.MustCompile(`"failover_s":[0-9.]+`).ReplaceAllString(lines[2], `"failover_s":3.5`)
			x = []byte(strings.Join(lines, ""))
		}
		os.WriteFile(filepath.Join(b, f), x, 0o644)
	}
	var first []byte
	for _, dirs := range [][]string{{a, b}, {b, a}} {
		m := filepath.Join(t.TempDir(), "m")
		code, out, errOut := lblab(t, append([]string{"merge", "-o", m}, dirs...)...)
		wantExit(t, code, 0, out, errOut)
		if !strings.Contains(out, "2 seeds came twice with the same results") || !strings.Contains(out, "seed 2 came with different results") {
			t.Errorf("merge %v does not tell the duplicates from the conflict:\n%s", dirs, out)
		}
		got, _ := os.ReadFile(filepath.Join(m, "results.json"))
		if first == nil {
			first = got
		} else if !bytes.Equal(got, first) {
			t.Errorf("merge %v keeps another seed 2 than merge %v", dirs, [][]string{{a, b}}[0])
		}
	}
}

// Folders merge refuses, each named: a results.json missing or garbled,
// a folder without seeds.jsonl or with a garbled line, a single run's
// folder, the folders of two labs.
func TestMergeRefusesHostileFolders(t *testing.T) {
	good := filepath.Join(t.TempDir(), "good")
	code, out, errOut := lblab(t, "run", "vrrp-failover", "--seeds", "3", "--out", good)
	wantExit(t, code, 0, out, errOut)
	other := filepath.Join(t.TempDir(), "other")
	code, out, errOut = lblab(t, "run", "vrrp-preempt", "--seeds", "2", "--out", other)
	if code > 1 {
		wantExit(t, code, 0, out, errOut)
	}
	single := filepath.Join(t.TempDir(), "single")
	code, out, errOut = lblab(t, "run", "vrrp-failover", "--out", single)
	wantExit(t, code, 0, out, errOut)
	copyOf := func(edit func(dir string)) string {
		dir := t.TempDir()
		for _, f := range []string{"results.json", "seeds.jsonl"} {
			b, _ := os.ReadFile(filepath.Join(good, f))
			os.WriteFile(filepath.Join(dir, f), b, 0o644)
		}
		edit(dir)
		return dir
	}
	noResults := copyOf(func(d string) { os.Remove(filepath.Join(d, "results.json")) })
	garbage := copyOf(func(d string) { os.WriteFile(filepath.Join(d, "results.json"), []byte("{\x00nope"), 0o644) })
	noSeeds := copyOf(func(d string) { os.Remove(filepath.Join(d, "seeds.jsonl")) })
	badLine := copyOf(func(d string) {
		b, _ := os.ReadFile(filepath.Join(d, "seeds.jsonl"))
		os.WriteFile(filepath.Join(d, "seeds.jsonl"), append(b, "{\"seed\": \"x\"}\n"...), 0o644)
	})
	for _, c := range []struct {
		dirs []string
		want string
	}{
		{[]string{good, noResults}, filepath.Join(noResults, "results.json")},
		{[]string{garbage}, filepath.Join(garbage, "results.json") + ": not a results.json"},
		{[]string{noSeeds}, filepath.Join(noSeeds, "seeds.jsonl")},
		{[]string{badLine}, filepath.Join(badLine, "seeds.jsonl") + ":5: not a seed's record"},
		{[]string{single}, filepath.Join(single, "results.json") + ": the results of one run"},
		{[]string{good, other}, "one sweep's folders only"},
	} {
		code, out, errOut := lblab(t, append([]string{"merge", "-o", filepath.Join(t.TempDir(), "m")}, c.dirs...)...)
		wantExit(t, code, 2, out, errOut)
		if !strings.Contains(errOut, c.want) {
			t.Errorf("merge %v: %q lacks %q", c.dirs, errOut, c.want)
		}
	}
}
