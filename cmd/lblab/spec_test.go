package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --spec reads a lab's clients: or backends: element with the lab's own
// strict decoding: an unknown field, a value a lab refuses, a flag the
// spec gives, or an ambiguous file exit 2 with the file, line, column and
// field.
func TestSpecFilesRefused(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	typo := write("typo.yaml", "clients:\n  - rate: 10\n    arrval: poisson\n")
	zero := write("zero.yaml", "clients:\n  - mode: closed\n    users: 0\n")
	two := write("two.yaml", "clients:\n  - name: a\n  - name: b\n")
	hasty := write("hasty.yaml", "clients:\n  - name: a\n    timeout: 0s\n")
	bq := write("bq.yaml", "backends:\n  - address: 127.0.0.1:1\n    concurrency: -1\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"load", "--spec", typo, "http://127.0.0.1:1/"}, "typo.yaml:3:5: clients[0].arrval: unknown field"},
		{[]string{"load", "--spec", zero, "http://127.0.0.1:1/"}, "zero.yaml:3:12: clients[0].users: want at least 1 user"},
		{[]string{"load", "--spec", two, "http://127.0.0.1:1/"}, "two.yaml:2:3: clients: 2 elements (a, b): say which one"},
		{[]string{"load", "--spec", two, "--pick", "c", "http://127.0.0.1:1/"}, `no element "c" (there are a, b)`},
		{[]string{"load", "--spec", typo, "--rate", "5", "http://127.0.0.1:1/"}, "--rate: the clients' spec (--spec) gives it"},
		{[]string{"load", "--spec", typo, "--timeout", "2s", "http://127.0.0.1:1/"}, "--timeout: the clients' spec (--spec) gives it"},
		{[]string{"load", "--spec", hasty, "http://127.0.0.1:1/"}, "hasty.yaml:3:14: clients[0].timeout: a client's timeout must be more than 0, got 0s (leave it out for 10s)"},
		{[]string{"load", "--seed", "5", "http://127.0.0.1:1/"}, "--pick and --seed go with --spec"},
		{[]string{"backend", "--spec", bq}, "bq.yaml:2:12: backends[0]: concurrency and queue must not be negative"},
		{[]string{"backend", "--spec", bq, "--latency", "5ms"}, "--latency: the backend's spec (--spec) gives it"},
	} {
		code, stdout, stderr := lblab(t, tc.args...)
		wantExit(t, code, 2, stdout, stderr)
		if !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: %s\nwant %q", tc.args, stderr, tc.want)
		}
	}
}
