package crypto_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
)

func generate(t testing.TB, opts nvcrypto.GenerateOptions) *nvcrypto.Credentials {
	t.Helper()
	c, err := nvcrypto.Generate(opts)
	if err != nil {
		t.Fatalf("Generate(%+v): %v", opts, err)
	}
	return c
}

func TestParseKeyType(t *testing.T) {
	for _, k := range nvcrypto.KeyTypes {
		if got, err := nvcrypto.ParseKeyType(strings.ToUpper(string(k))); err != nil || got != k {
			t.Errorf("ParseKeyType(%q) = %q, %v", k, got, err)
		}
	}
	_, err := nvcrypto.ParseKeyType("rsa-1024")
	if err == nil || !strings.Contains(err.Error(), "ecdsa-p256") {
		t.Errorf("ParseKeyType(rsa-1024) error = %v; want one listing the valid types", err)
	}
}

func TestGenerateSelfSigned(t *testing.T) {
	notBefore := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	c := generate(t, nvcrypto.GenerateOptions{CommonName: "alice", NotBefore: notBefore, Validity: 48 * time.Hour})
	if len(c.Chain) != 1 || c.CAKey != nil {
		t.Fatalf("self-signed: chain of %d, CA key %v; want 1 certificate and no CA key", len(c.Chain), c.CAKey)
	}
	leaf := c.Chain[0]
	checkLeaf(t, leaf, "alice")
	if !bytes.Equal(leaf.RawIssuer, leaf.RawSubject) || leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) != nil {
		t.Error("the leaf is not self-signed")
	}
	if !leaf.NotBefore.Equal(notBefore) || !leaf.NotAfter.Equal(notBefore.Add(48*time.Hour)) {
		t.Errorf("validity %s - %s; want %s + 48h", leaf.NotBefore, leaf.NotAfter, notBefore)
	}
	if alg, _ := nvcrypto.AlgorithmFor(c.Key.Public()); alg != nvcrypto.ES256 {
		t.Errorf("default key signs with %s; want ES256 (ecdsa-p256)", alg)
	}
	if err := nvcrypto.CheckKeyMatchesCertificate(c.Key, leaf); err != nil {
		t.Error(err)
	}
	if err := nvcrypto.ValidateChain(c.Chain, notBefore.Add(time.Hour)); err != nil {
		t.Errorf("generated chain is invalid: %v", err)
	}
}

func TestGenerateWithCA(t *testing.T) {
	c := generate(t, nvcrypto.GenerateOptions{CommonName: "bob", KeyType: nvcrypto.RSA2048, CA: true})
	if len(c.Chain) != 2 || c.CAKey == nil {
		t.Fatalf("with CA: chain of %d, CA key %v; want [leaf, ca] and a CA key", len(c.Chain), c.CAKey)
	}
	leaf, ca := c.Chain[0], c.Chain[1]
	checkLeaf(t, leaf, "bob")
	if ca.Subject.CommonName != "bob CA" {
		t.Errorf("CA CN = %q; want %q", ca.Subject.CommonName, "bob CA")
	}
	if !ca.BasicConstraintsValid || !ca.IsCA || ca.MaxPathLen != 0 || !ca.MaxPathLenZero {
		t.Errorf("CA basicConstraints: valid=%v cA=%v pathLen=%d; want cA=true pathLen=0", ca.BasicConstraintsValid, ca.IsCA, ca.MaxPathLen)
	}
	if !hasCriticalExtension(ca, "2.5.29.19") {
		t.Error("CA basicConstraints is not critical")
	}
	if ca.KeyUsage&x509.KeyUsageCertSign == 0 || !hasCriticalExtension(ca, "2.5.29.15") {
		t.Error("CA lacks a critical keyUsage keyCertSign")
	}
	if err := leaf.CheckSignatureFrom(ca); err != nil {
		t.Errorf("leaf not signed by the CA: %v", err)
	}
	if err := ca.CheckSignatureFrom(ca); err != nil {
		t.Errorf("CA not self-signed: %v", err)
	}
	if err := nvcrypto.CheckKeyMatchesCertificate(c.CAKey, ca); err != nil {
		t.Error(err)
	}
	if alg, _ := nvcrypto.AlgorithmFor(ca.PublicKey); alg != nvcrypto.PS256 {
		t.Errorf("CA key signs with %s; want the leaf's key type (PS256)", alg)
	}
	if leaf.SerialNumber.Cmp(ca.SerialNumber) == 0 || leaf.SerialNumber.Sign() <= 0 {
		t.Errorf("serial numbers %s and %s; want distinct positive random ones", leaf.SerialNumber, ca.SerialNumber)
	}
	if err := nvcrypto.ValidateChain(c.Chain, time.Now()); err != nil {
		t.Errorf("generated chain is invalid: %v", err)
	}
	if err := nvcrypto.VerifyChainTo(c.Chain, c.Chain[1:], time.Now()); err != nil {
		t.Errorf("leaf does not verify to its CA: %v", err)
	}
}

