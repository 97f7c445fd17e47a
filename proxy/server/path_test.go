package server

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestPathCheckMatchesNginx: validPath refuses exactly the paths nginx
// 1.22 answers 400 (its complex URI parser: "..", "." and merged slashes,
// escapes of them, %00 and bad escapes), over random paths made of the
// characters that matter (fixed seed).
func TestPathCheckMatchesNginx(t *testing.T) {
	ngx := startNginx(t, nginxBinary(t), func(listen string) string {
		return `  server { listen ` + listen + `; location / { return 200 "ok"; } }`
	}).addr
	rnd := rand.New(rand.NewPCG(1, 2))
	alpha := []byte("/.%2e3fF05a?#")
	var c net.Conn
	var br *bufio.Reader
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	for i := range 5000 {
		p := []byte{'/'}
		for range 1 + rnd.IntN(10) {
			p = append(p, alpha[rnd.IntN(len(alpha))])
		}
		if c == nil {
			var err error
			if c, err = net.Dial("tcp", ngx); err != nil {
				t.Fatal(err)
			}
			br = bufio.NewReader(c)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", p)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("path %d, %q: nginx: %v", i, p, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			c.Close() // nginx closes after a 400
			c = nil
		}
		if ours := validPath(p); ours != (resp.StatusCode == 200) {
			t.Errorf("%q: nginx answers %d, validPath says %v", p, resp.StatusCode, ours)
		}
	}
}
