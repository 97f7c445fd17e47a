package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// deadEngine is a DOCKER_HOST where nothing listens (port 1 of
// loopback): no engine answers there.
const deadEngine = "tcp://127.0.0.1:1"

// TestDeadDockerHost: with DOCKER_HOST naming an engine that does not
// answer, lblab worlds says the docker world is not available because
// that engine (DOCKER_HOST's value named) does not answer, and lblab run
// --mode docker refuses with the same words and uses no other engine
// (testcontainers-go would fall back to the local socket): the run wrote
// no results. Each command runs in a process of
// its own, a static lblab (testcontainers-go keeps the engine it chose
// for the life of a process). Needs no Docker engine.
func TestDeadDockerHost(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "lblab")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	want := "DOCKER_HOST=" + deadEngine + ": that Docker engine does not answer"
	// A refused connection to loopback: the engine checks (5 s each at
	// most) and the lab's loading, well under 30 s.
	lblabAt := func(args ...string) (cmd *exec.Cmd, out []byte, err error) {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		cmd = exec.CommandContext(ctx, bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "DOCKER_HOST="+deadEngine, "LANG=C", "LC_ALL=", "LC_MESSAGES=")
		out, err = cmd.CombinedOutput()
		return cmd, out, err
	}

	_, out, err := lblabAt("worlds")
	if err != nil {
		t.Fatalf("lblab worlds: %v\n%s", err, out)
	}
	var docker string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "docker ") {
			docker = line
		}
	}
	if !strings.Contains(docker, "(not available here: "+want) {
		t.Errorf("lblab worlds with DOCKER_HOST=%s says of docker:\n%s\nwant %q", deadEngine, docker, want)
	}

	cmd, out, err := lblabAt("run", "vrrp-failover", "--mode", "docker", "--out", filepath.Join(dir, "run"))
	if err == nil || cmd.ProcessState == nil || cmd.ProcessState.ExitCode() < 1 {
		t.Errorf("lblab run --mode docker with DOCKER_HOST=%s: %v, want an exit status 1 or more\n%s", deadEngine, err, out)
	}
	if !strings.Contains(string(out), want) {
		t.Errorf("lblab run --mode docker with DOCKER_HOST=%s says\n%s\nwant %q", deadEngine, out, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "run", "results.json")); err == nil {
		t.Errorf("lblab run --mode docker with DOCKER_HOST=%s ran the lab on another engine: %s holds results.json", deadEngine, filepath.Join(dir, "run"))
	} else if _, err := os.Stat(filepath.Join(dir, "run")); err == nil {
		t.Errorf("lblab run --mode docker with DOCKER_HOST=%s refused the run but made its output folder %s", deadEngine, filepath.Join(dir, "run"))
	}
}