func TestGenerateRefuses(t *testing.T) {
	for name, opts := range map[string]nvcrypto.GenerateOptions{
		"no common name":    {},
		"unknown key type":  {CommonName: "x", KeyType: "dsa-1024"},
		"negative validity": {CommonName: "x", Validity: -time.Hour},
	} {
		if _, err := nvcrypto.Generate(opts); err == nil {
			t.Errorf("%s: Generate succeeded; want an error", name)
		}
	}
}

func checkLeaf(t *testing.T, leaf *x509.Certificate, cn string) {
	t.Helper()
	if leaf.Subject.CommonName != cn {
		t.Errorf("leaf CN = %q; want %q", leaf.Subject.CommonName, cn)
	}
	if leaf.KeyUsage != x509.KeyUsageDigitalSignature || !hasCriticalExtension(leaf, "2.5.29.15") {
		t.Errorf("leaf keyUsage = %b; want digitalSignature only, critical", leaf.KeyUsage)
	}
	if len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageCodeSigning {
		t.Errorf("leaf extKeyUsage = %v; want codeSigning", leaf.ExtKeyUsage)
	}
	if leaf.IsCA {
		t.Error("leaf is a CA")
	}
	if leaf.SerialNumber.BitLen() < 64 {
		t.Errorf("serial %s is not a random 128-bit number", leaf.SerialNumber)
	}
}

func hasCriticalExtension(cert *x509.Certificate, oid string) bool {
	for _, ext := range cert.Extensions {
		if ext.Id.String() == oid {
			return ext.Critical
		}
	}
	return false
}

func TestParseCertificates(t *testing.T) {
	c := generate(t, nvcrypto.GenerateOptions{CommonName: "carol", CA: true})
	bundle := nvcrypto.EncodeCertificates(c.Chain)
	got, err := nvcrypto.ParseCertificates(append([]byte("subject=carol\n"), bundle...))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got[0].Equal(c.Chain[0]) || !got[1].Equal(c.Chain[1]) {
		t.Fatalf("ParseCertificates did not keep the chain in order")
	}
	key, _ := nvcrypto.EncodePrivateKey(c.Key)
	for name, tt := range map[string]struct {
		in      []byte
		wantErr string
	}{
		"empty":              {nil, "no certificate found"},
		"garbage":            {[]byte("hello"), "no certificate found"},
		"a private key":      {key, `"PRIVATE KEY", not a CERTIFICATE`},
		"a key after a cert": {append(bundle, key...), "PEM block 3"},
		"corrupt DER":        {pemBlock("CERTIFICATE", []byte{0x30, 0x01, 0x00}, nil), "certificate 1"},
	} {
		if _, err := nvcrypto.ParseCertificates(tt.in); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: error = %v; want one mentioning %q", name, err, tt.wantErr)
		}
	}
	path := filepath.Join(t.TempDir(), "chain.crt")
	if err := os.WriteFile(path, bundle, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := nvcrypto.LoadCertificates(path); err != nil || len(got) != 2 {
		t.Errorf("LoadCertificates = %d certificates, %v", len(got), err)
	}
	if _, err := nvcrypto.LoadCertificates(path + ".missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadCertificates(missing) error = %v; want fs.ErrNotExist", err)
	}
}

func TestThumbprints(t *testing.T) {
	c := generate(t, nvcrypto.GenerateOptions{CommonName: "dave", CA: true})
	got := nvcrypto.Thumbprints(c.Chain)
	if len(got) != 2 {
		t.Fatalf("Thumbprints returned %d; want 2", len(got))
	}
	for i, cert := range c.Chain {
		sum := sha256.Sum256(cert.Raw)
		if want := hex.EncodeToString(sum[:]); got[i] != want || nvcrypto.Thumbprint(cert) != want {
			t.Errorf("thumbprint %d = %s; want %s", i, got[i], want)
		}
		if got[i] != strings.ToLower(got[i]) || len(got[i]) != 64 {
			t.Errorf("thumbprint %q is not 64 lowercase hex digits", got[i])
		}
	}
	if got[0] == got[1] {
		t.Error("leaf and CA have the same thumbprint")
	}
}

