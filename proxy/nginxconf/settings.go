package nginxconf

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/lblab/lblab/i18n"
	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/units"
)

// at is a setting's value and the line that wrote it (0: nginx's default).
type at[T any] struct {
	v    T
	line int
}

// settings are the proxy directives in force in a block; like nginx, a
// block inherits its parent's and overrides what it writes itself.
type settings struct {
	stream  bool
	on      at[[]string]
	tries   at[int]
	nuTime  at[time.Duration]
	connect at[time.Duration]
	read    at[time.Duration]
}

func httpDefaults() settings {
	return settings{
		on:      at[[]string]{v: []string{"error", "timeout"}},
		connect: at[time.Duration]{v: 60 * time.Second},
		read:    at[time.Duration]{v: 60 * time.Second},
	}
}

func streamDefaults() settings {
	s := httpDefaults()
	s.stream = true
	return s
}

func isSetting(name string) bool {
	switch name {
	case "proxy_next_upstream", "proxy_next_upstream_tries", "proxy_next_upstream_timeout",
		"proxy_connect_timeout", "proxy_read_timeout":
		return true
	}
	return false
}

// nextUpstreamConditions are proxy_next_upstream's values in http.
var nextUpstreamConditions = map[string]bool{
	"error": true, "timeout": true, "invalid_header": true, "http_500": true,
	"http_502": true, "http_503": true, "http_504": true, "http_403": true,
	"http_404": true, "http_429": true, "non_idempotent": true, "off": true,
}

// scopeOf returns the settings of a block: its parent's, overridden by the
// proxy directives written in the block, wherever they stand in it (nginx
// merges a block's values after reading all of it).
func (im *importer) scopeOf(nodes []*node, parent settings) settings {
	s := parent
	seen := map[string]int{}
	for _, n := range nodes {
		if !isSetting(n.name) {
			continue
		}
		if n.isBlock {
			im.errorf(n.line, "directive %q is not terminated by \";\"", n.name)
			continue
		}
		if n.name == "proxy_read_timeout" && s.stream {
			im.warnf(n.line, "ignored: proxy_read_timeout (not a stream directive)")
			continue
		}
		if first, dup := seen[n.name]; dup {
			im.errorf(n.line, "%q directive is duplicate (first at line %d)", n.name, first)
			continue
		}
		seen[n.name] = n.line
		switch n.name {
		case "proxy_next_upstream":
			if on, ok := im.nextUpstream(n, s.stream); ok {
				s.on = at[[]string]{on, n.line}
			}
		case "proxy_next_upstream_tries":
			if len(n.args) != 1 {
				im.errorf(n.line, "invalid number of arguments in %q directive", n.name)
				continue
			}
			v, err := atoi(n.args[0])
			if err != nil {
				im.errorf(n.line, "invalid number %q in %q", n.args[0], n.name)
				continue
			}
			s.tries = at[int]{v, n.line}
		default:
			if len(n.args) != 1 {
				im.errorf(n.line, "invalid number of arguments in %q directive", n.name)
				continue
			}
			v, err := parseTime(n.args[0], false)
			if err != nil {
				im.errorf(n.line, "invalid value %q in %q", n.args[0], n.name)
				continue
			}
			switch n.name {
			case "proxy_next_upstream_timeout":
				s.nuTime = at[time.Duration]{v, n.line}
			case "proxy_connect_timeout":
				s.connect = at[time.Duration]{v, n.line}
			case "proxy_read_timeout":
				s.read = at[time.Duration]{v, n.line}
			}
		}
	}
	return s
}

