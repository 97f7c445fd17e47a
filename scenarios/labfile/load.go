package labfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/proxy/nginxconf"
	"github.com/lblab/lblab/units"
	"github.com/lblab/lblab/vrrpsim/keepalived"
)

// LoadFile reads and validates the lab file at path, after applying the
// --set overrides (PATH=VALUE).
func LoadFile(path string, sets []string) (*Lab, error) {
	src, err := ReadFile(path)
	if err != nil {
		if _, ok := err.(Errors); ok {
			return nil, err
		}
		return nil, &InputError{i18n.Errorf("lab %s: %w", path, err)}
	}
	return Parse(path, src, sets)
}

// ReadBeside reads a file named by a lab (an nginx:, keepalived: or lb:
// file) relative to the lab's own folder, and returns the path it read
// (for messages) and the bytes.
type ReadBeside func(rel string) (path string, data []byte, err error)

func diskBeside(labPath string) ReadBeside {
	return func(rel string) (string, []byte, error) {
		p := rel
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(labPath), rel)
		}
		b, err := os.ReadFile(p)
		return p, b, err
	}
}

// maxErrors is how many problems of one file are listed; the rest are
// counted.
const maxErrors = 50

// Parse reads and validates a lab from src; name is used in errors. Each
// of sets is PATH=VALUE: PATH is a field path as errors print it
// (vrrp.vrrp_instance[1].priority, faults[0].at) and VALUE is YAML. Every
// problem is reported with its file, line, column and field.
func Parse(name string, src []byte, sets []string) (*Lab, error) {
	return ParseWith(name, src, sets, diskBeside(name))
}

// ParseWith is Parse with the files the lab names (nginx:, keepalived:,
// lb:) read by beside instead of from the folder of name: the catalog
// reads them from its embedded files.
func ParseWith(name string, src []byte, sets []string, beside ReadBeside) (*Lab, error) {
	file, err := parseYAML(name, src)
	if e, ok := err.(*Error); ok {
		return nil, Errors{e}
	} else if err != nil {
		return nil, Errors{lookalikeLine(yamlError(name, nil, err), src)}
	}
	if len(file.Docs) != 1 || file.Docs[0].Body == nil {
		return nil, Errors{errorAt(name, 0, 0, "", i18n.T("want exactly one YAML document holding a lab"))}
	}
	setPaths, err := applySets(file, sets)
	if err != nil {
		return nil, Errors{errorAt(name, 0, 0, "", i18n.T("%v", err))}
	}
	var lab Lab
	if err := decodeNode(file.Docs[0].Body, &lab); err != nil {
		e := decodeError(name, file, err)
		relocateSet(e, setPaths)
		return nil, Errors{e}
	}
	lab.written = writtenPaths(file.Docs[0].Body, "")
	at := &places{file: file}
	if lab.Nginx != "" && lab.LB == nil {
		if errs := importNginx(name, at, &lab, beside); len(errs) > 0 {
			return nil, errs
		}
	}
	if lab.VRRP != nil && len(lab.VRRP.Keepalived) > 0 {
		if errs := importKeepalived(name, at, &lab); len(errs) > 0 {
			return nil, errs
		}
	}
	if problems := validate(&lab); len(problems) > 0 {
		return nil, placed(name, at, problems, setPaths)
	}
	return &lab, nil
}

// importNginx fills lab.LB from the lab's nginx field: inline text (it
// holds a brace) or a file beside the lab. Errors in inline text point at
// the lab's lines.
func importNginx(name string, at *places, lab *Lab, beside ReadBeside) Errors {
	text, src := lab.Nginx, name
	inline := strings.Contains(text, "{")
	if !inline {
		path, b, err := beside(text)
		if err != nil {
			return Errors{errorAt(name, 0, 0, "nginx", i18n.T("cannot read the nginx configuration: %v", err))}
		}
		text, src = string(b), path
	}
	cfg, warns, err := nginxconf.Import(src, []byte(text))
	base, fieldLine, fieldCol := 0, 0, 0
	if node := at.find("nginx"); node != nil {
		fieldLine, fieldCol = node.GetToken().Position.Line, node.GetToken().Position.Column
		if inline {
			base = fieldLine
		}
	}
	if err == nil {
		lab.LB, lab.imported = cfg, true
		if inline {
			lab.warnings = append(lab.warnings, nginxWarnings(name, base, fieldLine, fieldCol, i18n.T("the nginx text"), warns)...)
		} else {
			lab.warnings = append(lab.warnings, nginxWarnings(name, -1, fieldLine, fieldCol, i18n.T("%s", src), warns)...)
		}
		return nil
	}
	var nes nginxconf.Errors
	if !errors.As(err, &nes) {
		return Errors{errorAt(name, 0, 0, "nginx", i18n.T("%v", err))}
	}
	var out Errors
	for _, ne := range nes {
		e := errorAt(ne.File, ne.Line, 0, "", ne.Message())
		if inline {
			e.File, e.Field = name, "nginx"
			if ne.Line > 0 {
				e.Line, e.Column = base+ne.Line, 1
				e.say(i18n.T("%s (line %d of the nginx text)", ne.Message(), ne.Line))
			}
		}
		out = append(out, e)
	}
	return out
}

