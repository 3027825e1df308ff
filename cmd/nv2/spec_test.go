package main

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/nv2-signing/nv2/internal/testregistry"
	"github.com/nv2-signing/nv2/internal/testsign"
	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/spec"
)

// specCase is one rule of the Notary Project specifications: a signature
// that breaks it, and what the rejection must name.
type specCase struct {
	rule string // the specification's sentence
	name string
	// envelope builds the offending envelope for subject; trust is the
	// certificate nv2 verify is given (--cert).
	envelope func(t *testing.T, subject ocispec.Descriptor) (env []byte, trust *x509.Certificate)
	reason   string // a substring of the rejection
}

// chainCase is a case whose envelope is sound but whose chain (signed by
// key) breaks a rule.
func chainCase(rule, name, reason string, chain func(t *testing.T, p *testsign.PKI) ([]*x509.Certificate, *x509.Certificate)) specCase {
	return specCase{rule: rule, name: name, reason: reason, envelope: func(t *testing.T, subject ocispec.Descriptor) ([]byte, *x509.Certificate) {
		p := testsign.NewPKI(t, "spec")
		c, trust := chain(t, p)
		e := testsign.NewEnvelope(t, p.LeafKey, c, subject)
		return e.Bytes(t), trust
	}}
}

// leafCase is a chain case whose leaf is LeafTemplate changed by edit.
func leafCase(rule, name, reason string, edit func(*x509.Certificate)) specCase {
	return chainCase(rule, name, reason, func(t *testing.T, p *testsign.PKI) ([]*x509.Certificate, *x509.Certificate) {
		return []*x509.Certificate{p.LeafWith(t, name, edit), p.Inter, p.Root}, p.Root
	})
}

// headerCase is a case whose chain is sound but whose protected header is
// changed by edit.
func headerCase(rule, name, reason string, edit func(h map[string]any)) specCase {
	return specCase{rule: rule, name: name, reason: reason, envelope: func(t *testing.T, subject ocispec.Descriptor) ([]byte, *x509.Certificate) {
		p := testsign.NewPKI(t, "spec")
		e := testsign.NewEnvelope(t, p.LeafKey, p.Chain(), subject)
		edit(e.Protected)
		return e.Bytes(t), p.Root
	}}
}

