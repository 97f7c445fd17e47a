package dockerbed

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// needEngine skips the test in one line without a Docker engine; with
// CI=true that is a failure.
func needEngine(t *testing.T) {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but the docker tests cannot run: %v", err)
		}
		t.Skipf("docker test skipped: %v", err)
	}
}

// buildStatic builds a small static program that prints text, so that
// its hash is the test's own.
func buildStatic(t *testing.T, text string, cgo bool) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	prog := fmt.Sprintf("package main\n\nimport (\"fmt\"; \"os/user\")\n\nfunc main() { _, _ = user.Current(); fmt.Println(%q) }\n", text)
	if err := os.WriteFile(src, []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "prog")
	cmd := exec.Command("go", "build", "-o", bin, src)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GO111MODULE=off")
	if cgo {
		cmd.Env = append(cmd.Env, "CGO_ENABLED=1")
	} else {
		cmd.Env = append(cmd.Env, "CGO_ENABLED=0")
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestImageBuiltOncePerBinary: the first Image of a binary builds the
// FROM scratch image, labelled with the binary's hash and the bed's run;
// the second finds it by its tag and builds nothing; a dynamically
// linked binary is refused, naming the way to a static one.
func TestImageBuiltOncePerBinary(t *testing.T) {
	needEngine(t)
	bin := buildStatic(t, fmt.Sprintf("lblab dockerbed test %d", time.Now().UnixNano()), false)
	ctx := context.Background()
	b, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Cleanup() })
	first, err := b.Image(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.RemoveImage(context.Background(), first.Ref) })
	second, err := b.Image(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image %s: built in %v, found again in %v", first.Ref, first.Took, second.Took)
	if !first.Built || second.Built || second.Ref != first.Ref {
		t.Fatalf("first %+v, second %+v: want built once, then found", first, second)
	}
	in, err := b.cli.ImageInspect(ctx, first.Ref)
	if err != nil {
		t.Fatal(err)
	}
	labels := in.Config.Labels
	if labels[LabelHash] != first.Hash || labels[LabelRun] != b.Run() || labels[LabelPID] != fmt.Sprint(os.Getpid()) {
		t.Errorf("image labels %v: want %s=%s, %s=%s, %s=%d", labels, LabelHash, first.Hash, LabelRun, b.Run(), LabelPID, os.Getpid())
	}
	if !strings.HasPrefix(first.Hash, strings.TrimPrefix(first.Ref, ImageRepo+":")) {
		t.Errorf("tag of %s is not the start of hash %s", first.Ref, first.Hash)
	}

	dyn := buildStatic(t, "dynamic", true)
	if ok, _ := Static(dyn); ok {
		t.Skip("this machine's cgo build of os/user is static: no dynamic binary to refuse")
	}
	if _, err := b.Image(ctx, dyn); err == nil || !strings.Contains(err.Error(), "CGO_ENABLED=0") {
		t.Errorf("dynamic binary: error %v, want one naming CGO_ENABLED=0", err)
	}
}