// scriptDiff returns the first keyword of a vrrp_script whose setting
// differs between a and b, and the two settings; "" when they agree.
func scriptDiff(a, b Script) (kw, av, bv string) {
	for _, f := range [...]struct{ kw, a, b string }{
		{"script", strconv.Quote(a.Script), strconv.Quote(b.Script)},
		{"interval", a.Interval.D.String(), b.Interval.D.String()},
		{"timeout", a.Timeout.D.String(), b.Timeout.D.String()},
		{"weight", strconv.Itoa(a.Weight), strconv.Itoa(b.Weight)},
		{"fall", strconv.Itoa(a.Fall), strconv.Itoa(b.Fall)},
		{"rise", strconv.Itoa(a.Rise), strconv.Itoa(b.Rise)},
		{"init_fail", strconv.FormatBool(a.InitFail), strconv.FormatBool(b.InitFail)},
	} {
		if f.a != f.b {
			return f.kw, f.a, f.b
		}
	}
	return "", "", ""
}

// importKeepalived turns each host's keepalived.conf text into the lab's
// scripts and instances. Errors point at the lab's lines.
func importKeepalived(name string, at *places, lab *Lab) Errors {
	var out Errors
	hosts := make([]string, 0, len(lab.VRRP.Keepalived))
	for h := range lab.VRRP.Keepalived {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	if lab.VRRP.Scripts == nil {
		lab.VRRP.Scripts = map[string]Script{}
	}
	garpFrom := ""
	scriptFrom := map[string]string{} // the host a script of the lab comes from
	for _, host := range hosts {
		field := "vrrp.keepalived." + host
		base := 0
		if node := at.find(field); node != nil {
			base = node.GetToken().Position.Line
		}
		conf, kws, err := keepalived.Parse(host, []byte(lab.VRRP.Keepalived[host]))
		lab.warnings = append(lab.warnings, keepalivedWarnings(name, field, host, base, kws)...)
		if err != nil {
			var kes keepalived.Errors
			if !errors.As(err, &kes) {
				out = append(out, errorAt(name, 0, 0, field, i18n.T("%v", err)))
				continue
			}
			for _, ke := range kes {
				e := errorAt(name, 0, 0, field, ke.Message())
				if ke.Line > 0 {
					e.Line, e.Column = base+ke.Line, 1
					e.say(i18n.T("%s (line %d of %s's keepalived.conf)", ke.Message(), ke.Line, host))
				}
				out = append(out, e)
			}
			continue
		}
		garp := VRRP{GARPMasterDelay: units.Of(conf.GARPMasterDelay), GARPMasterRepeat: conf.GARPMasterRepeat}
		if garpFrom == "" {
			garpFrom = host
			lab.VRRP.GARPMasterDelay, lab.VRRP.GARPMasterRepeat = garp.GARPMasterDelay, garp.GARPMasterRepeat
		} else if garp.GARPMasterDelay.D != lab.VRRP.GARPMasterDelay.D || garp.GARPMasterRepeat != lab.VRRP.GARPMasterRepeat {
			out = append(out, errorAt(name, base, 1, field,
				i18n.T("vrrp_garp_master_delay and vrrp_garp_master_repeat differ from %s's: a lab has one GARP setting for every host", garpFrom)))
		}
		for n, sc := range conf.Scripts {
			ls := Script{Script: sc.Command, Interval: units.Of(sc.Interval), Timeout: units.Of(sc.Timeout),
				Weight: sc.Weight, Fall: sc.Fall, Rise: sc.Rise, InitFail: sc.InitFail}
			if old, dup := lab.VRRP.Scripts[n]; dup {
				if kw, here, there := scriptDiff(ls, old); kw != "" {
					out = append(out, errorAt(name, base+sc.Line, 1, field,
						i18n.T("vrrp_script %s: %s is %s on %s and %s on %s: a lab runs one script of a name on every host", n, kw, here, host, there, scriptFrom[n])))
				}
				continue
			}
			lab.VRRP.Scripts[n], scriptFrom[n] = ls, host
		}
		for _, in := range conf.Instances {
			li := Instance{Name: in.Name, Host: host, Interface: in.Interface, State: in.State,
				VirtualRouterID: in.VRID, Priority: in.Priority, AdvertInt: units.Of(in.AdvertInt), Version: in.Version,
				NoPreempt: in.NoPreempt, PreemptDelay: units.Of(in.PreemptDelay)}
			if li.Version == 0 && conf.Version != 2 {
				// global_defs vrrp_version is the host's: keepalived drops
				// the adverts of another version, so each instance keeps
				// its own.
				li.Version = conf.Version
			}
			if in.AuthType != "" {
				li.Authentication = &Authentication{AuthType: in.AuthType, AuthPass: in.AuthPass}
			}
			for _, v := range in.VIPs {
				li.VirtualIPAddress = append(li.VirtualIPAddress, v.String())
			}
			for _, t := range in.TrackScripts {
				if t.Weight != nil {
					out = append(out, errorAt(name, base+t.Line, 1, field,
						i18n.T("track_script NAME weight N: a per-instance weight is not supported in labs; set it on the vrrp_script")))
				}
				li.TrackScript = append(li.TrackScript, t.Name)
			}
			for _, t := range in.TrackInterfaces {
				e := t.Name
				if t.Weight != 0 {
					e += " weight " + strconv.Itoa(t.Weight)
				}
				li.TrackInterface = append(li.TrackInterface, e)
			}
			li.DontTrackPrimary = in.DontTrackPrimary
			if in.UnicastSrc.IsValid() {
				li.UnicastSrcIP = in.UnicastSrc.String()
			}
			for _, a := range in.UnicastPeers {
				li.UnicastPeer = append(li.UnicastPeer, a.String())
			}
			li.CheckUnicastSrc = len(in.UnicastPeers) > 0 && (in.CheckUnicastSrc || conf.CheckUnicastSrc)
			li.setNotifyScripts(in.Notify)
			lab.VRRP.Instances = append(lab.VRRP.Instances, li)
		}
	}
	return out
}

// lookalikeLine adds to a YAML syntax error the hint of a character of
// its line that looks like an ASCII one (LookalikeHint): a full-width
// space after a colon makes "key:　5" one string, not a key and a value.
func lookalikeLine(e *Error, src []byte) *Error {
	if e.Line <= 0 {
		return e
	}
	lines := bytes.SplitN(src, []byte("\n"), e.Line+1)
	if len(lines) < e.Line {
		return e
	}
	if hint := units.Lookalike(string(lines[e.Line-1])); !hint.IsZero() {
		e.say(i18n.T("%s (%s)", e.Message(), hint))
	}
	return e
}

// yamlError turns a go-yaml error into an Error with its place and, when
// the file is known, the path of the field at that place.
func yamlError(name string, file *ast.File, err error) *Error {
	var ye yaml.Error
	if !errors.As(err, &ye) || ye.GetToken() == nil {
		return &Error{File: name, Msg: err.Error()}
	}
	tk := ye.GetToken()
	e := &Error{File: name, Line: tk.Position.Line, Column: tk.Position.Column, Msg: ye.GetMessage()}
	if file != nil {
		// Match the token itself first: nodes added by --set carry the
		// lines of their own one-line document, which may collide with the
		// file's.
		if e.Field = pathOf(file.Docs[0].Body, "", tk); e.Field == "" {
			e.Field = pathAt(file.Docs[0].Body, "", tk.Position.Line, tk.Position.Column)
		}
	}
	var unknown *yaml.UnknownFieldError
	if errors.As(err, &unknown) {
		field := strings.Trim(strings.TrimPrefix(unknown.Message, "unknown field "), `"`)
		e.say(i18n.T("unknown field %s", units.Quote(field)))
		names := knownFields()
		if e.Field != "" {
			names = fieldsAt(parentPath(e.Field))
		}
		if s := suggest(field, names); s != "" {
			e.say(i18n.T("unknown field %s (did you mean %q?)", units.Quote(field), s))
		}
	}
	var typeErr *yaml.TypeError
	if errors.As(err, &typeErr) {
		what := i18n.T("%s", units.Quote(tk.Value))
		if tk.Type == token.TagType && tk.Next != nil {
			// The library places the error at the tag: say the value too.
			what = i18n.T("%s %s", units.CutN(tk.Value, units.QuoteMax), units.Quote(tk.Next.Value))
		}
		if typeErr.SrcType != nil {
			switch typeErr.SrcType.Kind() {
			case reflect.Slice, reflect.Array:
				what = i18n.T("a list")
			case reflect.Map, reflect.Struct:
				what = i18n.T("a mapping")
			}
		}
		e.say(i18n.T("%s is not %s", what, kindWord(typeErr.DstType)))
	}
	return e
}

func kindWord(t reflect.Type) i18n.Text {
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint8, reflect.Uint64:
		return i18n.T("a whole number")
	case reflect.Float64, reflect.Float32:
		return i18n.T("a number")
	case reflect.Bool:
		return i18n.T("true or false")
	case reflect.String:
		return i18n.T("a string")
	case reflect.Slice:
		return i18n.T("a list")
	case reflect.Struct, reflect.Map:
		return i18n.T("a mapping")
	}
	return i18n.T("of type %s", t.String())
}

