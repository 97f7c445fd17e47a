package server

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// nginxProc is an nginx that startNginx started.
type nginxProc struct {
	addr   string // the loopback address it listens on
	errLog string // its error log (level info)
	// stop stops it (SIGQUIT, SIGKILL after 5 s); it runs at the test's
	// end as well.
	stop func()
}

// startNginx runs nginx (one process in the foreground: no daemon, no
// master) with a configuration in a temporary prefix directory, on a free
// loopback port, and returns once it accepts connections. http gives the
// contents of the http block (upstreams, servers) for the address to
// listen on; the temporary paths and the logs are set here.
func startNginx(t *testing.T, bin string, http func(listen string) string) nginxProc {
	t.Helper()
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	errLog := filepath.Join(dir, "error.log")
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[2]s info;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
%[3]s
}
`, dir, errLog, http(addr))
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir+"/", "-c", path, "-e", errLog)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	t.Cleanup(stop)
	waitFor(t, 15*time.Second, "nginx listens on "+addr, func() bool {
		select {
		case <-exited:
			log, _ := os.ReadFile(errLog)
			t.Fatalf("nginx exited: %s%s\nconfig:\n%s", out.String(), log, conf)
		default:
		}
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return nginxProc{addr: addr, errLog: errLog, stop: stop}
}
