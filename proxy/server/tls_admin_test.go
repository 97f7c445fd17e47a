package server

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lblab/lblab/proxy"
	"github.com/lblab/lblab/proxy/certs"
	"github.com/lblab/lblab/units"
)

func TestHTTPSBySNIAndRedirect(t *testing.T) {
	var proto atomic.Value
	be := newBackend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		proto.Store(r.Header.Get("X-Forwarded-Proto"))
		io.WriteString(w, "hello over "+r.Host)
	})
	dir := t.TempDir()
	files, err := certs.Make(dir, []string{"a.lab.test", "b.lab.test"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cs, err := LoadCertificates(nil, dir)
	if err != nil || len(cs) != 2 {
		t.Fatalf("certificates %d, %v", len(cs), err)
	}
	cfg := &proxy.Config{Listeners: []proxy.Listener{{Name: "tls", Protocol: "https", Port: 443, Group: "web"}},
		Groups: []proxy.Group{{Name: "web", Servers: servers(be.addr)}}}
	p := startProxy(t, cfg, Options{Certificates: cs, RedirectHTTP: "127.0.0.1:0"})
	caPEM, _ := os.ReadFile(files.CA)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	for _, host := range []string{"a.lab.test", "b.lab.test"} {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: host}}
		c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
		resp, err := c.Get("https://" + p.addr + "/x")
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := resp.TLS.PeerCertificates[0].DNSNames; len(got) == 0 || got[0] != host {
			t.Fatalf("%s got the certificate of %v", host, got)
		}
		if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "hello over ") || proto.Load() != "https" {
			t.Fatalf("%s: %d %q, X-Forwarded-Proto %v", host, resp.StatusCode, body, proto.Load())
		}
		tr.CloseIdleConnections()
	}
	// The redirect.
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", "http://"+p.SideAddr("redirect").String()+"/a/b?c=d", nil)
	req.Host = "a.lab.test"
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, port, _ := strings.Cut(p.addr, ":")
	if want := "https://a.lab.test:" + port + "/a/b?c=d"; resp.StatusCode != 301 || resp.Header.Get("Location") != want {
		t.Fatalf("redirect: %d Location %q, want 301 %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
}

func TestRedirectOn443OmitsPort(t *testing.T) {
	rec := httpRecorder(redirectHandler("443"), "shop.test:80", "/p?q=1")
	if rec != "https://shop.test/p?q=1" {
		t.Fatalf("Location %q", rec)
	}
}

func httpRecorder(h http.Handler, host, uri string) string {
	req, _ := http.NewRequest("GET", "http://"+host+uri, nil)
	w := &headerRecorder{h: http.Header{}}
	h.ServeHTTP(w, req)
	return w.h.Get("Location")
}

type headerRecorder struct {
	h    http.Header
	code int
}

func (r *headerRecorder) Header() http.Header         { return r.h }
func (r *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *headerRecorder) WriteHeader(c int)           { r.code = c }

func TestAdminStatusAndMetrics(t *testing.T) {
	a, b := newBackend(t, "a", nil), newBackend(t, "b", nil)
	cfg := lb(proxy.Group{Name: "web", Servers: servers(a.addr, b.addr, deadAddr(t)),
		HealthCheck: &proxy.HealthCheck{Type: "tcp", Interval: units.Of(50 * time.Millisecond), UnhealthyThreshold: 1}})
	p := startProxy(t, cfg, Options{Admin: "127.0.0.1:0"})
	c := client()
	waitFor(t, checkWait(50*time.Millisecond, 1), "the dead server is down", func() bool { return !p.up("web", 2) })
	for range 10 {
		if st, _, _ := get(t, c, p.url+"/"); st != 200 {
			t.Fatalf("status %d", st)
		}
	}
	admin := "http://" + p.SideAddr("admin").String()
	resp, err := http.Get(admin + "/status")
	if err != nil {
		t.Fatal(err)
	}
	var st Status
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Listeners) != 1 || len(st.Groups) != 1 || len(st.Groups[0].Servers) != 3 {
		t.Fatalf("status %+v", st)
	}
	ss := st.Groups[0].Servers
	if ss[0].Active != "up" || ss[2].Active != "down" || ss[0].Requests+ss[1].Requests != 10 || ss[0].Weight != 1 {
		t.Fatalf("servers %+v", ss)
	}
	resp, err = http.Get(admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	for _, want := range []string{
		`lblab_requests_total{backend="` + a.addr + `",code="200",group="web",listener="http:1"} 5`,
		`lblab_upstream_up{group="web",server="` + a.addr + `"} 1`,
		`lblab_upstream_up{group="web",server="` + cfg.Groups[0].Servers[2].Address + `"} 0`,
		`lblab_upstream_conns{group="web",server="` + b.addr + `"} 0`,
		`lblab_request_duration_seconds_count{group="web"} 10`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}

// TestReloadChangesWeightsWithoutErrors reloads 3:1 → 1:3 while keep-alive
// clients keep sending.
func TestReloadChangesWeightsWithoutErrors(t *testing.T) {
	a, b := newBackend(t, "a", nil), newBackend(t, "b", nil)
	mk := func(wa, wb int) *proxy.Config {
		ss := servers(a.addr, b.addr)
		ss[0].Weight, ss[1].Weight = intp(wa), intp(wb)
		return lb(proxy.Group{Name: "web", Servers: ss})
	}
	p := startProxy(t, mk(3, 1), Options{})
	// A request counts for the phase it started and ended in: phase 0
	// ends before the reload begins, phase 1 starts after it returned;
	// phase 2 is the reload itself and counts for neither.
	var mu sync.Mutex
	phase := 0
	count := [3]map[string]int{{}, {}, {}}
	fails := 0
	stop := make(chan struct{})
	var wg sync.WaitGroup
	stopLoad := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopLoad()
	// enough waits until phase ph has n answers (or something failed),
	// however slowly a loaded machine sends them.
	enough := func(ph, n int) {
		t.Helper()
		waitFor(t, 30*time.Second, fmt.Sprintf("%d answers in phase %d", n, ph), func() bool {
			mu.Lock()
			defer mu.Unlock()
			return fails > 0 || count[ph]["a"]+count[ph]["b"] >= n
		})
	}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := client()
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				ph := phase
				mu.Unlock()
				resp, err := c.Get(p.url + "/")
				mu.Lock()
				if err != nil || resp.StatusCode != 200 {
					fails++
				} else if phase == ph {
					count[ph][resp.Header.Get("X-Backend")]++
				}
				mu.Unlock()
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	enough(0, 400)
	mu.Lock()
	phase = 2
	mu.Unlock()
	if err := p.Reload(mk(1, 3)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	phase = 1
	mu.Unlock()
	enough(1, 400)
	// A bad configuration is refused; the current one stays.
	bad := mk(1, 3)
	bad.Listeners[0].Group = "nope"
	if err := p.Reload(bad); err == nil {
		t.Error("a bad configuration was accepted")
	}
	enough(1, 500)
	stopLoad()
	if fails != 0 {
		t.Fatalf("%d requests failed across the reload", fails)
	}
	share := func(m map[string]int) float64 { return float64(m["a"]) / float64(m["a"]+m["b"]) }
	if s0, s1 := share(count[0]), share(count[1]); s0 < 0.70 || s0 > 0.80 || s1 < 0.20 || s1 > 0.30 {
		t.Fatalf("share of a before %.3f (%v), after %.3f (%v); want 3/4 then 1/4", s0, count[0], s1, count[1])
	}
	if a.conns.Load()+b.conns.Load() == 0 {
		t.Fatal("no connections")
	}
}
