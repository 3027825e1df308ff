package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCertDeleteAndPolicyImportWarnings: cert delete removes a certificate
// or a whole store, and policy import warns about the trust stores its
// policy names that do not exist, saying how to add them.
func TestCertDeleteAndPolicyImportWarnings(t *testing.T) {
	c := newCLI(t)
	_, cert := c.keys("signer")
	_, other := c.keys("other")
	c.must(0, "cert", "add", "--store", "team", cert, other)

	c.must(0, "cert", "delete", "--store", "team", filepath.Base(other))
	if l := c.must(0, "cert", "list").stdout; !strings.Contains(l, "signer.crt") || strings.Contains(l, "other.crt") {
		t.Errorf("after deleting other.crt:\n%s", l)
	}
	c.must(exitError, "cert", "delete", "--store", "team", "missing.crt")
	c.must(0, "cert", "delete", "--store", "team")
	if l := c.must(0, "cert", "list").stdout; strings.Contains(l, "ca:team") {
		t.Errorf("after deleting the store:\n%s", l)
	}
	c.must(exitError, "cert", "delete", "--store", "team")

	policy := writeFile(t, t.TempDir(), "policy.json", []byte(`{"version":"1.0","trustPolicies":[{"name":"p","registryScopes":["*"],`+
		`"signatureVerification":{"level":"strict"},"trustStores":["ca:team","signingAuthority:release"],"trustedIdentities":["*"]}]}`))
	r := c.must(0, "policy", "import", policy)
	for _, want := range []string{"trust store ca:team does not exist", "nv2 cert add --type signingAuthority --store release"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("policy import should warn %q:\n%s", want, r.stderr)
		}
	}
	c.must(0, "cert", "add", "--store", "team", cert)
	c.must(0, "cert", "add", "--type", "signingAuthority", "--store", "release", cert)
	if r := c.must(0, "policy", "import", policy); strings.Contains(r.stderr, "does not exist") {
		t.Errorf("policy import warns although every store exists:\n%s", r.stderr)
	}
}

// TestSignatureOutNeedsForce: --signature-out does not replace an existing
// file unless --force is given, as cert generate does with keys.
func TestSignatureOutNeedsForce(t *testing.T) {
	c := newCLI(t)
	key, cert := c.keys("signer")
	layout := buildLayout(t)
	sig := writeFile(t, t.TempDir(), "sig.jws", []byte("keep me"))
	r := c.must(exitError, "sign", "--key", key, "--cert", cert, "--oci-layout", "--signature-only", "--signature-out", sig, layout+":v1")
	if !strings.Contains(r.stderr, "already exists") || !strings.Contains(r.stderr, "--force") {
		t.Errorf("refusing to overwrite should say --force:\n%s", r.stderr)
	}
	if b, _ := os.ReadFile(sig); string(b) != "keep me" {
		t.Fatalf("the existing file was changed")
	}
	c.must(0, "sign", "--key", key, "--cert", cert, "--oci-layout", "--signature-only", "--signature-out", sig, "--force", layout+":v1")
	c.must(0, "verify", "--cert", cert, "--signature", sig, "--manifest", filepath.Join(layout, "blobs", "sha256", strings.TrimPrefix(netMonitorDigest, "sha256:")))
}
