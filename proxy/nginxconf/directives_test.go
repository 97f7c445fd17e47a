package nginxconf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lblab/lblab/units"
)

// directiveCase is a configuration (case.conf, with the files it
// includes) that nginx -t accepts or refuses, and so must lblab.
type directiveCase struct {
	name  string
	src   string
	files map[string]string // included files, by path relative to case.conf
	// refused: nginx -t refuses it; msg is part of lblab's error there.
	refused bool
	msg     string
	// at is "FILE:LINE" of the error, FILE relative to case.conf's folder.
	at string
}

// goodHTTP is an http block with directives nginx knows and lblab does
// not model (warnings), around one upstream and one proxied location.
const goodHTTP = `events {}
http {
  sendfile on;
  server_tokens off;
  gzip on;
  client_max_body_size 10m;
  keepalive_timeout 65 60;
  upstream app {
    server 10.0.0.1:8080;
    keepalive 8;
  }
  server {
    listen 8080;
    add_header X-Frame-Options DENY always;
    location / {
      proxy_pass http://app;
      proxy_set_header Host $host;
      proxy_buffering off;
    }
  }
}
`

var directiveCases = []directiveCase{
	{name: "known directives lblab does not model", src: goodHTTP},
	{name: "unknown directive in http", src: strings.Replace(goodHTTP, "gzip on;", "gzipp on;", 1),
		refused: true, msg: `unknown directive "gzipp"`, at: "case.conf:5"},
	{name: "unknown directive in a location", src: strings.Replace(goodHTTP, "proxy_buffering off;", "proxy_bufering off;", 1),
		refused: true, msg: `unknown directive "proxy_bufering"`, at: "case.conf:18"},
	{name: "NGINX Plus directive", src: strings.Replace(goodHTTP, "keepalive 8;", "sticky cookie srv_id;", 1),
		refused: true, msg: `unknown directive "sticky"`, at: "case.conf:10"},
	{name: "proxy_pass in server", src: strings.Replace(goodHTTP, "add_header X-Frame-Options DENY always;", "proxy_pass http://app;", 1),
		refused: true, msg: `"proxy_pass" directive is not allowed here`, at: "case.conf:14"},
	{name: "worker_connections at the top", src: "worker_connections 10;\n" + goodHTTP,
		refused: true, msg: `"worker_connections" directive is not allowed here`, at: "case.conf:1"},
	{name: "too few arguments", src: strings.Replace(goodHTTP, "server_tokens off;", "server_tokens;", 1),
		refused: true, msg: `invalid number of arguments in "server_tokens" directive`, at: "case.conf:4"},
	{name: "too many arguments", src: strings.Replace(goodHTTP, "keepalive_timeout 65 60;", "keepalive_timeout 65 60 1;", 1),
		refused: true, msg: `invalid number of arguments in "keepalive_timeout" directive`, at: "case.conf:7"},
	{name: "a flag with two values", src: strings.Replace(goodHTTP, "gzip on;", "gzip on off;", 1),
		refused: true, msg: `invalid number of arguments in "gzip" directive`, at: "case.conf:5"},
	{name: "a simple directive with a block", src: strings.Replace(goodHTTP, "gzip on;", "gzip on { }", 1),
		refused: true, msg: `directive "gzip" is not terminated by ";"`, at: "case.conf:5"},
	{name: "a block directive without a block", src: strings.Replace(goodHTTP, "events {}", "events;", 1),
		refused: true, msg: `directive "events" has no opening "{"`, at: "case.conf:1"},
	{name: "stream server_name (nginx 1.25)", src: "events {}\nstream {\n  server {\n    listen 9000;\n    server_name x;\n    proxy_pass 10.0.0.1:9000;\n  }\n}\n",
		refused: true, msg: `"server_name" directive is not allowed here`, at: "case.conf:5"},
	{name: "include of a relative file", src: strings.Replace(goodHTTP, "sendfile on;", "include conf.d/app.conf;", 1),
		files: map[string]string{"conf.d/app.conf": "sendfile on;\nupstream extra {\n  server 10.0.0.9:80;\n}\n"}},
	{name: "include of a glob", src: strings.Replace(goodHTTP, "sendfile on;", "include conf.d/*.conf;", 1),
		files: map[string]string{"conf.d/a.conf": "sendfile on;\n", "conf.d/b.conf": "tcp_nodelay on;\n"}},
	{name: "include of a glob matching nothing", src: strings.Replace(goodHTTP, "sendfile on;", "include conf.d/*.conf;", 1)},
	{name: "include of a missing file", src: strings.Replace(goodHTTP, "sendfile on;", "include conf.d/app.conf;", 1),
		refused: true, msg: `include: open() `, at: "case.conf:3"},
	{name: "an unknown directive in an included file", src: strings.Replace(goodHTTP, "sendfile on;", "include conf.d/*.conf;", 1),
		files:   map[string]string{"conf.d/a.conf": "sendfile on;\n", "conf.d/b.conf": "tcp_nodelay on;\n\ntcp_nodelayy on;\n"},
		refused: true, msg: `unknown directive "tcp_nodelayy"`, at: "conf.d/b.conf:3"},
	{name: "a syntax error in an included file", src: strings.Replace(goodHTTP, "sendfile on;", "include app.conf;", 1),
		files: map[string]string{"app.conf": "sendfile on\n"}, refused: true, msg: `unexpected end of file`, at: "app.conf:2"},
}