func specCases() []specCase {
	const certReq = "signature-specification.md, Certificate Requirements: "
	const jws = "signature-envelope-jws.md: "
	nonCriticalKU, _ := asn1.Marshal(asn1.BitString{Bytes: []byte{0x80}, BitLength: 1})
	past := func(c *x509.Certificate) {
		c.NotBefore, c.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
	}
	return []specCase{
		// The chain in x5c.
		chainCase(certReq+"Valid certificate chain MUST contain a root certificate.", "chain stops below the root", "self-signed root",
			func(t *testing.T, p *testsign.PKI) ([]*x509.Certificate, *x509.Certificate) {
				return []*x509.Certificate{p.Leaf, p.Inter}, p.Root
			}),
		chainCase(certReq+"Valid certificate chain MUST contain a root certificate.", "chain stops below a trusted intermediate", "self-signed root",
			func(t *testing.T, p *testsign.PKI) ([]*x509.Certificate, *x509.Certificate) {
				return []*x509.Certificate{p.Leaf}, p.Inter
			}),
		chainCase(certReq+"The certificate chain MUST NOT contain a certificate that is unrelated to the certificate chain.", "unrelated certificate", "invalid certificate chain",
			func(t *testing.T, p *testsign.PKI) ([]*x509.Certificate, *x509.Certificate) {
				other := testsign.NewPKI(t, "other")
				return []*x509.Certificate{p.Leaf, other.Inter, p.Inter, p.Root}, p.Root
			}),
		chainCase(certReq+"The certificates in the signature MUST be ordered list of X.509 certificate", "certificate repeated", "appears twice",
			func(t *testing.T, p *testsign.PKI) ([]*x509.Certificate, *x509.Certificate) {
				return []*x509.Certificate{p.Leaf, p.Inter, p.Root, p.Root}, p.Root
			}),
		chainCase(certReq+"The certificate MUST NOT chain to multiple parents/roots.", "two roots", "a root but not the last",
			func(t *testing.T, p *testsign.PKI) ([]*x509.Certificate, *x509.Certificate) {
				again := testsign.Issue(t, testsign.CATemplate("spec root", -1), nil, p.RootKey.Public(), p.RootKey)
				return []*x509.Certificate{p.Leaf, p.Inter, p.Root, again}, p.Root
			}),
		chainCase(certReq+"The certificates in the signature MUST be ordered list", "chain out of order", "invalid certificate chain",
			func(t *testing.T, p *testsign.PKI) ([]*x509.Certificate, *x509.Certificate) {
				return []*x509.Certificate{p.Leaf, p.Root, p.Inter}, p.Root
			}),

		// Validity in time (trust-store-trust-policy.md, Expiry and
		// Authentic timestamp: without a timestamp every certificate must be
		// valid now, and at the signing time).
		chainCase(certReq+"The certificates in the certificate chain MUST be valid at signing time.", "root expired", "outside the validity of certificate \"CN=spec root\"",
			func(t *testing.T, p *testsign.PKI) ([]*x509.Certificate, *x509.Certificate) {
				tmpl := testsign.CATemplate("spec root", -1)
				past(tmpl)
				root := testsign.Issue(t, tmpl, nil, p.RootKey.Public(), p.RootKey)
				inter := testsign.Issue(t, testsign.CATemplate("spec intermediate", 0), root, p.InterKey.Public(), p.RootKey)
				leaf := testsign.Issue(t, testsign.LeafTemplate("spec"), inter, p.LeafKey.Public(), p.InterKey)
				return []*x509.Certificate{leaf, inter, root}, root
			}),
		chainCase(certReq+"The certificates in the certificate chain MUST be valid at signing time.", "intermediate not yet valid", "outside the validity of certificate",
			func(t *testing.T, p *testsign.PKI) ([]*x509.Certificate, *x509.Certificate) {
				tmpl := testsign.CATemplate("spec intermediate", 0)
				tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(time.Hour), time.Now().Add(48*time.Hour)
				inter := testsign.Issue(t, tmpl, p.Root, p.InterKey.Public(), p.RootKey)
				leaf := testsign.Issue(t, testsign.LeafTemplate("spec"), inter, p.LeafKey.Public(), p.InterKey)
				return []*x509.Certificate{leaf, inter, p.Root}, p.Root
			}),
		leafCase(certReq+"The certificates in the certificate chain MUST be valid at signing time.", "leaf expired", "outside the certificate's validity", past),
		{rule: certReq + "The certificates in the certificate chain MUST be valid at signing time.", name: "intermediate issued after the signing time", reason: "outside the validity of certificate",
			envelope: func(t *testing.T, subject ocispec.Descriptor) ([]byte, *x509.Certificate) {
				p := testsign.NewPKI(t, "spec")
				tmpl := testsign.CATemplate("spec intermediate", 0)
				tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
				inter := testsign.Issue(t, tmpl, p.Root, p.InterKey.Public(), p.RootKey)
				lt := testsign.LeafTemplate("spec")
				lt.NotBefore, lt.NotAfter = time.Now().Add(-3*time.Hour), time.Now().Add(time.Hour)
				leaf := testsign.Issue(t, lt, inter, p.LeafKey.Public(), p.InterKey)
				e := testsign.NewEnvelope(t, p.LeafKey, []*x509.Certificate{leaf, inter, p.Root}, subject)
				// Valid now, every one of them, but not when it claims to be signed.
				e.Protected[spec.HeaderSigningTime] = time.Now().Add(-90 * time.Minute).UTC().Format(time.RFC3339)
				return e.Bytes(t), p.Root
			}},

		// Leaf profile.
		leafCase(certReq+"Bit positions for digitalSignature MUST be set.", "leaf without digitalSignature", "digitalSignature",
			func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageContentCommitment }),
		leafCase(certReq+"the keyUsage extension MUST be present and MUST be marked critical.", "leaf keyUsage not critical", "critical keyUsage",
			func(c *x509.Certificate) {
				c.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 15}, Critical: false, Value: nonCriticalKU}}
			}),
		leafCase(certReq+"The Bit positions for keyEncipherment, ... keyCertSign, ... MUST NOT be set.", "leaf with keyCertSign", "beyond digitalSignature",
			func(c *x509.Certificate) { c.KeyUsage |= x509.KeyUsageCertSign }),
		leafCase(certReq+"The Bit positions for keyEncipherment, ... MUST NOT be set.", "leaf with keyEncipherment", "beyond digitalSignature",
			func(c *x509.Certificate) { c.KeyUsage |= x509.KeyUsageKeyEncipherment }),
		leafCase(certReq+"If present, the cA field MUST be set to false.", "leaf is a CA", "is a CA",
			func(c *x509.Certificate) { c.IsCA = true }),
		// notation-core-go v1.3.0 decides differently here: it lets
		// anyExtendedKeyUsage through (and refuses OCSPSigning, which the
		// specification does not list); nv2 follows the specification.
		leafCase(certReq+"MUST NOT contain anyExtendedKeyUsage", "leaf with anyExtendedKeyUsage", "anyExtendedKeyUsage",
			func(c *x509.Certificate) { c.ExtKeyUsage = append(c.ExtKeyUsage, x509.ExtKeyUsageAny) }),
		leafCase(certReq+"MUST NOT contain ... serverAuth", "leaf with serverAuth", "serverAuth",
			func(c *x509.Certificate) { c.ExtKeyUsage = append(c.ExtKeyUsage, x509.ExtKeyUsageServerAuth) }),
		leafCase(certReq+"MUST NOT contain ... clientAuth", "leaf with clientAuth", "clientAuth",
			func(c *x509.Certificate) { c.ExtKeyUsage = append(c.ExtKeyUsage, x509.ExtKeyUsageClientAuth) }),
		leafCase(certReq+"MUST NOT contain ... emailProtection", "leaf with emailProtection", "emailProtection",
			func(c *x509.Certificate) { c.ExtKeyUsage = append(c.ExtKeyUsage, x509.ExtKeyUsageEmailProtection) }),
		leafCase(certReq+"MUST NOT contain ... timeStamping", "leaf with timeStamping", "timeStamping",
			func(c *x509.Certificate) { c.ExtKeyUsage = append(c.ExtKeyUsage, x509.ExtKeyUsageTimeStamping) }),

		// CA profile.
		chainCase(certReq+"The basicConstraints extension MUST be present and MUST be marked as critical.", "CA basicConstraints not critical", "critical basicConstraints",
			func(t *testing.T, p *testsign.PKI) ([]*x509.Certificate, *x509.Certificate) {
				tmpl := testsign.CATemplate("spec intermediate", -1)
				v, _ := asn1.Marshal(struct{ IsCA bool }{true})
				tmpl.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 19}, Critical: false, Value: v}}
				inter := testsign.Issue(t, tmpl, p.Root, p.InterKey.Public(), p.RootKey)
				return []*x509.Certificate{p.Leaf, inter, p.Root}, p.Root
			}),
		chainCase(certReq+"Bit positions for keyCertSign MUST be set.", "CA without keyCertSign", "keyCertSign",
			func(t *testing.T, p *testsign.PKI) ([]*x509.Certificate, *x509.Certificate) {
				tmpl := testsign.CATemplate("spec intermediate", -1)
				tmpl.KeyUsage = x509.KeyUsageCRLSign
				inter := testsign.Issue(t, tmpl, p.Root, p.InterKey.Public(), p.RootKey)
				leaf := testsign.Issue(t, testsign.LeafTemplate("spec"), inter, p.LeafKey.Public(), p.InterKey)
				return []*x509.Certificate{leaf, inter, p.Root}, p.Root
			}),
		chainCase(certReq+"If present, it [pathLenConstraint] MUST be verified against the depth of the chain below that CA certificate.", "path length exceeded", "intermediate CAs",
			func(t *testing.T, p *testsign.PKI) ([]*x509.Certificate, *x509.Certificate) {
				k := testsign.Key(t, 0)
				second := testsign.Issue(t, testsign.CATemplate("spec second intermediate", -1), p.Inter, k.Public(), p.InterKey)
				leaf := testsign.Issue(t, testsign.LeafTemplate("spec"), second, p.LeafKey.Public(), k)
				return []*x509.Certificate{leaf, second, p.Inter, p.Root}, p.Root
			}),
		{rule: certReq + "For RSA public key, the key length MUST be 2048 bits or higher.", name: "RSA 1024 leaf", reason: "too short",
			envelope: func(t *testing.T, subject ocispec.Descriptor) ([]byte, *x509.Certificate) {
				p := testsign.NewPKI(t, "spec")
				k := testsign.Key(t, 1024)
				leaf := testsign.Issue(t, testsign.LeafTemplate("spec"), p.Inter, k.Public(), p.InterKey)
				e := testsign.NewEnvelope(t, p.LeafKey, []*x509.Certificate{leaf, p.Inter, p.Root}, subject)
				e.Key, e.Alg, e.Protected["alg"] = k, nvcrypto.PS256, string(nvcrypto.PS256)
				return e.Bytes(t), p.Root
			}},
		chainCase(certReq+"Any certificate in the certificate chain MUST NOT use SHA1WithRSA and ECDSAWithSHA1 signatures.", "leaf signed with SHA-1", "SHA1",
			func(t *testing.T, p *testsign.PKI) ([]*x509.Certificate, *x509.Certificate) {
				tmpl := testsign.LeafTemplate("spec")
				tmpl.SignatureAlgorithm = x509.ECDSAWithSHA1
				return []*x509.Certificate{testsign.Issue(t, tmpl, p.Inter, p.LeafKey.Public(), p.InterKey), p.Inter, p.Root}, p.Root
			}),

		// Envelope headers.
		headerCase(jws+"io.cncf.notary.authenticSigningTime (critical)", "authenticSigningTime not in crit", "not in crit",
			func(h map[string]any) { h[spec.HeaderAuthenticSigningTime] = time.Now().UTC().Format(time.RFC3339) }),
		headerCase(jws+"io.cncf.notary.expiry (critical)", "expiry not in crit", "not in crit",
			func(h map[string]any) { h[spec.HeaderExpiry] = time.Now().Add(time.Hour).UTC().Format(time.RFC3339) }),
		headerCase(jws+"io.cncf.notary.verificationPlugin (critical)", "verification plugin not in crit", "not in crit",
			func(h map[string]any) { h[spec.HeaderVerificationPlugin] = "com.example.plugin" }),
		headerCase("signature-specification.md: An implementation MUST fail signature verification if it cannot perform the equivalent verification logic", "verification plugin required", "verification plugin",
			func(h map[string]any) {
				h[spec.HeaderVerificationPlugin] = "com.example.plugin"
				h["crit"] = []string{spec.HeaderSigningScheme, spec.HeaderVerificationPlugin}
			}),
		headerCase(jws+"This header MUST contain io.cncf.notary.signingScheme", "signingScheme not in crit", "crit",
			func(h map[string]any) {
				h[spec.HeaderExpiry] = time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
				h["crit"] = []string{spec.HeaderExpiry}
			}),
		headerCase(jws+"io.cncf.notary.signingTime ... Its value is a RFC 3339 formatted date time", "signing time not RFC 3339", "RFC 3339",
			func(h map[string]any) {
				h[spec.HeaderSigningTime] = time.Now().UTC().Format("2006-01-02T15:04:05,000Z")
			}),
		headerCase(jws+"io.cncf.notary.expiry ... Its value is a RFC 3339 formatted date time", "expiry not RFC 3339", "RFC 3339",
			func(h map[string]any) {
				h[spec.HeaderExpiry] = "2126-01-02T3:04:05Z"
				h["crit"] = []string{spec.HeaderSigningScheme, spec.HeaderExpiry}
			}),
		headerCase("signature-specification.md, Algorithm Selection: The signing certificate's public key algorithm and size MUST be used to determine the signature algorithm.", "alg does not follow the key", "does not match",
			func(h map[string]any) { h["alg"] = string(nvcrypto.ES384) }),
	}
}

