package scenarios_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The lab format (its types, reading, validation and theory), the runner
// and the checks import no driver: only the worlds do (world.go, the
// simulator; netns.go, network namespaces). A lab's backends: and
// clients: are loadgen/workload types, read the same by every world.
func TestOnlyWorldsImportDrivers(t *testing.T) {
	const mod = "github.com/lblab/lblab/"
	drivers := []string{"sim", "proxy/simproxy", "proxy/server", "loadgen", "loadgen/simload", "loadgen/backend",
		"vrrpsim/simdriver", "vrrpsim/linux", "testbed/netns"}
	worlds := map[string]bool{"world.go": true, "netns.go": true}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") || worlds[name] {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			for _, d := range drivers {
				if path == mod+d {
					t.Errorf("%s imports the driver %s", name, path)
				}
			}
		}
	}
	if checked < 10 {
		t.Fatalf("checked %d files; the test runs in the wrong folder", checked)
	}
}
