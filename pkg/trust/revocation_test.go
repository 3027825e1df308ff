package trust

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	notationrevocation "github.com/notaryproject/notation-core-go/revocation"
	"github.com/notaryproject/notation-core-go/revocation/purpose"
	"github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/dir"
	notationverifier "github.com/notaryproject/notation-go/verifier"
	notationpolicy "github.com/notaryproject/notation-go/verifier/trustpolicy"
	notationtruststore "github.com/notaryproject/notation-go/verifier/truststore"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/nv2-signing/nv2/internal/testrevocation"
	"github.com/nv2-signing/nv2/internal/testsign"
	"github.com/nv2-signing/nv2/pkg/revocation"
)

// TestRevocationCheckLevels: trust-store-trust-policy.md, the revocation
// check: strict enforces it, permissive and audit log it, skip does not run
// it, and an override of "revocation" (enforce, log, skip) replaces what
// the level does. Enforced, a revoked certificate or an unknown status
// fails the signature; logged, it is a warning.
func TestRevocationCheckLevels(t *testing.T) {
	e := testrevocation.New(t)
	subject := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, []byte(`{"mediaType":"`+ocispec.MediaTypeImageManifest+`"}`))
	cfg := Config{Dir: t.TempDir()}
	rootFile := testsign.WritePEM(t, t.TempDir(), "root.pem", e.Root.Cert)
	if _, err := cfg.AddCertificates(StoreCA, "revocation", []string{rootFile}); err != nil {
		t.Fatal(err)
	}
	envelope := func(revoked bool) []byte {
		leaf, key := e.SigningLeaf(testrevocation.LeafOptions{})
		if revoked {
			e.Revoke(leaf, "keyCompromise")
		}
		return testsign.NewEnvelope(t, key, e.Chain(leaf), subject).Bytes(t)
	}
	revokedEnv, goodEnv := envelope(true), envelope(false)
	const (
		pass = iota
		warn
		fail
	)
	cases := []struct {
		level, override string
		want            int
	}{
		{"strict", "", fail},
		{"permissive", "", warn},
		{"audit", "", warn},
		{"strict", "log", warn},
		{"strict", "skip", pass},
		{"permissive", "enforce", fail},
		{"audit", "enforce", fail},
		{"permissive", "skip", pass},
	}
	for _, tc := range cases {
		t.Run(tc.level+"/"+tc.override, func(t *testing.T) {
			override := ""
			if tc.override != "" {
				override = `, "override": {"revocation": "` + tc.override + `"}`
			}
			doc, err := ParsePolicy([]byte(`{"version": "1.0", "trustPolicies": [{"name": "p", "registryScopes": ["*"],
				"signatureVerification": {"level": "` + tc.level + `"` + override + `}, "trustStores": ["ca:revocation"], "trustedIdentities": ["*"]}]}`))
			if err != nil {
				t.Fatal(err)
			}
			v := NewPolicyVerifier(doc, cfg)
			v.Revocation = &revocation.Checker{}
			if res := v.VerifyDetached("", goodEnv, subject); res.Status != Verified || len(res.Signature.Warnings) != 0 {
				t.Fatalf("a good certificate: %s %v %v", res.Status, res.Err, res.Signature)
			}
			res := v.VerifyDetached("", revokedEnv, subject)
			switch tc.want {
			case fail:
				var re *RevocationError
				if res.Status != NotVerified || !errors.As(res.Rejected[0].Err, &re) || !re.Revoked() {
					t.Fatalf("revoked: %s %v, want a RevocationError", res.Status, res.Rejected)
				}
			case warn:
				if res.Status != Verified || len(res.Signature.Warnings) != 1 || !strings.Contains(res.Signature.Warnings[0], "was revoked") {
					t.Fatalf("revoked: %s %+v, want verified with a warning", res.Status, res.Signature)
				}
			case pass:
				if res.Status != Verified || len(res.Signature.Warnings) != 0 || res.Signature.Revocation != nil {
					t.Fatalf("revoked: %s %+v, want verified, unchecked", res.Status, res.Signature)
				}
			}
		})
	}
}

