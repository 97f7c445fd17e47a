package nginxconf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzImport checks that Import never panics, that a success is a
// consistent load balancer (every group a listener or rule names exists,
// names are unique, groups have servers), and that a failure is Errors with
// lines inside the input, sorted.
func FuzzImport(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.conf"))
	for _, p := range files {
		src, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	for _, c := range errorCases {
		f.Add([]byte(c.src))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, warns, err := Import("fuzz.conf", src)
		lines := strings.Count(string(src), "\n") + 1
		for _, w := range warns {
			if w.Line < 0 || w.Line > lines {
				t.Fatalf("warning %q outside the input (%d lines)", w, lines)
			}
		}
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %T %v is not a non-empty Errors", err, err)
			}
			if cfg != nil {
				t.Fatalf("config returned with errors")
			}
			for i, e := range es {
				if e.Line < 0 || e.Line > lines || e.Msg == "" {
					t.Fatalf("error %q outside the input (%d lines)", e, lines)
				}
				if i > 0 && es[i-1].Line > e.Line {
					t.Fatalf("errors not sorted: %v", err)
				}
			}
			return
		}
		if msg := consistency(cfg); msg != "" {
			t.Fatalf("inconsistent config: %s\n%+v", msg, cfg)
		}
	})
}
