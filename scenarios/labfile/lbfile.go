package labfile

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/goccy/go-yaml/ast"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/proxy"
)

// NginxImporter imports an nginx configuration's text; name is its file,
// for errors.
type NginxImporter func(name string, src []byte) (*proxy.Config, error)

// LoadLB reads the load balancer at path, as lblab proxy --config takes
// it, in one of three forms told apart by their content: the YAML of a lab
// file's lb section (listeners, groups), a whole lab file (its lb section,
// or its nginx field: the text, or a file beside the lab), or an nginx
// configuration, given to importNginx (a file whose first line that is not
// blank nor a comment does not start a YAML mapping). The YAML is read
// within the limits of a lab file (MaxFileSize, MaxTokens, MaxDepth,
// MaxKeys, MaxNodes) and validated; every error is BadInput and names the
// file, and the line and field where there is one.
func LoadLB(path string, importNginx NginxImporter) (*proxy.Config, error) {
	return LoadLBDiscovery(path, importNginx, "")
}

// LoadLBDiscovery is LoadLB with discovery (proxy.Config.Discovery, e.g.
// lblab proxy --docker's "docker") set on a YAML load balancer before it
// is validated, so that its groups may list no server; "" keeps the
// file's.
func LoadLBDiscovery(path string, importNginx NginxImporter, discovery string) (*proxy.Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &InputError{err}
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, &InputError{err}
	}
	if !looksLikeYAML(src) {
		// An nginx configuration, however large: the importer bounds it.
		rest, err := io.ReadAll(f)
		if err != nil {
			return nil, &InputError{err}
		}
		if src = append(src, rest...); bytes.ContainsAny(src, "{;") {
			return importNginx(path, src)
		}
		return nil, &InputError{i18n.Errorf("%s: neither a load balancer (listeners, groups), a lab file nor an nginx configuration", path)}
	}
	if len(src) > MaxFileSize {
		return nil, Errors{tooLarge(path)}
	}
	file, err := parseYAML(path, src)
	if e, ok := err.(*Error); ok {
		return nil, Errors{e}
	} else if err != nil {
		return nil, Errors{lookalikeLine(yamlError(path, nil, err), src)}
	}
	var top *ast.MappingNode
	if len(file.Docs) == 1 {
		top, _ = file.Docs[0].Body.(*ast.MappingNode)
	}
	keys := map[string]ast.Node{}
	if top != nil {
		for _, kv := range top.Values {
			keys[kv.Key.GetToken().Value] = kv.Value
		}
	}
	switch {
	case keys["listeners"] != nil || keys["groups"] != nil:
		return decodeLB(path, file, file.Docs[0].Body, "", discovery)
	case keys["lb"] != nil:
		// A lab file: only its lb section matters here (the rest, backends
		// and clients, is for the simulator).
		return decodeLB(path, file, keys["lb"], "lb.", discovery)
	case keys["nginx"] != nil:
		var text string
		if err := decodeNode(keys["nginx"], &text); err != nil {
			return nil, Errors{decodeError(path, file, err)}
		}
		if strings.Contains(text, "{") {
			return importNginx(path, []byte(text))
		}
		name := text
		if !filepath.IsAbs(name) {
			name = filepath.Join(filepath.Dir(path), text)
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, &InputError{i18n.Errorf("%s: nginx: %w", path, err)}
		}
		return importNginx(name, b)
	case bytes.ContainsAny(src, "{;"):
		return importNginx(path, src)
	}
	return nil, &InputError{i18n.Errorf("%s: neither a load balancer (listeners, groups), a lab file nor an nginx configuration", path)}
}

// yamlKey is the start of a YAML mapping's first key (or a document
// start); an nginx configuration starts with a directive instead.
var yamlKey = regexp.MustCompile(`^(---|[A-Za-z_][A-Za-z0-9_-]*:(\s|$))`)

// StartsYAMLMapping reports whether line (trimmed, not a comment) starts a
// YAML mapping's first key or a document: how lblab tells a lab or lb
// file from an nginx.conf or a keepalived.conf by its first line.
func StartsYAMLMapping(line string) bool { return yamlKey.MatchString(line) }

// looksLikeYAML reports whether the first line of src that is neither
// blank nor a comment starts a YAML mapping, so that an nginx
// configuration (however large) is not read as YAML first.
func looksLikeYAML(src []byte) bool {
	for len(src) > 0 {
		line, rest, _ := bytes.Cut(src, []byte("\n"))
		src = rest
		t := bytes.TrimSpace(line)
		if len(t) == 0 || t[0] == '#' {
			continue
		}
		return yamlKey.Match(t)
	}
	return false
}

// decodeLB decodes and validates the load balancer at node; prefix is its
// field path in the file ("lb." in a lab file).
func decodeLB(path string, file *ast.File, node ast.Node, prefix, discovery string) (*proxy.Config, error) {
	var cfg proxy.Config
	if err := decodeNode(node, &cfg); err != nil {
		return nil, Errors{decodeError(path, file, err)}
	}
	if discovery != "" {
		cfg.Discovery = discovery
	}
	v := &validator{written: writtenPaths(node, strings.TrimSuffix(prefix, "."))}
	v.finite(prefix, &cfg)
	lbExplicit(v, prefix, &cfg)
	for _, pr := range proxy.Validate(&cfg) {
		v.bad(prefix+pr.Path, "%s", pr.Text)
	}
	if len(v.problems) == 0 {
		return &cfg, nil
	}
	return nil, placed(path, &places{file: file}, v.problems, nil)
}

// decodeError names the file of an error of decodeNode.
func decodeError(path string, file *ast.File, err error) *Error {
	if e, ok := err.(*Error); ok {
		e.File = path
		return e
	}
	if ne, ok := err.(*numberError); ok {
		pos := ne.tk.Position
		e := errorAt(path, pos.Line, pos.Column, "", ne.msg)
		if file != nil {
			e.Field = pathOf(file.Docs[0].Body, "", ne.tk)
		}
		return e
	}
	return yamlError(path, file, err)
}

// placed turns problems into Errors with their lines, in line order, at
// most maxErrors of them and a count of the rest.
func placed(name string, at *places, problems []problem, setPaths []string) Errors {
	var errs Errors
	for _, p := range problems {
		e := errorAt(name, 0, 0, p.path, p.text)
		if node := at.find(p.path); node != nil {
			tk := node.GetToken()
			e.Line, e.Column = tk.Position.Line, tk.Position.Column
		}
		relocateSet(e, setPaths)
		errs = append(errs, e)
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
	if len(errs) > maxErrors {
		more := len(errs) - maxErrors
		errs = append(errs[:maxErrors], errorAt(name, 0, 0, "", i18n.T("and %d more problems", more)))
	}
	return errs
}