// TestNotationVerifierAgrees: notation-go's verifier, with the same trust
// policy, trust store, envelope and responders, reaches the same verdict as
// nv2 under strict and permissive: verified or not, and whether the
// revocation check logged a failure.
func TestNotationVerifierAgrees(t *testing.T) {
	cases := []struct {
		name  string
		leaf  testrevocation.LeafOptions
		setup func(e *testrevocation.Env, leaf *x509.Certificate)
	}{
		{name: "good"},
		{name: "revoked by OCSP", setup: func(e *testrevocation.Env, l *x509.Certificate) { e.Revoke(l, "keyCompromise") }},
		{name: "revoked by CRL", leaf: testrevocation.LeafOptions{NoOCSP: true}, setup: func(e *testrevocation.Env, l *x509.Certificate) { e.Revoke(l, "keyCompromise") }},
		{name: "on hold", setup: func(e *testrevocation.Env, l *x509.Certificate) { e.Revoke(l, "certificateHold") }},
		{name: "responders down", setup: func(e *testrevocation.Env, _ *x509.Certificate) { e.SetOCSPDown(true); e.SetCRLDown(true) }},
		{name: "CRL expired", leaf: testrevocation.LeafOptions{NoOCSP: true}, setup: func(e *testrevocation.Env, _ *x509.Certificate) { e.SetCRLExpired(true) }},
		{name: "CRL signed by the wrong key", leaf: testrevocation.LeafOptions{NoOCSP: true}, setup: func(e *testrevocation.Env, _ *x509.Certificate) { e.SetCRLWrongKey(true) }},
		{name: "OCSP response for another certificate", setup: func(e *testrevocation.Env, _ *x509.Certificate) {
			e.SetOCSPAnswerAbout(e.Leaf(testrevocation.LeafOptions{}))
			e.SetCRLDown(true)
		}},
		{name: "no revocation information", leaf: testrevocation.LeafOptions{NoOCSP: true, NoCRL: true}},
	}
	subject := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, []byte(`{"mediaType":"`+ocispec.MediaTypeImageManifest+`"}`))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := testrevocation.New(t)
			leaf, key := e.SigningLeaf(tc.leaf)
			if tc.setup != nil {
				tc.setup(e, leaf)
			}
			env := testsign.NewEnvelope(t, key, e.Chain(leaf), subject).Bytes(t)
			cfg := Config{Dir: t.TempDir()}
			if _, err := cfg.AddCertificates(StoreCA, "revocation", []string{testsign.WritePEM(t, t.TempDir(), "root.pem", e.Root.Cert)}); err != nil {
				t.Fatal(err)
			}
			for _, level := range []string{LevelStrict, LevelPermissive} {
				policy := []byte(`{"version": "1.0", "trustPolicies": [{"name": "p", "registryScopes": ["*"],
					"signatureVerification": {"level": "` + level + `"}, "trustStores": ["ca:revocation"], "trustedIdentities": ["*"]}]}`)
				doc, err := ParsePolicy(policy)
				if err != nil {
					t.Fatal(err)
				}
				v := NewPolicyVerifier(doc, cfg)
				v.Revocation = &revocation.Checker{Timeout: 3 * time.Second}
				res := v.VerifyDetached("", env, subject)
				oursOK, oursLogged := res.Status == Verified, false
				if res.Signature != nil {
					for _, w := range res.Signature.Warnings {
						oursLogged = oursLogged || !strings.Contains(w, "not checked")
					}
				}
				theirsOK, theirsLogged := notationVerify(t, policy, cfg.Dir, env, subject)
				if oursOK != theirsOK || oursLogged != theirsLogged {
					t.Errorf("%s: nv2 verified %v, logged %v (%v %v); notation-go verified %v, logged %v", level, oursOK, oursLogged, res.Err, res.Rejected, theirsOK, theirsLogged)
				}
			}
		})
	}
}

// notationVerify runs notation-go's verifier with policy and the trust store
// under configDir (the Notary Project's layout, which nv2 shares): whether
// the signature verified, and whether the revocation check logged a failure.
func notationVerify(t *testing.T, policy []byte, configDir string, env []byte, subject ocispec.Descriptor) (ok, logged bool) {
	t.Helper()
	var doc notationpolicy.Document
	if err := json.Unmarshal(policy, &doc); err != nil {
		t.Fatal(err)
	}
	validator, err := notationrevocation.NewWithOptions(notationrevocation.Options{
		OCSPHTTPClient: &http.Client{Timeout: 3 * time.Second}, CertChainPurpose: purpose.CodeSigning,
	})
	if err != nil {
		t.Fatal(err)
	}
	v, err := notationverifier.NewWithOptions(&doc, notationtruststore.NewX509TrustStore(dir.NewSysFS(configDir)), nil,
		notationverifier.VerifierOptions{RevocationCodeSigningValidator: validator})
	if err != nil {
		t.Fatal(err)
	}
	outcome, err := v.Verify(context.Background(), subject, env, notation.VerifierVerifyOptions{
		ArtifactReference: "registry.example/net-monitor@" + subject.Digest.String(), SignatureMediaType: "application/jose+json",
	})
	if outcome == nil {
		t.Fatalf("notation-go: %v", err)
	}
	for _, r := range outcome.VerificationResults {
		logged = logged || (r.Type == notationpolicy.TypeRevocation && r.Error != nil && r.Action == notationpolicy.ActionLog)
	}
	return err == nil, logged
}