func TestWriteCredentials(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	c := generate(t, nvcrypto.GenerateOptions{CommonName: "erin", CA: true})
	p, err := nvcrypto.WriteCredentials(dir, "erin", c, false)
	if err != nil {
		t.Fatal(err)
	}
	want := nvcrypto.Paths{
		Key: filepath.Join(dir, "erin.key"), Cert: filepath.Join(dir, "erin.crt"),
		CAKey: filepath.Join(dir, "erin-ca.key"), CACert: filepath.Join(dir, "erin-ca.crt"),
	}
	if p != want {
		t.Fatalf("paths = %+v; want %+v", p, want)
	}
	for path, mode := range map[string]os.FileMode{p.Key: 0o600, p.CAKey: 0o600, p.Cert: 0o644, p.CACert: 0o644} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, %v; want %04o", path, fi.Mode().Perm(), err, mode)
		}
	}
	key, err := nvcrypto.LoadPrivateKey(p.Key)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := nvcrypto.LoadCertificates(p.Cert)
	if err != nil || len(chain) != 2 || !chain[0].Equal(c.Chain[0]) || !chain[1].Equal(c.Chain[1]) {
		t.Fatalf("NAME.crt does not hold the chain leaf first: %v", err)
	}
	if err := nvcrypto.CheckKeyMatchesCertificate(key, chain[0]); err != nil {
		t.Error(err)
	}
	caCerts, err := nvcrypto.LoadCertificates(p.CACert)
	if err != nil || len(caCerts) != 1 || !caCerts[0].Equal(c.Chain[1]) {
		t.Errorf("NAME-ca.crt does not hold the CA certificate alone: %v", err)
	}
	caKey, err := nvcrypto.LoadPrivateKey(p.CAKey)
	if err != nil || nvcrypto.CheckKeyMatchesCertificate(caKey, c.Chain[1]) != nil {
		t.Errorf("NAME-ca.key is not the CA key: %v", err)
	}

	// Without force nothing is overwritten, even if only one file is in the way.
	other := generate(t, nvcrypto.GenerateOptions{CommonName: "erin", CA: true})
	before, _ := os.ReadFile(p.Key)
	if err := os.Remove(p.Cert); err != nil {
		t.Fatal(err)
	}
	_, err = nvcrypto.WriteCredentials(dir, "erin", other, false)
	var exists *nvcrypto.ExistsError
	if !errors.Is(err, fs.ErrExist) || !errors.As(err, &exists) || exists.Path != p.Key {
		t.Fatalf("second write: error = %v; want an *ExistsError naming %s", err, p.Key)
	}
	if after, _ := os.ReadFile(p.Key); !bytes.Equal(before, after) {
		t.Error("the existing key was changed without force")
	}
	if _, err := os.Stat(p.Cert); !errors.Is(err, fs.ErrNotExist) {
		t.Error("a refused write still wrote NAME.crt")
	}

	// With force every file is replaced.
	if _, err := nvcrypto.WriteCredentials(dir, "erin", other, true); err != nil {
		t.Fatalf("forced write: %v", err)
	}
	if after, _ := os.ReadFile(p.Key); bytes.Equal(before, after) {
		t.Error("force did not replace the key")
	}
	if fi, _ := os.Stat(p.Key); fi.Mode().Perm() != 0o600 {
		t.Errorf("replaced key has mode %04o; want 0600", fi.Mode().Perm())
	}
	assertNoTempFiles(t, dir)

	// Self-signed credentials write no CA files.
	self := generate(t, nvcrypto.GenerateOptions{CommonName: "frank"})
	p, err = nvcrypto.WriteCredentials(dir, "frank", self, false)
	if err != nil || p.CAKey != "" || p.CACert != "" {
		t.Errorf("self-signed: paths %+v, %v; want no CA files", p, err)
	}
	if _, err := nvcrypto.WriteCredentials(dir, "../escape", self, false); err == nil {
		t.Error("a name with a path separator was accepted")
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := nvcrypto.WriteFileAtomic(path, []byte("one"), 0o600, false); err != nil {
		t.Fatal(err)
	}
	err := nvcrypto.WriteFileAtomic(path, []byte("two"), 0o600, false)
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("no-overwrite write over an existing file: error = %v; want fs.ErrExist", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "one" {
		t.Errorf("content = %q after a refused write; want %q", b, "one")
	}
	if err := nvcrypto.WriteFileAtomic(path, []byte("three"), 0o640, true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "three" {
		t.Errorf("content = %q; want %q", b, "three")
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode = %04o; want 0640", fi.Mode().Perm())
	}
	if err := nvcrypto.WriteFileAtomic(filepath.Join(dir, "missing", "f"), nil, 0o600, false); err == nil {
		t.Error("write into a missing directory succeeded")
	}
	assertNoTempFiles(t, dir)
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestParseSubject(t *testing.T) {
	n, err := nvcrypto.ParseSubject("C=US, ST=WA, L=Seattle, O=Acme, OU=Eng, CN=x")
	if err != nil {
		t.Fatal(err)
	}
	if n.Country[0] != "US" || n.Province[0] != "WA" || n.Locality[0] != "Seattle" || n.Organization[0] != "Acme" || n.OrganizationalUnit[0] != "Eng" || n.CommonName != "x" {
		t.Fatalf("parsed %+v", n)
	}
	for _, bad := range []string{"", "C", "C=", "X=1", "C=US,,O=A"} {
		if _, err := nvcrypto.ParseSubject(bad); err == nil {
			t.Errorf("ParseSubject(%q) succeeded", bad)
		}
	}
	creds, err := nvcrypto.Generate(nvcrypto.GenerateOptions{CommonName: "leaf", Subject: n, CA: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := creds.Chain[0].Subject; got.CommonName != "leaf" || got.Organization[0] != "Acme" {
		t.Fatalf("leaf subject %v", got)
	}
	if got := creds.Chain[1].Subject; got.CommonName != "leaf CA" || got.Country[0] != "US" {
		t.Fatalf("CA subject %v", got)
	}
}