// TestSpecificationRules: every rule of the Notary Project specifications
// that a signature can break, each shown failing closed through the path a
// user takes: nv2 verify against a real registry exits 4 and names the
// rule. The cases alternate between the registry with the referrers API and
// the one without.
func TestSpecificationRules(t *testing.T) {
	regs := map[testregistry.Kind]*testregistry.Registry{}
	for _, k := range testregistry.Kinds {
		regs[k] = testregistry.Start(t, k)
	}
	c := newCLI(t)
	for i, tc := range specCases() {
		kind := testregistry.Kinds[i%len(testregistry.Kinds)]
		t.Run(tc.name, func(t *testing.T) {
			t.Logf("%s (%s)", tc.rule, kind)
			reg := regs[kind]
			repo := fmt.Sprintf("spec/case%d", i)
			img := testregistry.PushImage(t, reg, repo, "v1", "spec-"+tc.name)
			env, trusted := tc.envelope(t, img)
			if _, err := testregistry.PushSignatures(context.Background(), reg.Host, repo, img, []testregistry.Envelope{{Data: env}}, 1); err != nil {
				t.Fatal(err)
			}
			cert := testsign.WritePEM(t, t.TempDir(), "trusted.crt", trusted)
			r := c.must(exitNotVerified, "verify", "--cert", cert, reg.Host+"/"+repo+":v1")
			if !strings.Contains(r.stderr, tc.reason) {
				t.Errorf("the rejection does not name the rule (%q):\n%s", tc.reason, r.stderr)
			}
		})
	}
}