// nextUpstream reads proxy_next_upstream: conditions in http, on or off in
// stream (where on means on error and timeout of the connect).
func (im *importer) nextUpstream(n *node, stream bool) ([]string, bool) {
	if len(n.args) == 0 {
		im.errorf(n.line, "invalid number of arguments in \"proxy_next_upstream\" directive")
		return nil, false
	}
	if stream {
		if len(n.args) != 1 || n.args[0] != "on" && n.args[0] != "off" {
			im.errorf(n.line, "invalid value %q in \"proxy_next_upstream\": it must be \"on\" or \"off\"", strings.Join(n.args, " "))
			return nil, false
		}
		if n.args[0] == "off" {
			return []string{"off"}, true
		}
		return []string{"error", "timeout"}, true
	}
	var on []string
	seen := map[string]bool{}
	ok, off := true, false
	for _, a := range n.args {
		switch {
		case a == "updating":
			im.warnf(n.line, "proxy_next_upstream updating: only matters with a cache; dropped")
		case !nextUpstreamConditions[a]:
			im.errorf(n.line, "invalid value %q in \"proxy_next_upstream\"", a)
			ok = false
		case seen[a]:
			im.warnf(n.line, "duplicate value %q in \"proxy_next_upstream\"", a)
		default:
			seen[a] = true
			on = append(on, a)
			off = off || a == "off"
		}
	}
	if off {
		// nginx's merge keeps only off when off is among the values.
		on = []string{"off"}
	}
	return on, ok
}

// use records that a location or stream server proxies to group gi.
func (gi *groupInfo) use(line int, what string, s settings) {
	gi.uses = append(gi.uses, use{line: line, what: what, set: s})
}

// field is one proxy setting as a group sees it.
type field struct {
	name string
	get  func(s settings) (text string, line int, applies bool)
}

var fields = []field{
	{"proxy_next_upstream", func(s settings) (string, int, bool) { return strings.Join(s.on.v, " "), s.on.line, true }},
	{"proxy_next_upstream_tries", func(s settings) (string, int, bool) { return fmt.Sprint(s.tries.v), s.tries.line, true }},
	{"proxy_next_upstream_timeout", func(s settings) (string, int, bool) { return s.nuTime.v.String(), s.nuTime.line, true }},
	{"proxy_connect_timeout", func(s settings) (string, int, bool) { return s.connect.v.String(), s.connect.line, true }},
	{"proxy_read_timeout", func(s settings) (string, int, bool) { return s.read.v.String(), s.read.line, !s.stream }},
}

// settleGroups gives each group the proxy settings of the places that use
// it, and reports places that give one group different values: lblab keeps
// one value per group where nginx keeps one per location.
func (im *importer) settleGroups() {
	for _, gi := range im.groups {
		if len(gi.uses) == 0 {
			continue
		}
		sort.SliceStable(gi.uses, func(i, j int) bool { return gi.uses[i].line < gi.uses[j].line })
		first := map[string]use{}
		for _, f := range fields {
			var ref *use
			for i := range gi.uses {
				u := &gi.uses[i]
				text, line, applies := f.get(u.set)
				if !applies {
					continue
				}
				if ref == nil {
					ref = u
					continue
				}
				rtext, rline, _ := f.get(ref.set)
				if text != rtext {
					im.errorf(placeLine(line, u.line), "group %q gets %s %s %s but %s %s: lblab keeps one value per group",
						gi.g.Name, f.name, text, where(line, *u), rtext, where(rline, *ref))
					break
				}
			}
			for _, u := range gi.uses {
				if _, line, applies := f.get(u.set); applies && line > 0 {
					first[f.name] = u
					break
				}
			}
		}
		if u, ok := first["proxy_connect_timeout"]; ok {
			gi.g.ConnectTimeout = units.Of(u.set.connect.v)
		}
		if u, ok := first["proxy_read_timeout"]; ok {
			gi.g.ReadTimeout = units.Of(u.set.read.v)
		}
		u1, on := first["proxy_next_upstream"]
		u2, tries := first["proxy_next_upstream_tries"]
		u3, tmo := first["proxy_next_upstream_timeout"]
		if on || tries || tmo {
			nu := &proxy.NextUpstream{}
			if on {
				nu.On = append([]string(nil), u1.set.on.v...)
			}
			if tries {
				nu.Tries = u2.set.tries.v
			}
			if tmo {
				nu.Timeout = units.Of(u3.set.nuTime.v)
			}
			gi.g.NextUpstream = nu
		}
	}
}

func placeLine(valueLine, useLine int) int {
	if valueLine > 0 {
		return valueLine
	}
	return useLine
}

// where describes where a value comes from: its line, or nginx's default
// in a location.
func where(valueLine int, u use) i18n.Text {
	if valueLine > 0 {
		return i18n.T("at line %d (for %s)", valueLine, u.what)
	}
	return i18n.T("by default (for %s at line %d)", u.what, u.line)
}
