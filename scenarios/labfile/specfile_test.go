package labfile

import (
	"os"
	"path/filepath"
	"testing"
)

// A clients: element without a name gets the simulator's name of it,
// clients<index>, however it is picked: its draws in lblab load are the
// simulator's stream of that name (loadgen.Draws). A named one keeps its
// name.
func TestLoadClientsNamesAsTheSimulator(t *testing.T) {
	two := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(two, []byte("clients:\n  - {name: web, rate: 10}\n  - {rate: 20}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	one := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(one, []byte("clients:\n  - {rate: 30}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, pick, want string }{
		{two, "1", "clients1"}, {two, "clients1", "clients1"}, {two, "0", "web"}, {two, "web", "web"}, {one, "", "clients0"},
	} {
		c, err := LoadClients(tc.path, tc.pick)
		if err != nil {
			t.Fatalf("pick %q: %v", tc.pick, err)
		}
		if c.Name != tc.want {
			t.Errorf("pick %q: name %q, want %q", tc.pick, c.Name, tc.want)
		}
	}
}
