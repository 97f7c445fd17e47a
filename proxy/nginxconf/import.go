// Package nginxconf imports nginx configurations into lblab's load balancer
// model (proxy.Config), so that users can run their own upstream setup in
// the simulator and ask which backend a client will hit.
//
// It reads nginx's grammar with its own small tokenizer (the rules of
// ngx_conf_read_token), and imports upstream blocks (http and stream), the
// servers, locations and proxy_pass that route to them, and the proxy_*
// directives that change how a request moves between servers. Everything
// that does not change which backend gets a request is reported as a
// Warning; what would change it but cannot be modelled is an Error.
package nginxconf

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/units"
)

// Import reads an nginx configuration (the text of nginx.conf, or a file
// holding only http/stream/upstream blocks) and returns the load balancer
// it describes. name is used in errors. Problems are returned all at once as
// Errors (each with File, Line, Msg; Error() = "FILE:LINE: MSG"), sorted by
// line. Warnings are sorted by line too, and are returned with the errors.
//
// Every directive is checked against the directives of nginx 1.22
// (Debian's build): a name no module defines, a directive in a block
// where nginx does not take it, or with a number of arguments nginx
// refuses, is an Error with nginx's message. An include directive is an
// Error: the text has no directory to read files from (ImportWith reads
// them). Top-level upstream and server blocks (and no http block) are
// read as if they were inside http, a snippet meant to be included there.
func Import(name string, src []byte) (*proxy.Config, []Warning, error) {
	return ImportWith(name, src, Options{})
}

// ImportWith is Import, reading include directives as opt says: files
// relative to opt.Dir, glob patterns allowed; an error in an included file
// names that file and its line.
func ImportWith(name string, src []byte, opt Options) (*proxy.Config, []Warning, error) {
	im := &importer{
		file:      name,
		byKey:     map[string]*groupInfo{},
		httpUps:   map[string]*groupInfo{},
		streamUps: map[string]*groupInfo{},
	}
	nodes, serr := parse(src)
	if serr != nil {
		errs := Errors{{File: name, Line: serr.line, Msg: serr.msg.String(), Text: serr.msg}}
		hintLookalikes(src, errs, nil)
		return nil, nil, errs
	}
	im.inc = &includer{im: im, dir: opt.Dir, files: []source{{name, src}}}
	nodes = im.inc.expand(nodes, []string{name})
	nodes = im.checkDirectives(nodes, snippetCtx(nodes))
	im.collectUpstreams(nodes, ctxTop)
	im.walkHTTP(nodes, httpDefaults(), true)
	if len(im.groups) == 0 && im.proxyPasses == 0 {
		im.errorf(0, "no upstream or proxy_pass found")
	}
	im.settleGroups()
	readWarns, readWarnsSeen := len(im.warns), im.warnsSeen
	cfg := &proxy.Config{}
	cfg.Listeners = append(im.httpListeners(), im.streamListeners()...)
	if im.errsSeen == 0 {
		cfg.Groups = make([]proxy.Group, 0, len(im.groups))
		for _, g := range im.groups {
			cfg.Groups = append(cfg.Groups, g.g)
		}
	}
	if len(cfg.Listeners) == 0 && len(im.groups) > 0 {
		g := im.groups[0]
		advice := i18n.T("%s", fmt.Sprintf("server { listen 8080; location / { proxy_pass http://%s; } }", g.g.Name))
		if g.ctx == ctxStream {
			advice = i18n.T("server { listen 12345; proxy_pass %s; } in stream", g.g.Name)
		}
		im.warnf(0, "no server block proxies to a group: the imported load balancer has groups but no listeners (add a %s block)", advice)
	}
	if im.errsSeen > 0 {
		// Warnings about the assembled load balancer follow from the
		// errors; keep those about the text only.
		im.warns, im.warnsSeen = im.warns[:readWarns], readWarnsSeen
	}
	sort.SliceStable(im.warns, func(i, j int) bool { return im.warns[i].Line < im.warns[j].Line })
	im.placeAll()
	if n := im.warnsSeen - maxWarnings; n > 0 {
		t := i18n.T("… and %d more warnings from this line on (the first %d are shown)", n, maxWarnings)
		im.warns = append(im.warns[:maxWarnings], Warning{File: im.warns[maxWarnings].File, Line: im.warns[maxWarnings].Line, Msg: t.String(), Text: t})
	}
	if im.errsSeen > 0 {
		if n := im.errsSeen - maxErrors; n > 0 {
			t := i18n.T("… and %d more errors from this line on (the first %d are shown)", n, maxErrors)
			im.errs = append(im.errs[:maxErrors], &Error{File: im.errs[maxErrors].File, Line: im.errs[maxErrors].Line, Msg: t.String(), Text: t})
		}
		return nil, im.warns, im.errs
	}
	return cfg, im.warns, nil
}

// ImportFile reads path and calls ImportWith with path as the name and
// its directory as the one included files are read from (as nginx -c
// PATH does).
func ImportFile(path string) (*proxy.Config, []Warning, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, Errors{{File: path, Msg: err.Error()}}
	}
	return ImportWith(path, src, Options{Dir: filepath.Dir(path)})
}

