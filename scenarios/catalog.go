package scenarios

import (
	"embed"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/scenarios/labfile"
)

//go:embed labs/*.yaml
var catalogFS embed.FS

// Entry is one lab of the embedded catalog.
type Entry struct {
	// Name is the lab's name (and its file name without .yaml).
	Name string
	// Title is the lab's title.
	Title string
}

// Catalog lists the embedded labs in name order.
func Catalog() ([]Entry, error) {
	files, err := fs.Glob(catalogFS, "labs/*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []Entry
	for _, f := range files {
		lab, err := loadEmbedded(f, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, Entry{Name: lab.Name, Title: lab.Title})
	}
	return out, nil
}

// CatalogSource returns the YAML text of a catalog lab.
func CatalogSource(name string) ([]byte, error) {
	return catalogFS.ReadFile("labs/" + name + ".yaml")
}

func loadEmbedded(file string, sets []string) (*labfile.Lab, error) {
	src, err := catalogFS.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return labfile.ParseWith(file, src, sets, func(rel string) (string, []byte, error) {
		p := path.Join(path.Dir(file), rel)
		b, err := catalogFS.ReadFile(p)
		return p, b, err
	})
}

// Load reads a lab by catalog name or by file path, applies the --set
// overrides and validates it.
func Load(nameOrPath string, sets []string) (*labfile.Lab, error) {
	if _, err := os.Stat(nameOrPath); err == nil {
		return labfile.LoadFile(nameOrPath, sets)
	}
	if !strings.ContainsAny(nameOrPath, "/\\") && !strings.HasSuffix(nameOrPath, ".yaml") {
		file := path.Join("labs", nameOrPath+".yaml")
		if _, err := fs.Stat(catalogFS, file); err == nil {
			return loadEmbedded(file, sets)
		}
	}
	return nil, &labfile.InputError{Err: i18n.Errorf("no lab %q: not a file, and not a name in the catalog (see lblab list)", nameOrPath)}
}
