package nginxconf

import (
	"github.com/lblab/lblab/i18n"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/lblab/lblab/units"
)

// Options says how ImportWith reads a configuration's include directives.
type Options struct {
	// Dir is the directory a relative include path is read from: nginx's
	// configuration prefix, the directory of the file given with -c.
	// Empty: the text has no directory (a lab's embedded text), and an
	// include is an error.
	Dir string
}

// The messages of an include nginx refuses, or that lblab cannot follow.
const (
	msgIncludeNoDir    = "include %s: this text has no folder to read included files from (a lab's nginx text): paste the included text in place (lblab validate, lblab proxy --config and lblab balance --nginx read the includes of an nginx.conf)"
	msgIncludeOpen     = "include: open() %q failed (%v)"
	msgIncludePattern  = "include: pattern %q failed (%v)"
	msgIncludeLoop     = "include %s: include loop (%s)"
	msgIncludeTooDeep  = "include %s: includes are nested more than %d deep"
	msgIncludeTooMany  = "include %s: more than %d files are included"
	msgIncludeTooLarge = "include %s: the included files are larger than %d bytes together"
)

// source is one file read: its name and text.
type source struct {
	name string
	src  []byte
}

// includer expands include directives the way ngx_conf_include does: a
// relative path is read from the prefix (Options.Dir); a path with *, ?
// or [ is a glob pattern whose matches are read in sorted order, and
// that may match nothing; a path without is a file that must exist. The
// included directives take the include's place, in its block.
type includer struct {
	im    *importer
	dir   string
	files []source // files[0] is the main text
	bytes int
}

// expand replaces the include directives of nodes (at any depth) by the
// directives of the files they name. chain holds the files being read,
// outermost first.
func (in *includer) expand(nodes []*node, chain []string) []*node {
	out := nodes[:0:0]
	for _, n := range nodes {
		if n.name != "include" || n.isBlock || len(n.args) != 1 {
			if n.isBlock {
				n.block = in.expand(n.block, chain)
			}
			out = append(out, n)
			continue
		}
		out = append(out, in.include(n, chain)...)
	}
	return out
}

// include reads the files of one include directive.
func (in *includer) include(n *node, chain []string) []*node {
	im := in.im
	pattern := n.args[0]
	if in.dir == "" {
		im.errorf(n.line, msgIncludeNoDir, pattern)
		return nil
	}
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(in.dir, pattern)
	}
	var paths []string
	if strings.ContainsAny(n.args[0], "*?[") {
		matches, err := filepath.Glob(pattern)
		if err != nil {
			im.errorf(n.line, msgIncludePattern, pattern, err)
			return nil
		}
		for _, m := range matches {
			// glob(3) skips a name that starts with a dot unless the
			// pattern says the dot.
			if strings.HasPrefix(filepath.Base(m), ".") && !strings.HasPrefix(filepath.Base(pattern), ".") {
				continue
			}
			paths = append(paths, m)
		}
		sort.Strings(paths)
	} else {
		paths = []string{pattern}
	}
	var out []*node
	for _, p := range paths {
		if len(chain) >= units.MaxIncludeDepth {
			im.errorf(n.line, msgIncludeTooDeep, p, units.MaxIncludeDepth)
			return out
		}
		for _, c := range chain {
			if c == p {
				im.errorf(n.line, msgIncludeLoop, p, strings.Join(append(append([]string{}, chain...), p), " → "))
				return out
			}
		}
		if len(in.files) >= units.MaxIncludeFiles {
			im.errorf(n.line, msgIncludeTooMany, p, units.MaxIncludeFiles)
			return out
		}
		src, err := readBounded(p, units.MaxIncludeBytes-in.bytes)
		if err != nil {
			if err == errTooLarge {
				im.errorf(n.line, msgIncludeTooLarge, p, units.MaxIncludeBytes)
			} else {
				im.errorf(n.line, msgIncludeOpen, p, unwrapPathError(err))
			}
			return out
		}
		in.bytes += len(src)
		idx := len(in.files)
		in.files = append(in.files, source{p, src})
		nodes, serr := parse(src)
		if serr != nil {
			im.errorf(units.Place(idx, serr.line), "%s", serr.msg)
			continue
		}
		shift(nodes, idx)
		out = append(out, in.expand(nodes, append(chain, p))...)
	}
	return out
}

// shift moves the lines of nodes into file idx's range.
func shift(nodes []*node, idx int) {
	for _, n := range nodes {
		n.line = units.Place(idx, n.line)
		shift(n.block, idx)
	}
}

var errTooLarge = i18n.Errorf("too large")

// readBounded reads a regular file of at most max bytes.
func readBounded(path string, max int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "open", Path: path, Err: i18n.Errorf("not a regular file")}
	}
	if st.Size() > int64(max) {
		return nil, errTooLarge
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil {
		return nil, err
	}
	return b, nil
}

// unwrapPathError drops the path and operation of a *fs.PathError (the
// message names them already).
func unwrapPathError(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

// placeOf returns the file and line a node's line stands for.
func (in *includer) placeOf(line int) (string, int) {
	idx, l := units.Unplace(line)
	if in == nil || idx <= 0 || idx >= len(in.files) {
		return "", line
	}
	return in.files[idx].name, l
}
