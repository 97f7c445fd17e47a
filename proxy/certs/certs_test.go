package certs

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"testing"
	"time"
)

func TestCertificatesServeTheirNamesOverSNI(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	f, err := Make(dir, []string{"a.lab.test", "b.lab.test", "127.0.0.1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(f.CA)
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("ca.pem does not parse")
	}
	var certs []tls.Certificate
	for _, h := range []string{"a.lab.test", "b.lab.test"} {
		c, err := tls.LoadX509KeyPair(f.Certs[h][0], f.Certs[h][1])
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: certs})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _ = c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	for _, h := range []string{"a.lab.test", "b.lab.test"} {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(),
			&tls.Config{ServerName: h, RootCAs: pool})
		if err != nil {
			t.Fatalf("%s: %v", h, err)
		}
		if got := conn.ConnectionState().PeerCertificates[0].DNSNames[0]; got != h {
			t.Errorf("asked for %s, served %s", h, got)
		}
		conn.Close()
	}
	// A second call reuses the CA: the first certificates still verify.
	if _, err := Make(dir, []string{"c.lab.test"}, now); err != nil {
		t.Fatal(err)
	}
	caPEM2, _ := os.ReadFile(f.CA)
	if string(caPEM2) != string(caPEM) {
		t.Fatal("the CA was replaced")
	}
	if _, err := Make(dir, nil, now); err == nil {
		t.Fatal("no hosts accepted")
	}
}
