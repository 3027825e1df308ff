package trust

import (
	"github.com/nv2-signing/nv2/internal/testsign"

	"crypto/x509"
	"errors"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/signature"
)

// signFor returns an envelope signing subject, and the signer's chain.
func signFor(t *testing.T, name string, subject ocispec.Descriptor) ([]byte, []*x509.Certificate) {
	t.Helper()
	s, creds := testsign.Signer(t, nvcrypto.GenerateOptions{CommonName: name})
	return testsign.Sign(t, s, signature.SignRequest{Target: subject}), creds.Chain
}

func TestVerifyDetached(t *testing.T) {
	a := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, []byte(`{"mediaType":"`+ocispec.MediaTypeImageManifest+`","a":1}`))
	b := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, []byte(`{"mediaType":"`+ocispec.MediaTypeImageManifest+`","b":2}`))
	envA, chain := signFor(t, "signer", a)
	_, strangers := signFor(t, "stranger", a)
	tampered := []byte(strings.Replace(string(envA), `"signature":"`, `"signature":"AAAA`, 1))
	asIndex := a
	asIndex.MediaType = ocispec.MediaTypeImageIndex
	bigger := a
	bigger.Size++
	skip, err := ParsePolicy([]byte(`{"version":"1.0","trustPolicies":[{"name":"all","registryScopes":["*"],"signatureVerification":{"level":"skip"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	scoped, err := ParsePolicy([]byte(`{"version":"1.0","trustPolicies":[{"name":"one","registryScopes":["r.example/app"],"signatureVerification":{"level":"skip"}}]}`))
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name     string
		v        *Verifier
		envelope []byte
		subject  ocispec.Descriptor
		want     Status
		reason   string // in the rejection
	}{
		{"signs the subject, trusted signer", NewCertVerifier(chain), envA, a, Verified, ""},
		{"digest only", NewCertVerifier(chain), envA, ocispec.Descriptor{Digest: a.Digest}, Verified, ""},
		{"another artifact", NewCertVerifier(chain), envA, b, NotVerified, "it signs " + a.Digest.String()},
		{"another size", NewCertVerifier(chain), envA, bigger, NotVerified, "size"},
		{"another media type", NewCertVerifier(chain), envA, asIndex, NotVerified, "media type"},
		{"tampered", NewCertVerifier(chain), tampered, a, NotVerified, "integrity"},
		{"untrusted signer", NewCertVerifier(strangers), envA, a, NotVerified, "authenticity"},
		{"skip level", NewPolicyVerifier(skip, Config{Dir: t.TempDir()}), tampered, b, Skipped, ""},
		{"no policy covers a file", NewPolicyVerifier(scoped, Config{Dir: t.TempDir()}), envA, a, Failed, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.v.VerifyDetached("", tc.envelope, tc.subject)
			if res.Status != tc.want {
				t.Fatalf("status %s, want %s (err %v, rejected %+v)", res.Status, tc.want, res.Err, res.Rejected)
			}
			switch tc.want {
			case Verified:
				if res.Signature == nil || res.Signature.Digest == "" || res.Found != 1 || res.Tried != 1 {
					t.Fatalf("result %+v", res)
				}
			case NotVerified:
				if len(res.Rejected) != 1 || !strings.Contains(res.Rejected[0].Err.Error(), tc.reason) {
					t.Fatalf("rejected %+v, want a reason with %q", res.Rejected, tc.reason)
				}
			}
		})
	}
}

func TestVerifyIntegrity(t *testing.T) {
	a := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, []byte(`{"a":1}`))
	b := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, []byte(`{"b":2}`))
	envA, _ := signFor(t, "anyone", a)
	if _, err := VerifyIntegrity(envA, a); err != nil {
		t.Fatalf("A's envelope for A: %v", err)
	}
	_, err := VerifyIntegrity(envA, b)
	var mismatch *SubjectMismatchError
	if !errors.As(err, &mismatch) || mismatch.Signed.Digest != a.Digest || mismatch.Subject.Digest != b.Digest {
		t.Fatalf("A's envelope for B: %v, want a SubjectMismatchError naming both", err)
	}
	if _, err := VerifyIntegrity([]byte(`{}`), a); err == nil || errors.As(err, &mismatch) {
		t.Fatalf("a malformed envelope: %v", err)
	}
}