// TestSpecificationCasesAreSound: the same builders with nothing broken make
// a signature nv2 verifies, so each case above fails for its rule alone.
func TestSpecificationCasesAreSound(t *testing.T) {
	reg := testregistry.Start(t, testregistry.GGCR)
	c := newCLI(t)
	img := testregistry.PushImage(t, reg, "spec/sound", "v1", "spec-sound")
	for _, env := range []func(t *testing.T, subject ocispec.Descriptor) ([]byte, *x509.Certificate){
		chainCase("", "", "", func(t *testing.T, p *testsign.PKI) ([]*x509.Certificate, *x509.Certificate) { return p.Chain(), p.Root }).envelope,
		leafCase("", "sound", "", func(*x509.Certificate) {}).envelope,
		headerCase("", "", "", func(map[string]any) {}).envelope,
	} {
		data, trusted := env(t, img)
		if _, err := testregistry.PushSignatures(context.Background(), reg.Host, "spec/sound", img, []testregistry.Envelope{{Data: data}}, 1); err != nil {
			t.Fatal(err)
		}
		cert := testsign.WritePEM(t, t.TempDir(), "trusted.crt", trusted)
		c.must(0, "verify", "--cert", cert, reg.Host+"/spec/sound:v1")
	}
}

// TestIntegrityByDigest: verifying repo@digest compares the payload's whole
// target descriptor (digest, size and media type) with the artifact's, as
// verifying by tag does (trust-store-trust-policy.md, signature verification:
// "Validate that the targetArtifact ... matches the artifact"); a signature
// that names the right digest with another size or media type is refused.
func TestIntegrityByDigest(t *testing.T) {
	c := newCLI(t)
	for i, tc := range []struct {
		name   string
		edit   func(*ocispec.Descriptor)
		reason string
	}{
		{"size", func(d *ocispec.Descriptor) { d.Size++ }, "names size"},
		{"media type", func(d *ocispec.Descriptor) { d.MediaType = ocispec.MediaTypeImageIndex }, "names media type"},
	} {
		kind := testregistry.Kinds[i%len(testregistry.Kinds)]
		t.Run(tc.name, func(t *testing.T) {
			reg := testregistry.Start(t, kind)
			img := testregistry.PushImage(t, reg, "app", "v1", "integrity-"+tc.name)
			p := testsign.NewPKI(t, "integrity")
			signed := img
			tc.edit(&signed)
			env := testsign.NewEnvelope(t, p.LeafKey, p.Chain(), signed).Bytes(t)
			if _, err := testregistry.PushSignatures(context.Background(), reg.Host, "app", img, []testregistry.Envelope{{Data: env}}, 1); err != nil {
				t.Fatal(err)
			}
			cert := testsign.WritePEM(t, t.TempDir(), "root.crt", p.Root)
			for _, ref := range []string{reg.Host + "/app@" + img.Digest.String(), reg.Host + "/app:v1"} {
				if r := c.must(exitNotVerified, "verify", "--cert", cert, ref); !strings.Contains(r.stderr, tc.reason) {
					t.Errorf("verify %s: the rejection does not say the %s differs:\n%s", ref, tc.name, r.stderr)
				}
			}
		})
	}
}
