package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

var accountingLine = regexp.MustCompile(`(?m)^sent (\d+) = completed (\d+) \+ failed (\d+) \+ timed out (\d+)(?: \+ cancelled (\d+))?$`)

// accounting parses the accounting line and checks that it sums.
func accounting(t *testing.T, stdout string) (sent, completed, failed, timedOut, cancelled int) {
	t.Helper()
	m := accountingLine.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no accounting line:\n%s", stdout)
	}
	sent, completed, failed, timedOut = atoi(t, m[1]), atoi(t, m[2]), atoi(t, m[3]), atoi(t, m[4])
	if m[5] != "" {
		cancelled = atoi(t, m[5])
	}
	if u := sent - completed - failed - timedOut - cancelled; u != 0 {
		t.Fatalf("%d requests unaccounted:\n%s", u, stdout)
	}
	if strings.Contains(stdout, "UNACCOUNTED") {
		t.Fatalf("unaccounted requests:\n%s", stdout)
	}
	return
}

// The acceptance point: lblab load -c 50 -n 100000 -k URL against lblab
// backend accounts for every request.
func TestLoad100kAgainstBackend(t *testing.T) {
	b := startLblabBackend(t, "--name", "a")
	start := time.Now()
	code, stdout, stderr := lblab(t, "load", "-c", "50", "-n", "100000", "-k", "http://"+b.addr+"/")
	took := time.Since(start)
	wantExit(t, code, 0, stdout, stderr)
	sent, completed, _, _, _ := accounting(t, stdout)
	if sent != 100000 || completed != 100000 {
		t.Fatalf("want 100000 sent and completed:\n%s", stdout)
	}
	if !strings.Contains(stdout, "sent 100000 = completed 100000 + failed 0 + timed out 0\n") ||
		!strings.Contains(stdout, "backends: a 100000 (100.0%)") {
		t.Fatalf("summary:\n%s", stdout)
	}
	t.Logf("%s (wall time %s)", accountingLine.FindString(stdout), took.Round(time.Millisecond))
}

func TestLoadFailuresExitOne(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	code, stdout, stderr := lblab(t, "load", "-n", "10", "http://"+addr+"/")
	wantExit(t, code, 1, stdout, stderr)
	if !strings.Contains(stdout, "sent 10 = completed 0 + failed 10 + timed out 0\n") || !strings.Contains(stdout, "errors: refused 10") {
		t.Fatalf("refused:\n%s", stdout)
	}
}

func TestLoadOpenLoopCommand(t *testing.T) {
	b := startLblabBackend(t, "--name", "o")
	code, stdout, stderr := lblab(t, "load", "--rate", "1000", "-t", "0.5", "-k", "http://"+b.addr+"/")
	wantExit(t, code, 0, stdout, stderr)
	if sent, completed, _, _, _ := accounting(t, stdout); sent != 500 || completed != 500 {
		t.Fatalf("1000 req/s for 0.5 s:\n%s", stdout)
	}
	if !strings.Contains(stdout, "open loop at 1000 req/s, up to 64 connections, keep-alive, 500ms") {
		t.Fatalf("plan line:\n%s", stdout)
	}
}

// An interrupted run (SIGINT cancels the command's context) still sums,
// with the cancelled requests a bucket of their own.
func TestLoadInterrupted(t *testing.T) {
	b := startLblabBackend(t, "--name", "slow", "--latency", "20ms")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Interrupt once the backend has answered 20 requests, however slowly
	// a loaded machine gets there: of 10 clients one has then had two
	// answers, so some request completed, and others are under way.
	go func() {
		defer cancel()
		for ctx.Err() == nil {
			var st struct{ Requests int64 }
			if resp, err := http.Get("http://" + b.addr + "/_lblab/stats"); err == nil {
				err = json.NewDecoder(resp.Body).Decode(&st)
				resp.Body.Close()
				if err == nil && st.Requests >= 20 {
					return
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	var out, errOut bytes.Buffer
	code := execute(ctx, []string{"load", "-c", "10", "-n", "1000000", "-k", "http://" + b.addr + "/"}, &out, &errOut)
	wantExit(t, code, 1, out.String(), errOut.String())
	_, completed, _, _, cancelled := accounting(t, out.String())
	if completed == 0 || cancelled == 0 || !strings.Contains(out.String(), "interrupted: ") {
		t.Fatalf("interrupted run:\n%s", out.String())
	}
}

func TestLoadBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"load"},
		{"load", "ftp://127.0.0.1/"},
		{"load", "-c", "0", "http://127.0.0.1:1/"},
		{"load", "-n", "0", "http://127.0.0.1:1/"},
		{"load", "-t", "soon", "http://127.0.0.1:1/"},
		{"load", "--rate", "-1", "http://127.0.0.1:1/"},
		{"load", "-H", "nocolon", "http://127.0.0.1:1/"},
		{"load", "-b", "@/does/not/exist", "http://127.0.0.1:1/"},
		{"load", "--timeout", "0", "http://127.0.0.1:1/"},
		{"load", "--rate", "10", "--think", "1s", "http://127.0.0.1:1/"},
	} {
		code, stdout, stderr := lblab(t, args...)
		wantExit(t, code, 2, stdout, stderr)
	}
}

// lblab load --out writes the run's history (one request event a request)
// and its results.json: the name given, both expectations held, and the
// metrics of the run.
func TestLoadOutWritesHistoryAndResults(t *testing.T) {
	b := startLblabBackend(t, "--name", "a")
	dir := t.TempDir()
	code, stdout, stderr := lblab(t, "load", "-c", "4", "-n", "200", "--out", dir, "--name", "smoke", "http://"+b.addr+"/")
	wantExit(t, code, 0, stdout, stderr)
	r := readResults(t, dir)
	if r.Lab != "smoke" || !r.Passed || len(r.Expectations) != 2 || !r.Expectations[0].Passed || !r.Expectations[1].Passed {
		t.Fatalf("results.json: %+v", r)
	}
	if got := r.Metrics["requests_sent"]; got != float64(200) {
		t.Errorf("metrics requests_sent %v, want 200 (%v)", got, r.Metrics)
	}
	h, err := os.ReadFile(filepath.Join(dir, "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(h, []byte(`"kind":"request"`)); n != 200 {
		t.Errorf("history.jsonl: %d request events, want 200", n)
	}
}