// placeAll sorts the errors by line, gives each error and warning its
// file and line (a line in an included file is a units.Place) and
// the hint of a lookalike character on that line.
func (im *importer) placeAll() {
	sort.SliceStable(im.errs, func(i, j int) bool { return im.errs[i].Line < im.errs[j].Line })
	hints := make([]func(int) i18n.Text, len(im.inc.files))
	hint := func(line int) (string, int, i18n.Text) {
		idx, _ := units.Unplace(line)
		if idx < 0 || idx >= len(hints) {
			idx = 0
		}
		if hints[idx] == nil {
			hints[idx] = units.LineHints(string(im.inc.files[idx].src), "#")
		}
		file, l := im.inc.placeOf(line)
		if file == "" {
			file = im.file
		}
		return file, l, hints[idx](l)
	}
	for _, e := range im.errs {
		var h i18n.Text
		e.File, e.Line, h = hint(e.Line)
		if !h.IsZero() {
			e.Text = i18n.T("%s (%s)", e.Message(), h)
			e.Msg = e.Text.String()
		}
	}
	for i := range im.warns {
		w := &im.warns[i]
		var h i18n.Text
		w.File, w.Line, h = hint(w.Line)
		if !h.IsZero() {
			w.Text = i18n.T("%s (%s)", w.Message(), h)
			w.Msg = w.Text.String()
		}
	}
}

// Contexts of upstream blocks. Top-level upstream blocks (a snippet meant
// for inclusion in http) are http's.
const (
	ctxTop    = "top"
	ctxHTTP   = "http"
	ctxStream = "stream"
	ctxProxy  = "proxy_pass" // implicit groups made for a proxy_pass address
)

// At most maxErrors errors and maxWarnings warnings are returned (the
// first by line), followed by a count of the others at the line of the
// first of them; at most maxKept of
// each are held while reading, so that a huge configuration gives a
// short answer in bounded memory.
const (
	maxErrors   = 10
	maxWarnings = 100
	maxKept     = 1000
)

type importer struct {
	file  string
	errs  Errors
	warns []Warning
	// errsSeen and warnsSeen count every error and warning, kept or not.
	errsSeen, warnsSeen int

	groups    []*groupInfo          // in file order, then implicit ones by first use
	byKey     map[string]*groupInfo // every group by lower-case name
	httpUps   map[string]*groupInfo // http upstream blocks by lower-case name
	streamUps map[string]*groupInfo // stream upstream blocks by lower-case name

	inc *includer // the files read, for the place of an error

	proxyPasses   int // proxy_pass directives seen, valid or not
	httpServers   []*httpServer
	streamServers []*streamServer
}

// errorf records an error; the strings it quotes are clipped to a line's
// worth (proxy.Clip).
func (im *importer) errorf(line int, format string, args ...any) {
	im.errsSeen++
	if len(im.errs) < maxKept {
		t := i18n.T(format, proxy.ClipArgs(args)...)
		im.errs = append(im.errs, &Error{File: im.file, Line: line, Msg: t.String(), Text: t})
	}
}

// warnf records a warning, clipped as errorf's errors.
func (im *importer) warnf(line int, format string, args ...any) {
	im.warnsSeen++
	if len(im.warns) < maxKept {
		t := i18n.T(format, proxy.ClipArgs(args)...)
		im.warns = append(im.warns, Warning{File: im.file, Line: line, Msg: t.String(), Text: t})
	}
}

// groupInfo is a group being built, and the places that use it.
type groupInfo struct {
	g    proxy.Group
	ctx  string
	line int
	uses []use
}

// use is one location (or stream server) that proxies to a group, with the
// proxy settings in force there.
type use struct {
	line int
	what string
	set  settings
}

func (im *importer) addGroup(gi *groupInfo) {
	im.groups = append(im.groups, gi)
	im.byKey[strings.ToLower(gi.g.Name)] = gi
}

// blockDirectives must have a block; other directives must not.
var blockDirectives = map[string]bool{
	"http": true, "stream": true, "events": true, "server": true,
	"location": true, "upstream": true, "if": true, "map": true,
	"types": true, "limit_except": true, "geo": true, "split_clients": true,
	"mail": true,
}

// checkShape reports a block directive without a block and a simple
// directive with one; it returns false when the directive should be skipped.
func (im *importer) checkShape(n *node) bool {
	if blockDirectives[n.name] && !n.isBlock {
		im.errorf(n.line, "directive %q has no opening \"{\"", n.name)
		return false
	}
	if !blockDirectives[n.name] && n.isBlock && handledSimple[n.name] {
		im.errorf(n.line, "directive %q is not terminated by \";\"", n.name)
		return false
	}
	return true
}