// pathOf returns the field path of the node whose token is tk, or "".
func pathOf(node ast.Node, prefix string, tk *token.Token) string {
	if node == nil {
		return ""
	}
	if node.GetToken() == tk {
		return prefix
	}
	switch n := node.(type) {
	case *ast.MappingNode:
		for _, v := range n.Values {
			if p := pathOf(v, prefix, tk); p != "" {
				return p
			}
		}
	case *ast.MappingValueNode:
		key := joinPath(prefix, n.Key.GetToken().Value)
		if n.Key.GetToken() == tk {
			return key
		}
		return pathOf(n.Value, key, tk)
	case *ast.SequenceNode:
		for i, v := range n.Values {
			if p := pathOf(v, prefix+"["+strconv.Itoa(i)+"]", tk); p != "" {
				return p
			}
		}
	case *ast.TagNode:
		return pathOf(n.Value, prefix, tk)
	case *ast.AnchorNode:
		return pathOf(n.Value, prefix, tk)
	}
	return ""
}

// pathAt returns the field path of the node at line:col, or "".
func pathAt(node ast.Node, prefix string, line, col int) string {
	if node == nil {
		return ""
	}
	if tk := node.GetToken(); tk != nil && tk.Position.Line == line && tk.Position.Column == col {
		return prefix
	}
	switch n := node.(type) {
	case *ast.MappingNode:
		for _, v := range n.Values {
			if p := pathAt(v, prefix, line, col); p != "" {
				return p
			}
		}
	case *ast.MappingValueNode:
		key := joinPath(prefix, n.Key.GetToken().Value)
		if tk := n.Key.GetToken(); tk.Position.Line == line && tk.Position.Column == col {
			return key
		}
		return pathAt(n.Value, key, line, col)
	case *ast.SequenceNode:
		for i, v := range n.Values {
			if p := pathAt(v, prefix+"["+strconv.Itoa(i)+"]", line, col); p != "" {
				return p
			}
		}
	case *ast.TagNode:
		return pathAt(n.Value, prefix, line, col)
	case *ast.AnchorNode:
		return pathAt(n.Value, prefix, line, col)
	}
	return ""
}

