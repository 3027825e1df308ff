package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nv2-signing/nv2/internal/testregistry"
)

// Files, secrets and transport, through the CLI as a user meets them.

// TestPrivateKeyProtections: keys are written 0600, never overwritten
// without --force (TestCertGenerateNeverOverwrites), and refused, with the
// fix, when others can read them; nothing is pushed then.
func TestPrivateKeyProtections(t *testing.T) {
	reg := testregistry.Start(t, testregistry.GGCR)
	testregistry.PushImage(t, reg, "app", "v1", "keys")
	c := newCLI(t)
	key, cert := c.keys("owner", "--ca")
	for _, k := range []string{key, filepath.Join(filepath.Dir(key), "owner-ca.key")} {
		if info, err := os.Stat(k); err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("%s: mode %v, %v; want 0600", k, info.Mode().Perm(), err)
		}
	}
	ref := reg.Host + "/app:v1"
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604} {
		if err := os.Chmod(key, mode); err != nil {
			t.Fatal(err)
		}
		reg.Reset()
		r := c.run("sign", "--key", key, "--cert", cert, ref)
		if r.code != exitError || !strings.Contains(r.stderr, "chmod 600 "+key) {
			t.Errorf("key mode %04o: exit %d, want 1 with the fix (chmod 600 %s):\n%s", mode, r.code, key, r.stderr)
		}
		if reg.Count() != 0 {
			t.Errorf("key mode %04o: %d requests sent with a refused key", mode, reg.Count())
		}
	}
	if err := os.Chmod(key, 0o600); err != nil {
		t.Fatal(err)
	}
	c.must(0, "sign", "--key", key, "--cert", cert, ref)
	// No temporary file is left beside the keys.
	entries, _ := os.ReadDir(filepath.Dir(key))
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

