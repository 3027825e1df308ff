package main

import (
	"crypto/x509"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nv2-signing/nv2/internal/testregistry"
	"github.com/nv2-signing/nv2/internal/testsign"
	"github.com/nv2-signing/nv2/pkg/spec"
)

// TestNotVerifiedHintFitsTheReason: when no signature verifies (exit 4),
// the last line says the next step for the reason the signatures were
// rejected, not always "check --cert".
func TestNotVerifiedHintFitsTheReason(t *testing.T) {
	c := newCLI(t)
	key, cert := c.keys("signer")
	_, otherCert := c.keys("stranger")
	dir := t.TempDir()
	fileA := writeFile(t, dir, "a.json", testregistry.NewImage("hint-a").Manifest)
	fileB := writeFile(t, dir, "b.json", testregistry.NewImage("hint-b").Manifest)
	sig := filepath.Join(dir, "a.jws")
	c.must(0, "sign", "--manifest", fileA, "--signature-out", sig, "--key", key, "--cert", cert)
	// Signed half an hour ago, expired ten minutes ago; and signed by a certificate
	// that expired yesterday.
	subject := testregistry.NewImage("hint-a").Descriptor
	p := testsign.NewPKI(t, "hints")
	root := testsign.WritePEM(t, dir, "root.crt", p.Root)
	e := testsign.NewEnvelope(t, p.LeafKey, p.Chain(), subject)
	e.Protected[spec.HeaderSigningTime] = time.Now().Add(-30 * time.Minute).UTC().Format(time.RFC3339)
	e.Protected[spec.HeaderExpiry] = time.Now().Add(-10 * time.Minute).UTC().Format(time.RFC3339)
	e.Protected["crit"] = []string{spec.HeaderSigningScheme, spec.HeaderExpiry}
	expired := writeFile(t, dir, "expired.jws", e.Bytes(t))
	past := func(c *x509.Certificate) {
		c.NotBefore, c.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
	}
	e = testsign.NewEnvelope(t, p.LeafKey, []*x509.Certificate{p.LeafWith(t, "old", past), p.Inter, p.Root}, subject)
	e.Protected[spec.HeaderSigningTime] = time.Now().Add(-36 * time.Hour).UTC().Format(time.RFC3339)
	oldCert := writeFile(t, dir, "old-cert.jws", e.Bytes(t))

	const untrusted = "check --cert or the trust policy"
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"untrusted signer", []string{"--cert", otherCert, "--signature", sig, "--manifest", fileA}, untrusted},
		{"signs another manifest", []string{"--cert", cert, "--signature", sig, "--manifest", fileB}, "signs another artifact"},
		{"expired", []string{"--cert", root, "--signature", expired, "--manifest", fileA}, "the signature has expired"},
		{"expired certificate", []string{"--cert", root, "--signature", oldCert, "--manifest", fileA}, "a certificate of the signature is not valid now"},
		{"missing signed metadata", []string{"--cert", cert, "-a", "build=1", "--signature", sig, "--manifest", fileA}, "lacks the signed metadata"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.must(exitNotVerified, append([]string{"verify"}, tc.args...)...)
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			last := lines[len(lines)-1]
			if !strings.Contains(last, tc.want) {
				t.Errorf("last line %q, want it to say %q\n%s", last, tc.want, r.stderr)
			}
			if tc.want != untrusted && strings.Contains(r.stderr, untrusted) {
				t.Errorf("the hint blames the trust settings for another reason:\n%s", r.stderr)
			}
		})
	}
}