// handledSimple are the simple directives this package reads.
var handledSimple = map[string]bool{
	"listen": true, "server_name": true, "proxy_pass": true, "ip_hash": true,
	"hash": true, "least_conn": true, "random": true, "keepalive": true,
	"proxy_next_upstream": true, "proxy_next_upstream_tries": true,
	"proxy_next_upstream_timeout": true, "proxy_connect_timeout": true,
	"proxy_read_timeout": true, "try_files": true, "rewrite": true,
	"include": true, "ssl": true,
}

// otherPasses hand requests to backends over other protocols.
var otherPasses = map[string]bool{
	"fastcgi_pass": true, "uwsgi_pass": true, "scgi_pass": true,
	"grpc_pass": true, "memcached_pass": true,
}

// balancing directives outside upstream blocks that change which server
// gets a request and that lblab cannot import.
var unsupportedBalancing = map[string]bool{
	"sticky": true, "sticky_cookie_insert": true, "health_check": true,
	"ntlm": true, "least_time": true, "queue": true,
}

// accessControl are directives by which nginx refuses requests itself.
// Ignored, they would let those requests reach a backend: the import
// refuses them instead of failing open.
var accessControl = map[string]bool{
	"deny": true, "auth_basic": true, "auth_request": true, "auth_jwt": true, "internal": true,
}

// refusingReturn reports a return directive that answers an error status
// (400 and up, 444 included) instead of passing the request on.
func refusingReturn(n *node) bool {
	if n.name != "return" || len(n.args) == 0 {
		return false
	}
	code, err := atoi(n.args[0])
	return err == nil && code >= 400
}

// other handles a directive that this package does not read in the current
// context: an Error when it would change which backend gets a request or
// let through a request nginx refuses, a Warning "ignored: NAME"
// otherwise.
func (im *importer) other(n *node) {
	switch {
	case accessControl[n.name] || refusingReturn(n):
		im.errorf(n.line, "%s is not supported: lblab would pass on the requests nginx refuses here (remove it, or keep this guard in front of lblab)",
			strings.TrimSpace(n.name+" "+strings.Join(n.args, " ")))
	case n.name == "proxy_pass":
		im.proxyPasses++
		im.errorf(n.line, "\"proxy_pass\" directive is not allowed here")
	case otherPasses[n.name]:
		im.errorf(n.line, "%s is not supported: lblab imports proxy_pass only", n.name)
	case unsupportedBalancing[n.name]:
		im.errorf(n.line, "%s is not supported: it changes which server gets a request", n.name)
	case n.name == "location" || n.name == "upstream" || n.name == "http" ||
		n.name == "stream" || n.name == "listen" || n.name == "server_name":
		im.errorf(n.line, "%q directive is not allowed here", n.name)
	default:
		im.warnf(n.line, "ignored: %s", n.name)
	}
}

// findProxyPass returns the first proxy_pass inside nodes, at any depth.
func findProxyPass(nodes []*node) *node {
	for _, n := range nodes {
		if n.name == "proxy_pass" {
			return n
		}
		if p := findProxyPass(n.block); p != nil {
			return p
		}
	}
	return nil
}

// ignoreBlock handles an if or limit_except block: ignored unless it holds a
// proxy_pass, which lblab cannot make conditional.
func (im *importer) ignoreBlock(n *node) {
	if p := findProxyPass(n.block); p != nil {
		im.proxyPasses++
		im.errorf(p.line, "proxy_pass inside %s is not supported", n.name)
		return
	}
	im.warnf(n.line, "ignored: %s", n.name)
}

// collectUpstreams reads every upstream block first: nginx lets proxy_pass
// name an upstream defined further down.
func (im *importer) collectUpstreams(nodes []*node, ctx string) {
	for _, n := range nodes {
		switch {
		case n.name == "upstream":
			if !n.isBlock {
				continue // reported by the second walk
			}
			c := ctx
			if c == ctxTop {
				c = ctxHTTP
			}
			im.upstream(n, c)
		case n.name == "http" && ctx == ctxTop:
			im.collectUpstreams(n.block, ctxHTTP)
		case n.name == "stream" && ctx == ctxTop:
			im.collectUpstreams(n.block, ctxStream)
		}
	}
}

// walkHTTP reads the main context (top) or an http block.
func (im *importer) walkHTTP(nodes []*node, parent settings, top bool) {
	s := im.scopeOf(nodes, parent)
	for _, n := range nodes {
		if isSetting(n.name) || !im.checkShape(n) {
			continue
		}
		switch {
		case n.name == "upstream":
			if n.isBlock && len(n.args) != 1 {
				im.errorf(n.line, "invalid number of arguments in \"upstream\" directive")
			}
		case n.name == "server":
			im.httpServer(n, s)
		case n.name == "http" && top:
			im.walkHTTP(n.block, s, false)
		case n.name == "stream" && top:
			im.walkStream(n.block)
		case n.name == "events" || n.name == "map" || n.name == "types" ||
			n.name == "geo" || n.name == "split_clients" || n.name == "mail":
			im.warnf(n.line, "ignored: %s", n.name)
		case n.name == "if" || n.name == "limit_except":
			im.errorf(n.line, "%q directive is not allowed here", n.name)
		default:
			im.other(n)
		}
	}
}
