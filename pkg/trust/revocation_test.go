package trust

import (
	"errors"
	"strings"
	"testing"

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
