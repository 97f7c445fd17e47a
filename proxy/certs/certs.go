// Package certs makes a lab certificate authority and server certificates
// for teaching HTTPS and SNI: `lblab certs --out DIR HOST...`. The keys are
// ECDSA P-256; nothing here is meant for production.
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Validity is how long the certificates are valid. Default a year.
const Validity = 365 * 24 * time.Hour

// Files are the paths Make wrote.
type Files struct {
	// CA and CAKey are the lab CA's certificate and key.
	CA, CAKey string
	// Certs maps each host to its certificate and key paths.
	Certs map[string][2]string
}

// Make writes into dir a lab CA (ca.pem, ca-key.pem; reused when present)
// and, for each host, HOST.pem and HOST-key.pem signed by it. A host may be
// a DNS name, a wildcard (*.example.test) or an IP address.
func Make(dir string, hosts []string, now time.Time) (Files, error) {
	if len(hosts) == 0 {
		return Files{}, fmt.Errorf("certs: name at least one host")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Files{}, fmt.Errorf("certs: %w", err)
	}
	f := Files{CA: filepath.Join(dir, "ca.pem"), CAKey: filepath.Join(dir, "ca-key.pem"), Certs: map[string][2]string{}}
	ca, caKey, err := loadCA(f.CA, f.CAKey)
	if err != nil {
		return Files{}, err
	}
	if ca == nil {
		if ca, caKey, err = newCA(now); err != nil {
			return Files{}, err
		}
		if err := writePair(f.CA, f.CAKey, ca.Raw, caKey); err != nil {
			return Files{}, err
		}
	}
	for _, h := range hosts {
		if h == "" || strings.ContainsAny(h, "/\\ ") {
			return Files{}, fmt.Errorf("certs: %q is not a host name", h)
		}
		der, key, err := newLeaf(h, ca, caKey, now)
		if err != nil {
			return Files{}, err
		}
		base := strings.ReplaceAll(h, "*", "_wildcard")
		cert, keyPath := filepath.Join(dir, base+".pem"), filepath.Join(dir, base+"-key.pem")
		if err := writePair(cert, keyPath, der, key); err != nil {
			return Files{}, err
		}
		f.Certs[h] = [2]string{cert, keyPath}
	}
	return f, nil
}

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
}

func newCA(now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %w", err)
	}
	sn, err := serial()
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn, Subject: pkix.Name{CommonName: "lblab lab CA", Organization: []string{"lblab"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(Validity),
		IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %w", err)
	}
	ca, err := x509.ParseCertificate(der)
	return ca, key, err
}

func newLeaf(host string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, now time.Time) ([]byte, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %w", err)
	}
	sn, err := serial()
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn, Subject: pkix.Name{CommonName: host},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(Validity),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %s: %w", host, err)
	}
	return der, key, nil
}

func writePair(certPath, keyPath string, der []byte, key *ecdsa.PrivateKey) error {
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	return nil
}

// loadCA reads an existing lab CA, or returns nils when there is none.
func loadCA(certPath, keyPath string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cb, err := os.ReadFile(certPath)
	if os.IsNotExist(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %w", err)
	}
	kb, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %s exists but its key: %w", certPath, err)
	}
	cblock, _ := pem.Decode(cb)
	kblock, _ := pem.Decode(kb)
	if cblock == nil || kblock == nil {
		return nil, nil, fmt.Errorf("certs: %s or %s is not PEM", certPath, keyPath)
	}
	ca, err := x509.ParseCertificate(cblock.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %s: %w", certPath, err)
	}
	key, err := x509.ParseECPrivateKey(kblock.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %s: %w", keyPath, err)
	}
	return ca, key, nil
}