func joinPath(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// places finds the node at a field path of a parsed file. It indexes
// every path of the file in one walk, the first time it is asked, so that
// placing many problems costs one walk and not one each.
type places struct {
	file  *ast.File
	index map[string]ast.Node
}

// find returns the node at a field path, or at the nearest ancestor that
// exists (so a missing field points at its parent), or nil.
func (pl *places) find(field string) ast.Node {
	if pl.index == nil {
		pl.index = map[string]ast.Node{}
		if len(pl.file.Docs) > 0 {
			indexNodes(pl.index, pl.file.Docs[0].Body, "")
		}
	}
	for p := field; p != ""; p = parentPath(p) {
		if node := pl.index[p]; node != nil {
			return node
		}
	}
	return nil
}

// indexNodes records the value node of every field path under node.
func indexNodes(index map[string]ast.Node, node ast.Node, prefix string) {
	switch n := node.(type) {
	case *ast.MappingNode:
		for _, v := range n.Values {
			indexNodes(index, v, prefix)
		}
	case *ast.MappingValueNode:
		key := joinPath(prefix, n.Key.GetToken().Value)
		if _, dup := index[key]; !dup {
			index[key] = n.Value
		}
		indexNodes(index, n.Value, key)
	case *ast.SequenceNode:
		for i, v := range n.Values {
			p := prefix + "[" + strconv.Itoa(i) + "]"
			index[p] = v
			indexNodes(index, v, p)
		}
	case *ast.TagNode:
		indexNodes(index, n.Value, prefix)
	case *ast.AnchorNode:
		indexNodes(index, n.Value, prefix)
	}
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i <= 0 {
		return ""
	}
	return p[:i]
}

// applySets applies --set PATH=VALUE overrides to the parsed file and
// returns the paths set.
func applySets(file *ast.File, sets []string) ([]string, error) {
	var paths []string
	for _, s := range sets {
		path, value, ok := strings.Cut(s, "=")
		path = strings.TrimPrefix(strings.TrimSpace(path), "$.")
		if !ok || path == "" {
			return nil, i18n.Errorf("--set %s: want PATH=VALUE, e.g. faults[0].at=15s", units.Quote(s))
		}
		yp, err := yaml.PathString("$." + path)
		if err != nil {
			return nil, i18n.Errorf("--set %s: bad path: %v", path, err)
		}
		if _, err := yp.FilterFile(file); err == nil {
			vf, err := parseYAML("--set "+path, []byte(value))
			if err != nil || len(vf.Docs) == 0 || vf.Docs[0].Body == nil {
				return nil, i18n.Errorf("--set %s: value %s is not YAML", path, units.Quote(value))
			}
			if err := yp.ReplaceWithNode(file, vf.Docs[0].Body); err != nil {
				return nil, i18n.Errorf("--set %s: %v", path, err)
			}
		} else {
			// A field the file does not write: add it to its parent mapping.
			parent, key := parentPath(path), path[len(parentPath(path)):]
			key = strings.TrimPrefix(key, ".")
			if strings.HasPrefix(key, "[") {
				return nil, i18n.Errorf("--set %s: no such list element in the lab", path)
			}
			pp, err := yaml.PathString(strings.TrimSuffix("$."+parent, "."))
			if err != nil {
				return nil, i18n.Errorf("--set %s: bad path: %v", path, err)
			}
			if _, err := pp.FilterFile(file); err != nil {
				return nil, i18n.Errorf("--set %s: the lab has no %s to add %s to", path, parent, key)
			}
			if err := pp.MergeFromReader(file, strings.NewReader(key+": "+value+"\n")); err != nil {
				return nil, i18n.Errorf("--set %s: %v", path, err)
			}
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// relocateSet makes an error in an overridden field name the --set flag
// instead of a line of the file.
func relocateSet(e *Error, setPaths []string) {
	for _, p := range setPaths {
		if e.Field == p || strings.HasPrefix(e.Field, p+".") || strings.HasPrefix(e.Field, p+"[") {
			e.Line, e.Column = 0, 0
			e.say(i18n.T("%s (set by --set %s)", e.Message(), p))
			return
		}
	}
}

// suggest returns the name among names closest to a misspelt field ("" for
// a field longer than any name could be, which is not worth the time).
func suggest(field string, names []string) string {
	if len(field) > units.QuoteMax {
		return ""
	}
	best, bestDist := "", 3
	for _, name := range names {
		if d := editDistance(field, name); d < bestDist {
			best, bestDist = name, d
		}
	}
	return best
}

// fieldsAt returns the field names of the struct at a field path
// (vrrp.vrrp_instance[1]), or every field name of a lab when the path leads
// to no struct.
func fieldsAt(path string) []string {
	t := reflect.TypeOf(Lab{})
	for part := range strings.SplitSeq(path, ".") {
		part, _, _ = strings.Cut(part, "[")
		if part == "" {
			continue
		}
		t = elemType(t)
		switch t.Kind() {
		case reflect.Map: // part is a key, e.g. a vrrp_script name
			t = t.Elem()
		case reflect.Struct:
			f, ok := fieldByTag(t, part)
			if !ok {
				return knownFields()
			}
			t = f.Type
		default:
			return knownFields()
		}
	}
	t = elemType(t)
	if t.Kind() != reflect.Struct || t == reflect.TypeOf(units.Duration{}) {
		return knownFields()
	}
	var names []string
	for i := range t.NumField() {
		if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); tag != "" {
			names = append(names, tag)
		}
	}
	sort.Strings(names)
	return names
}

func elemType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	return t
}

func fieldByTag(t reflect.Type, tag string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); name == tag {
			return t.Field(i), true
		}
	}
	return reflect.StructField{}, false
}

// knownFields is every field name of a lab file, sorted.
var knownFields = sync.OnceValue(func() []string {
	var fieldNames []string
	seen := map[string]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t == reflect.TypeOf(units.Duration{}) {
			return
		}
		for i := range t.NumField() {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if tag == "" || seen[tag] {
				continue
			}
			seen[tag] = true
			fieldNames = append(fieldNames, tag)
			walk(f.Type)
		}
	}
	walk(reflect.TypeOf(Lab{}))
	sort.Strings(fieldNames)
	return fieldNames
})

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
