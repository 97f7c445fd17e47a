package server

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Certificate is a certificate of the https listeners and the host it was
// given for ("" when only its names count).
type Certificate struct {
	Host string
	tls.Certificate
}

// LoadCertificates reads certificates from --cert specs (HOST=CERT.pem,KEY.pem)
// and from a folder as `lblab certs` writes it (HOST.pem and HOST-key.pem
// per host; ca.pem is skipped), in that order.
func LoadCertificates(specs []string, dir string) ([]Certificate, error) {
	var out []Certificate
	for _, spec := range specs {
		host, files, ok := strings.Cut(spec, "=")
		certPath, keyPath, ok2 := strings.Cut(files, ",")
		if !ok || !ok2 || host == "" || certPath == "" || keyPath == "" {
			return nil, fmt.Errorf("--cert %q: want HOST=CERT.pem,KEY.pem", spec)
		}
		c, err := tls.LoadX509KeyPair(certPath, keyPath)
		if err != nil {
			return nil, fmt.Errorf("--cert %s: %w", host, err)
		}
		out = append(out, Certificate{Host: host, Certificate: c})
	}
	if dir != "" {
		names, err := filepath.Glob(filepath.Join(dir, "*-key.pem"))
		if err != nil {
			return nil, err
		}
		sort.Strings(names)
		for _, keyPath := range names {
			base := strings.TrimSuffix(filepath.Base(keyPath), "-key.pem")
			if base == "ca" {
				continue
			}
			certPath := filepath.Join(dir, base+".pem")
			if _, err := os.Stat(certPath); err != nil {
				continue
			}
			c, err := tls.LoadX509KeyPair(certPath, keyPath)
			if err != nil {
				return nil, fmt.Errorf("--certs %s: %w", base, err)
			}
			out = append(out, Certificate{Host: strings.ReplaceAll(base, "_wildcard", "*"), Certificate: c})
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("--certs %s: no HOST.pem with HOST-key.pem", dir)
		}
	}
	return out, nil
}

// tlsConfig picks a certificate by the client's server name: the host it
// was given for or a name it holds (exact, then a wildcard), else the
// first.
func tlsConfig(certs []Certificate) *tls.Config {
	byName := map[string]*tls.Certificate{}
	add := func(name string, c *tls.Certificate) {
		name = strings.ToLower(name)
		if _, dup := byName[name]; !dup && name != "" {
			byName[name] = c
		}
	}
	for i := range certs {
		c := &certs[i].Certificate
		add(certs[i].Host, c)
		leaf := c.Leaf
		if leaf == nil && len(c.Certificate) > 0 {
			leaf, _ = x509.ParseCertificate(c.Certificate[0])
		}
		if leaf != nil {
			for _, n := range leaf.DNSNames {
				add(n, c)
			}
			for _, ip := range leaf.IPAddresses {
				add(ip.String(), c)
			}
		}
	}
	def := &certs[0].Certificate
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
			if c := byName[name]; c != nil {
				return c, nil
			}
			if _, rest, ok := strings.Cut(name, "."); ok {
				if c := byName["*."+rest]; c != nil {
					return c, nil
				}
			}
			return def, nil
		},
	}
}

// redirectHandler answers every request 301 to the same host and path on
// https (on port, unless it is 443).
func redirectHandler(port string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
			host = "[" + host + "]"
		}
		if port != "" && port != "443" {
			host = net.JoinHostPort(strings.Trim(host, "[]"), port)
		}
		w.Header().Set("Location", "https://"+host+r.URL.RequestURI())
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusMovedPermanently)
	})
}
