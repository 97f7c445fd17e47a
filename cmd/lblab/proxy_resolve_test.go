package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lblab/lblab/history"
)

// TestProxyResolveKeepsTheLabsNames: --resolve app=127.0.0.1 connects to
// server "app:PORT" on loopback, and the history names it app:PORT.
func TestProxyResolveKeepsTheLabsNames(t *testing.T) {
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	t.Cleanup(be.Close)
	_, bport, _ := net.SplitHostPort(be.Listener.Addr().String())
	server := "app:" + bport
	port := freePort(t)
	cfg := writeFile(t, "lb.yaml", fmt.Sprintf("listeners:\n  - port: %d\n    group: web\ngroups:\n  - name: web\n    servers:\n      - address: %q\n",
		port, server))
	hist := filepath.Join(t.TempDir(), "history.jsonl")
	rp, addrs := startLblabProxy(t, 1, "--config", cfg, "--history", hist, "--resolve", "app=127.0.0.1", "--resolve", "other=::1")
	for range 3 {
		resp, err := http.Get("http://" + addrs[0] + "/")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if code := rp.stop(); code != 0 {
		t.Fatalf("exit %d: %s", code, rp.log)
	}
	f, err := os.Open(hist)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	evs, err := history.ReadJSONL(f, hist)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Kind == history.KindRequest {
			if e.Backend != server || e.Status != 200 {
				t.Fatalf("event %+v, want backend %s and 200", e, server)
			}
			n++
		}
	}
	if n != 3 {
		t.Fatalf("%d request events, want 3", n)
	}
}

func TestProxyResolveRefusesBadPairs(t *testing.T) {
	cfg := writeFile(t, "lb.yaml", "listeners:\n  - port: 1\n    group: web\ngroups:\n  - name: web\n    servers:\n      - address: \"app:80\"\n")
	for _, bad := range []string{"app", "app=", "=10.0.0.1", "app=10.0.0", "app:80=10.0.0.1"} {
		var out, errOut strings.Builder
		if code := execute(t.Context(), []string{"proxy", "--config", cfg, "--resolve", bad}, &out, &errOut); code != 2 {
			t.Errorf("--resolve %s: exit %d, want 2: %s", bad, code, errOut.String())
		} else if !strings.Contains(errOut.String(), "want NAME=IP") {
			t.Errorf("--resolve %s: %s", bad, errOut.String())
		}
	}
	var out, errOut strings.Builder
	code := execute(t.Context(), []string{"proxy", "--config", cfg, "--resolve", "a=10.0.0.1", "--resolve", "a=10.0.0.2"}, &out, &errOut)
	if code != 2 || !strings.Contains(errOut.String(), "given twice") {
		t.Errorf("twice: exit %d: %s", code, errOut.String())
	}
}
