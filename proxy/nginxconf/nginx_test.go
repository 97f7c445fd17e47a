package nginxconf

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// nginxTool is the nginx binary found on this machine, and how to give it
// the stream module.
type nginxTool struct {
	bin string
	// loadStream is a load_module line when stream is a dynamic module
	// ("" when it is built in).
	loadStream string
	// stream is false when this nginx cannot read stream blocks.
	stream bool
}

// findNginx returns the nginx binary, or skips the test (fails it when CI
// is "true": CI must prove the test configurations are real nginx syntax).
func findNginx(t *testing.T) nginxTool {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"} {
			if _, serr := os.Stat(p); serr == nil {
				bin, err = p, nil
				break
			}
		}
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but nginx is not installed: install it (Debian: apt-get install nginx libnginx-mod-stream) so that nginx -t checks the test configurations")
		}
		t.Skip("nginx is not installed: skipping the nginx -t checks")
	}
	out, _ := exec.Command(bin, "-V").CombinedOutput()
	v := string(out)
	tool := nginxTool{bin: bin}
	if so, ok := StreamModule(v); ok && so == "" {
		tool.stream = true
	} else if _, err := os.Stat(so); ok && err == nil {
		tool.loadStream = "load_module " + so + ";\n"
		tool.stream = true
	}
	return tool
}

// lowPort finds the port of a listen directive.
var lowPort = regexp.MustCompile(`(\blisten\s+(?:\S*:)?)(\d+)([\s;])`)

// httpOpen finds the opening of an http block.
var httpOpen = regexp.MustCompile(`(?m)^(\s*http\s*\{)`)

// check runs nginx -t on src, wrapped as its top-level directives need: a
// full nginx.conf (with events) is included as is, a file of http and
// stream blocks gets an events block, and a snippet of upstream and server
// blocks is included inside http. It returns whether nginx accepted it and
// what nginx said.
func (n nginxTool) check(t *testing.T, src []byte) (bool, string) {
	t.Helper()
	return n.checkIn(t, t.TempDir(), src)
}

// checkIn is check with the configuration's folder given: files it
// includes are written there first.
func (n nginxTool) checkIn(t *testing.T, dir string, src []byte) (bool, string) {
	t.Helper()
	top := map[string]bool{}
	if nodes, err := parse(src); err == nil {
		for _, d := range nodes {
			top[d.name] = true
		}
	} else {
		top["http"] = true // a syntax error: include it at the main level
	}
	if top["stream"] && !n.stream {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but this nginx has no stream module (Debian: apt-get install libnginx-mod-stream)")
		}
		t.Skip("this nginx has no stream module: skipping")
	}
	if os.Geteuid() != 0 {
		// nginx -t binds the listening sockets (it forgives only a port in
		// use); without root, ports below 1024 are refused.
		src = lowPort.ReplaceAllFunc(src, func(m []byte) []byte {
			sub := lowPort.FindSubmatch(m)
			p, _ := atoi(string(sub[2]))
			if p >= 1024 {
				return m
			}
			return append(append(append([]byte(nil), sub[1]...), itoa(p+20000)...), sub[3]...)
		})
	}
	if !bytes.Contains(src, []byte("access_log")) {
		// nginx -t opens the default access log, /var/log/nginx/access.log
		// on Debian, which needs root; turn it off on the line of "http {"
		// so that line numbers stay.
		src = httpOpen.ReplaceAll(src, []byte("${1} access_log off;"))
	}
	casePath := filepath.Join(dir, "case.conf")
	var main strings.Builder
	main.WriteString(n.loadStream)
	if !top["pid"] {
		// nginx -t writes the pid file; keep it out of /run.
		main.WriteString("pid " + filepath.Join(dir, "logs", "nginx.pid") + ";\n")
	}
	switch {
	case top["events"]:
		main.WriteString("include " + casePath + ";\n")
	case top["http"] || top["stream"]:
		main.WriteString("events {}\ninclude " + casePath + ";\n")
	default:
		main.WriteString("events {}\nhttp {\n access_log off;\n include " + casePath + ";\n}\n")
	}
	files := map[string][]byte{
		"case.conf":  src,
		"main.conf":  []byte(main.String()),
		"mime.types": []byte("types {\n text/html html;\n}\n"),
	}
	cert, key := selfSigned(t)
	files["certs/admin.crt"], files["certs/admin.key"] = cert, key
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, n.bin, "-t", "-p", dir+"/", "-c", filepath.Join(dir, "main.conf"), "-e", "stderr")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("nginx -t timed out: %s", out.String())
	}
	return err == nil, out.String()
}

// selfSigned makes a certificate and key for the ssl listeners of the
// test configurations.
func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "admin.example.com"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		DNSNames:     []string{"admin.example.com"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// TestNginxAcceptsTestdata proves the test configurations are nginx's own
// syntax: nginx -t accepts every file in testdata.
func TestNginxAcceptsTestdata(t *testing.T) {
	n := findNginx(t)
	files, err := filepath.Glob(filepath.Join("testdata", "*.conf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if ok, out := n.check(t, src); !ok {
				t.Errorf("nginx -t rejects %s:\n%s", f, out)
			}
		})
	}
}

// TestNginxAgrees checks each error case against nginx: those nginx rejects
// too are rejected for the reason given, and the others (lblab's limits,
// not nginx's) are accepted by nginx.
func TestNginxAgrees(t *testing.T) {
	n := findNginx(t)
	for _, tt := range errorCases {
		t.Run(tt.name, func(t *testing.T) {
			ok, out := n.check(t, []byte(tt.src))
			switch {
			case tt.nginxSays == "" && !ok:
				t.Errorf("nginx -t rejects a configuration it should accept:\n%s", out)
			case tt.nginxSays != "" && ok:
				t.Errorf("nginx -t accepts a configuration it should reject with %q:\n%s", tt.nginxSays, out)
			case tt.nginxSays != "" && !strings.Contains(out, tt.nginxSays):
				t.Errorf("nginx -t says\n%s\nwant %q", out, tt.nginxSays)
			}
		})
	}
}
