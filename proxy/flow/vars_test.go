package flow_test

import (
	"testing"

	"github.com/lblab/lblab/proxy/flow"
)

// TestNginxVars: $cookie_NAME, $arg_NAME and $uri as nginx 1.22 computes
// them (ngx_http_parse_multi_header_lines, ngx_http_arg,
// ngx_http_parse_complex_uri). Before, cookie names matched with case and
// quotes were stripped, args were percent-decoded and case-sensitive
// (url.ParseQuery), and $uri was the raw path.
func TestNginxVars(t *testing.T) {
	for _, c := range []struct{ field, name, want string }{
		{`sid=1`, "sid", "1"},
		{`SID=1`, "sid", "1"},                     // name ignoring case
		{`a=1; sid="x y" ; b=2`, "sid", `"x y" `}, // raw to ';': quotes and blanks kept
		{`sid = 7`, "sid", "7"},                   // blanks around '='
		{`sidx=1; sid=2`, "sid", "2"},
		{`a=1, sid=3`, "sid", "3"}, // ',' ends a skipped pair
		{`sid`, "sid", "<none>"},
	} {
		got, ok := flow.CookieIn(c.field, c.name)
		if !ok {
			got = "<none>"
		}
		if got != c.want {
			t.Errorf("cookie %q in %q: got %q, want %q", c.name, c.field, got, c.want)
		}
	}
	for _, c := range []struct{ target, name, want string }{
		{"/?a=1", "a", "1"},
		{"/?A=%41+b", "a", "%41+b"}, // any case, raw
		{"/?xa=1&a=2", "a", "2"},
		{"/?a", "a", "<none>"},
		{"/?a=", "a", ""},
		{"/?b=1&a=2#a=3", "a", "2"},
		{"/#?a=1", "a", "<none>"},
		{"/%3Fa=1", "a", "<none>"},
	} {
		got, ok := flow.ArgIn(c.target, c.name)
		if !ok {
			got = "<none>"
		}
		if got != c.want {
			t.Errorf("arg %q of %q: got %q, want %q", c.name, c.target, got, c.want)
		}
	}
	for _, c := range []struct{ target, want string }{
		{"/a/b?x=1", "/a/b"},
		{"//a///b/", "/a/b/"},
		{"/a/./b/../c", "/a/c"},
		{"/a/b/..", "/a/"},
		{"/a/.", "/a/"},
		{"/%61%2Fb", "/a/b"},
		{"/a%2F..%2Fb", "/b"},
		{"/a%3Fb?c", "/a?b"},
		{"/a%25", "/a%"},
		{"/a#b?c", "/a"},
		{"/..", "<400>"},
		{"/a%2", "<400>"},
		{"/a%zz", "<400>"},
		{"/a%00", "<400>"},
		{"/a/..x", "/a/..x"},
	} {
		got, ok := flow.NormalURI(c.target)
		if !ok {
			got = "<400>"
		}
		if got != c.want {
			t.Errorf("$uri of %q: got %q, want %q", c.target, got, c.want)
		}
	}
}
