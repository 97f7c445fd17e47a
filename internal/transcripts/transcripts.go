// Package transcripts runs the transcript tests of lblab's cores, as
// etcd-io/raft's rafttest does: a file of scripted inputs, each followed
// by the core's outputs, is played again and compared with itself, so a
// change of behaviour is a readable diff. The request-flow core
// (proxy/flow) and the VRRP executor (vrrpsim) each have their own
// command language; this package holds what they share: the files, the
// -update flag and the diff.
package transcripts

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// update is the test binary's -update flag: rewrite the transcripts with
// the outputs of this run instead of comparing them.
var update = flag.Bool("update", false, "rewrite the transcripts with the outputs of this run")

// Run plays every file matching glob (a subtest per file, named for the
// file without .txt) with play, which returns the file's text with each
// step's output replaced by what the core did. It fails when the result
// differs from the file, naming rerun (the command that rewrites them),
// or, with -update, writes the result into the file. It fails when glob
// matches nothing.
func Run(t *testing.T, glob, rerun string, play func(t *testing.T, name, src string) string) {
	t.Helper()
	files, err := filepath.Glob(glob)
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts match %s (%v)", glob, err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got := play(t, file, string(data))
			if *update {
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != string(data) {
				t.Errorf("%s: the core's outputs differ (%s rewrites them):\n%s", file, rerun, Diff(string(data), got))
			}
		})
	}
}

// Diff lists the lines where got differs from want, one "line N: - want
// + got" entry each.
func Diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n- %s\n+ %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}