// TestTrustStoreRefusesUnsafeFiles: a trust store file (or folder) that is
// a symbolic link or writable by other users, and a trust policy writable
// by them, stop verify and cert list with the fix.
func TestTrustStoreRefusesUnsafeFiles(t *testing.T) {
	reg := testregistry.Start(t, testregistry.GGCR)
	testregistry.PushImage(t, reg, "app", "v1", "store")
	c := newCLI(t)
	key, cert := c.keys("acme")
	ref := reg.Host + "/app:v1"
	c.must(0, "sign", "--key", key, "--cert", cert, ref)
	c.must(0, "cert", "add", "--store", "acme", cert)
	policy := filepath.Join(c.dir, "policy.json")
	if err := os.WriteFile(policy, []byte(`{"version":"1.0","trustPolicies":[{"name":"all","registryScopes":["*"],"signatureVerification":{"level":"strict"},"trustStores":["ca:acme"],"trustedIdentities":["*"]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c.must(0, "policy", "import", policy)
	c.must(0, "verify", ref)
	stored := filepath.Join(c.dir, "config", "nv2", "truststore", "x509", "ca", "acme", filepath.Base(cert))
	policyPath := filepath.Join(c.dir, "config", "nv2", "trustpolicy.json")
	elsewhere := filepath.Join(c.dir, "elsewhere.crt")

	for _, tt := range []struct {
		name            string
		unsafe, restore func()
		wants           []string
	}{
		{
			name:    "certificate file is a symbolic link",
			unsafe:  func() { mustDo(t, os.Rename(stored, elsewhere)); mustDo(t, os.Symlink(elsewhere, stored)) },
			restore: func() { mustDo(t, os.Remove(stored)); mustDo(t, os.Rename(elsewhere, stored)) },
			wants:   []string{stored, "symbolic link"},
		},
		{
			name:    "certificate file writable by everyone",
			unsafe:  func() { mustDo(t, os.Chmod(stored, 0o666)) },
			restore: func() { mustDo(t, os.Chmod(stored, 0o644)) },
			wants:   []string{"writable by other users", "chmod go-w " + stored},
		},
		{
			name:    "store folder writable by everyone",
			unsafe:  func() { mustDo(t, os.Chmod(filepath.Dir(stored), 0o777)) },
			restore: func() { mustDo(t, os.Chmod(filepath.Dir(stored), 0o755)) },
			wants:   []string{"writable by other users", "chmod go-w " + filepath.Dir(stored)},
		},
		{
			name:    "trust policy writable by everyone",
			unsafe:  func() { mustDo(t, os.Chmod(policyPath, 0o666)) },
			restore: func() { mustDo(t, os.Chmod(policyPath, 0o644)) },
			wants:   []string{"chmod go-w " + policyPath},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.unsafe()
			defer tt.restore()
			r := c.run("verify", ref)
			if r.code != exitError {
				t.Errorf("verify: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
			}
			for _, want := range tt.wants {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("verify's error does not say %q:\n%s", want, r.stderr)
				}
			}
			if !strings.Contains(tt.name, "policy") {
				if l := c.run("cert", "list"); l.code != exitError || !strings.Contains(l.stderr, tt.wants[0]) {
					t.Errorf("cert list: exit %d, want 1 naming %q:\n%s%s", l.code, tt.wants[0], l.stdout, l.stderr)
				}
			}
		})
	}
	c.must(0, "verify", ref) // all restored
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestTokenAuthSecretsNeverPrinted: on a registry with bearer token auth
// (CNCF distribution's "token" auth and a token server), neither the
// password nor any token appears in output, errors or --debug logs.
func TestTokenAuthSecretsNeverPrinted(t *testing.T) {
	const user, pass = "alice", "t0ken-user-pa55word"
	reg, issuer := testregistry.StartWithTokenAuth(t, user, pass)
	layout := buildLayout(t)
	c := newCLI(t)
	key, cert := c.keys("token-signer")
	ref := reg.Host + "/private/net-monitor:v1"
	creds := []string{"-u", user, "-p", pass}

	var outs []result
	keep := func(r result) result { outs = append(outs, r); return r }
	// No credentials: refused, with the way to log in.
	r := keep(c.run("verify", "--cert", cert, ref))
	if r.code != exitError || !strings.Contains(r.stderr, "docker login "+reg.Host) {
		t.Errorf("no credentials: exit %d\n%s", r.code, r.stderr)
	}
	// A wrong password: the token server refuses it.
	r = keep(c.run(append([]string{"verify", "--debug", "--cert", cert, "-u", user, "-p", "wrong-" + pass}, ref)...))
	if r.code != exitError {
		t.Errorf("wrong password: exit %d\n%s", r.code, r.stderr)
	}
	keep(c.must(0, append(append([]string{"copy", "--debug"}, creds...), "--from-oci-layout", layout+":v1", ref)...))
	keep(c.must(0, append(append([]string{"sign", "--debug"}, creds...), "--key", key, "--cert", cert, ref)...))
	keep(c.must(0, append(append([]string{"verify", "--debug"}, creds...), "--cert", cert, ref)...))
	keep(c.must(0, append(append([]string{"inspect", "--debug", "-o", "json"}, creds...), ref)...))
	// Credentials from the environment, and from the docker config.
	keep(newCLI(t, "NV2_USERNAME="+user, "NV2_PASSWORD="+pass).must(0, "discover", "--debug", ref))
	docker := newCLI(t)
	mustDo(t, os.MkdirAll(filepath.Join(docker.dir, "docker"), 0o700))
	mustDo(t, os.WriteFile(filepath.Join(docker.dir, "docker", "config.json"),
		[]byte(`{"auths":{"`+reg.Host+`":{"auth":"`+basic(user, pass)+`"}}}`), 0o600))
	keep(docker.must(0, "verify", "--debug", "--cert", cert, ref))

	tokens := issuer.Issued()
	if len(tokens) == 0 {
		t.Fatal("no token was issued: the registry did not use token auth")
	}
	secrets := []string{pass, basic(user, pass), base64.RawStdEncoding.EncodeToString([]byte(user + ":" + pass))}
	for _, tok := range tokens {
		secrets = append(secrets, tok, tok[strings.LastIndexByte(tok, '.')+1:]) // the token, and its signature alone
	}
	sawBearer := false
	for _, out := range outs {
		text := out.stdout + out.stderr
		sawBearer = sawBearer || strings.Contains(text, "(auth: Bearer <redacted>)")
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Fatalf("a secret (%.12s...) appears in the output:\n%s", s, text)
			}
		}
	}
	if !sawBearer {
		t.Error("--debug never showed a (redacted) bearer token: the test did not see token auth at work")
	}
}

// tlsPKI is a CA and a server certificate for the given IPs.
type tlsPKI struct {
	caFile string
	server tls.Certificate
}

func newTLSPKI(t *testing.T, name string, ips ...net.IP) tlsPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name + " CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), name+"-ca.pem")
	mustDo(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644))
	return tlsPKI{caFile: caFile, server: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}}
}

// nonLoopbackIP is an IPv4 address of this machine that is not loopback,
// or nil.
func nonLoopbackIP() net.IP {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.To4()
		}
	}
	return nil
}

// TestTLS: HTTPS with certificate checks is the default; --ca-file adds a
// CA for a private registry; --insecure skips the check but keeps TLS, and
// is separate from --plain-http. The registry is a real one behind an HTTPS
// server; loopback hosts default to plain HTTP (unless --ca-file or
// --insecure), so the default is also checked on a non-loopback address of
// this machine when it has one.
func TestTLS(t *testing.T) {
	reg := testregistry.Start(t, testregistry.GGCR)
	testregistry.PushImage(t, reg, "app", "v1", "tls")
	upstream, _ := url.Parse(reg.URL)
	ips := []net.IP{net.IPv4(127, 0, 0, 1)}
	other := nonLoopbackIP()
	if other != nil {
		ips = append(ips, other)
	}
	pki := newTLSPKI(t, "registry", ips...)
	wrong := newTLSPKI(t, "someone-else", ips...)

	srv := httptest.NewUnstartedServer(httputil.NewSingleHostReverseProxy(upstream))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes of the plain HTTP cases
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pki.server}, MinVersion: tls.VersionTLS12}
	if other != nil {
		l, err := net.Listen("tcp", "0.0.0.0:0")
		if err != nil {
			t.Fatal(err)
		}
		srv.Listener.Close()
		srv.Listener = l
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	port := srv.Listener.Addr().(*net.TCPAddr).Port

	c := newCLI(t)
	key, cert := c.keys("tls-signer")
	loopback := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	ref := loopback + "/app:v1"
	c.must(0, "sign", "--ca-file", pki.caFile, "--key", key, "--cert", cert, ref)

	type tc struct {
		name string
		host string
		args []string
		want int
		says string
	}
	cases := []tc{
		{"loopback with --ca-file", loopback, []string{"--ca-file", pki.caFile}, 0, ""},
		{"loopback with --insecure", loopback, []string{"--insecure"}, 0, ""},
		{"loopback with another CA", loopback, []string{"--ca-file", wrong.caFile}, exitError, "--ca-file"},
		{"loopback with --ca-file and --plain-http", loopback, []string{"--ca-file", pki.caFile, "--plain-http"}, exitError, ""},
		{"loopback by default: plain HTTP", loopback, nil, exitError, "--ca-file or --insecure"},
	}
	if other != nil {
		host := net.JoinHostPort(other.String(), strconv.Itoa(port))
		cases = append(cases,
			tc{"non-loopback by default: HTTPS, certificate checked", host, nil, exitError, "--ca-file"},
			tc{"non-loopback with --ca-file", host, []string{"--ca-file", pki.caFile}, 0, ""},
			tc{"non-loopback with another CA", host, []string{"--ca-file", wrong.caFile}, exitError, "not trusted"},
			tc{"non-loopback with --insecure", host, []string{"--insecure"}, 0, ""},
			tc{"non-loopback with --plain-http", host, []string{"--plain-http"}, exitError, "drop --plain-http"},
		)
	} else {
		t.Log("no non-loopback address: the HTTPS default is checked by pkg/registry's TestPlainHTTPRule only")
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			r := c.run(append(append([]string{"verify", "--timeout", "20s", "--cert", cert}, tt.args...), tt.host+"/app:v1")...)
			t.Log(strings.TrimSpace(r.stderr))
			if r.code != tt.want {
				t.Errorf("exit %d, want %d\n%s%s", r.code, tt.want, r.stdout, r.stderr)
			}
			if tt.says != "" && !strings.Contains(r.stderr, tt.says) {
				t.Errorf("the error does not say %q", tt.says)
			}
		})
	}
}