// writeCase writes the case's files into dir and returns the path of
// case.conf.
func writeCase(t *testing.T, dir string, c directiveCase) string {
	t.Helper()
	for name, text := range c.files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, "case.conf")
	if err := os.WriteFile(p, []byte(c.src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// lblabRefuses imports case.conf from dir and returns its errors, nil
// when it is accepted.
func lblabRefuses(t *testing.T, path string) Errors {
	t.Helper()
	_, _, err := ImportFile(path)
	if err == nil {
		return nil
	}
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error %T is not Errors: %v", err, err)
	}
	return es
}

// TestDirectivesAsNginxSays checks lblab's answer on every case: refused
// with the message at the place given, or accepted.
func TestDirectivesAsNginxSays(t *testing.T) {
	for _, c := range directiveCases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			es := lblabRefuses(t, writeCase(t, dir, c))
			if !c.refused {
				if es != nil {
					t.Fatalf("lblab refuses what nginx takes:\n%v", es)
				}
				return
			}
			for _, e := range es {
				rel, _ := filepath.Rel(dir, e.File)
				if fmt.Sprintf("%s:%d", rel, e.Line) == c.at && strings.Contains(e.Msg, c.msg) {
					return
				}
			}
			t.Errorf("want an error at %s containing %q, got:\n%v", c.at, c.msg, es)
		})
	}
}

// nginxAt finds the place nginx -t names in its emerg line.
var nginxAt = regexp.MustCompile(` in (\S+):(\d+)`)

// TestDirectivesDifferential runs nginx -t (Debian's 1.22.1) on the same
// cases: it refuses what lblab refuses, at the same file and line, and
// takes what lblab takes. Skipped without nginx (failed with CI=true).
func TestDirectivesDifferential(t *testing.T) {
	n := findNginx(t)
	for _, c := range directiveCases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeCase(t, dir, c)
			es := lblabRefuses(t, path)
			ok, out := n.checkIn(t, dir, []byte(c.src))
			if ok == (es != nil) {
				t.Fatalf("nginx -t accepts=%v, lblab refuses=%v\nnginx:\n%s\nlblab:\n%v", ok, es != nil, out, es)
			}
			if ok {
				return
			}
			m := nginxAt.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("nginx -t names no place:\n%s", out)
			}
			for _, e := range es {
				if e.File == m[1] && fmt.Sprint(e.Line) == m[2] {
					return
				}
			}
			t.Errorf("nginx -t refuses at %s:%s, lblab does not:\nnginx:\n%s\nlblab:\n%v", m[1], m[2], out, es)
		})
	}
}

// An include loop, an include in text without a folder, and includes
// past the bounds are refused with the include's place; nginx itself
// would recurse until it runs out of files.
func TestIncludeBounds(t *testing.T) {
	dir := t.TempDir()
	loop := writeCase(t, dir, directiveCase{src: strings.Replace(goodHTTP, "sendfile on;", "include a.conf;", 1),
		files: map[string]string{"a.conf": "sendfile on;\ninclude b.conf;\n", "b.conf": "include a.conf;\n"}})
	es := lblabRefuses(t, loop)
	if len(es) != 1 || filepath.Base(es[0].File) != "b.conf" || es[0].Line != 1 || !strings.Contains(es[0].Msg, "include loop") {
		t.Errorf("include loop: %v", es)
	}
	_, _, err := Import("lab.yaml", []byte(strings.Replace(goodHTTP, "sendfile on;", "include a.conf;", 1)))
	if err == nil || !strings.Contains(err.Error(), "lab.yaml:3: include a.conf: this text has no folder") {
		t.Errorf("include in text without a folder: %v", err)
	}
	many := map[string]string{}
	for i := range units.MaxIncludeFiles + 5 {
		many[fmt.Sprintf("d/%03d.conf", i)] = "sendfile on;\n"
	}
	es = lblabRefuses(t, writeCase(t, t.TempDir(), directiveCase{src: strings.Replace(goodHTTP, "sendfile on;", "include d/*.conf;", 1), files: many}))
	if len(es) != 1 || !strings.Contains(es[0].Msg, fmt.Sprintf("more than %d files", units.MaxIncludeFiles)) {
		t.Errorf("too many files: %v", es)
	}
}
