package scenarios

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lblab/lblab/history"
	"github.com/lblab/lblab/proxy/nginxconf"
	"github.com/lblab/lblab/scenarios/labfile"
)

// TestNginxEvents: nginx's access log lines become the proxy's request
// events as lblab proxy writes them: a retried request answered by the
// second server, a refused one, a timeout, no server left, a tcp
// session and a failed one.
func TestNginxEvents(t *testing.T) {
	epoch := time.Unix(1700000000, 0)
	back := map[string]string{"198.18.1.1:80": "app1:80", "198.18.1.2:80": "app2:80", "198.18.1.3:7": "r1:7"}
	line := func(msec, rt, status, addr, ups, conn string) string {
		return `{"msec":"` + msec + `","request_time":"` + rt + `","status":"` + status + `","remote_addr":"198.18.2.1","remote_port":"1","server_port":"8000","proxy_host":"app","upstream_addr":"` +
			addr + `","upstream_status":"` + ups + `","upstream_connect_time":"` + conn + `","upstream_response_time":"-"}`
	}
	log := strings.Join([]string{
		line("1700000001.250", "0.050", "200", "198.18.1.1:80, 198.18.1.2:80", "502, 200", "-, 0.001"),
		line("1700000002.000", "0.001", "502", "198.18.1.1:80", "502", "-"),
		line("1700000003.000", "1.000", "504", "198.18.1.2:80", "504", "0.001"),
		line("1700000004.000", "0.000", "502", "app", "502", "-"),
		"",
		`{"msec":"1700000005.500","request_time":"0.500","status":"200","remote_addr":"198.18.2.2","remote_port":"1","server_port":"9000","upstream_addr":"198.18.1.3:7","upstream_connect_time":"0.001","bytes_sent":"5","bytes_received":"5"}`,
		`{"msec":"1700000006.000","request_time":"0.000","status":"502","remote_addr":"198.18.2.2","remote_port":"1","server_port":"9000","upstream_addr":"198.18.1.3:7","upstream_connect_time":"-","bytes_sent":"0","bytes_received":"0"}`,
	}, "\n")
	got, err := nginxEvents([]byte(log), "access.log", epoch, back, map[int]string{8000: "app", 9000: "redis"})
	if err != nil {
		t.Fatal(err)
	}
	s := func(d time.Duration) history.Stamp { return history.Stamp(d) }
	req := func(at, took time.Duration, client, group, backend string, status int, class string, tries int) history.Event {
		return history.Event{T: s(at), Kind: history.KindRequest, Client: client, Group: group, Backend: backend,
			Status: status, Error: class, Start: s(at - took), Latency: s(took), Tries: tries}
	}
	want := []history.Event{
		req(1250*time.Millisecond, 50*time.Millisecond, "198.18.2.1", "app", "app2:80", 200, "", 2),
		req(2*time.Second, time.Millisecond, "198.18.2.1", "app", "app1:80", 502, "refused", 1),
		req(3*time.Second, time.Second, "198.18.2.1", "app", "app2:80", 504, "timeout", 1),
		req(4*time.Second, 0, "198.18.2.1", "app", "", 502, "no_server", 0),
		req(5500*time.Millisecond, 500*time.Millisecond, "198.18.2.2", "redis", "r1:7", 0, "", 1),
		req(6*time.Second, 0, "198.18.2.2", "redis", "", 0, "refused", 1),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
	if _, err := nginxEvents([]byte("not json\n"), "access.log", epoch, back, nil); err == nil || !strings.Contains(err.Error(), "access.log:1") {
		t.Errorf("a bad line: %v", err)
	}
}

// TestNginxCatalog: every catalog load-balancer lab either runs with
// nginx, and then Import reads back the same load balancer from its
// export and nginx -t accepts the export as the netns world writes it,
// or is refused at validation at a field of its lb section.
func TestNginxCatalog(t *testing.T) {
	entries, err := Catalog()
	if err != nil {
		t.Fatal(err)
	}
	bin, nerr := nginxBinary()
	if nerr != nil && os.Getenv("CI") == "true" {
		t.Fatal("CI=true but nginx is not installed")
	}
	runs := 0
	for _, e := range entries {
		lab, err := Load(e.Name, nil)
		if err != nil || lab.LB == nil || len(lab.Services) > 0 {
			continue
		}
		t.Run(e.Name, func(t *testing.T) {
			_, verr := Load(e.Name, []string{"impl={proxy: nginx}"})
			refusals := nginxconf.Refusals(lab.LB)
			if len(refusals) > 0 {
				if verr == nil || !strings.Contains(verr.Error(), "lb."+refusals[0].Field) {
					t.Fatalf("refused for %s: %s, but validation says %v", refusals[0].Field, refusals[0].Text, verr)
				}
				t.Logf("refused: lb.%s: %s", refusals[0].Field, refusals[0].Text)
				return
			}
			if verr != nil {
				t.Fatal(verr)
			}
			runs++
			text, err := nginxconf.Export(lab.LB, nginxconf.ExportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			back, _, err := nginxconf.Import(e.Name, text)
			if err != nil {
				t.Fatalf("%v\n%s", err, text)
			}
			if want, got := nginxconf.Canonical(lab.LB, ""), nginxconf.Canonical(back, ""); !reflect.DeepEqual(want, got) {
				t.Errorf("round trip differs:\nwant %+v\ngot  %+v\n%s", want, got, text)
			}
			if nerr != nil {
				t.Skip("nginx is not installed: skipping nginx -t")
			}
			nginxAccepts(t, bin, lab)
		})
	}
	if runs == 0 {
		t.Error("no catalog lab runs with nginx")
	}
}

// nginxAccepts runs nginx -t on lab's export with the netns world's
// options, its servers at loopback addresses.
func nginxAccepts(t *testing.T, bin string, lab *labfile.Lab) {
	t.Helper()
	dir := t.TempDir()
	resolve := map[string]string{}
	for i, b := range lab.Backends {
		host, _, _ := strings.Cut(b.Address, ":")
		resolve[host] = "127.0.1." + string(rune('1'+i%9))
	}
	v, _ := exec.Command(bin, "-V").CombinedOutput()
	module, _ := nginxconf.StreamModule(string(v))
	text, err := nginxconf.Export(lab.LB, nginxconf.ExportOptions{Resolve: resolve, AccessLog: dir + "/access.log",
		StreamAccessLog: dir + "/stream.log", ErrorLog: dir + "/error.log", PID: dir + "/nginx.pid", TempDir: dir,
		StreamModule: module, Keepalive: nginxKeepalive, KeepaliveTimeout: nginxKeepaliveTimeout})
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, text, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-t", "-c", conf, "-p", dir+"/", "-e", dir+"/error.log").CombinedOutput()
	if err != nil {
		t.Errorf("nginx -t: %v: %s\n%s", err, out, text)
	}
}

// TestGroupGone: after a SIGKILL of a process group, groupGone returns
// only once its children are gone too (nginx's workers beside its
// master), and groupAlive says a group with a running child is alive.
func TestGroupGone(t *testing.T) {
	cmd := exec.Command("sh", "-c", "sleep 60 & sleep 60 & wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	deadline := time.Now().Add(5 * time.Second)
	for exec.Command("pgrep", "-g", strconv.Itoa(pgid), "sleep").Run() != nil {
		if time.Now().After(deadline) {
			t.Fatal("the children did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !groupAlive(pgid) {
		t.Fatal("groupAlive: false for a running group")
	}
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if err := groupGone(pgid, lbKillWait); err != nil {
		t.Fatal(err)
	}
	// What pgrep still lists are zombies (init has not reaped them yet).
	out, _ := exec.Command("pgrep", "-g", strconv.Itoa(pgid)).Output()
	for _, pid := range strings.Fields(string(out)) {
		b, err := os.ReadFile("/proc/" + pid + "/stat")
		if err == nil && !strings.Contains(string(b), ") Z ") {
			t.Errorf("process %s of the group runs: %s", pid, b)
		}
	}
}
