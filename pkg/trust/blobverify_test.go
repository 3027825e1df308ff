package trust

import (
	"errors"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/nv2-signing/nv2/internal/testsign"
	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/signature"
)

// VerifyBlob follows the Notary Project's verification steps for blobs:
// "calculate the digest of the blob using the hashing algorithm deduced
// from signing certificate's public key ... and make sure the digests
// match", with digest, size and media type compared as for any artifact.
func TestVerifyBlob(t *testing.T) {
	blob := []byte("a release binary")
	p384, creds := testsign.Signer(t, nvcrypto.GenerateOptions{CommonName: "blob signer", KeyType: nvcrypto.ECDSAP384})
	sign := func(target ocispec.Descriptor) []byte {
		return testsign.Sign(t, p384, signature.SignRequest{Target: target})
	}
	asBlob := ocispec.Descriptor{MediaType: signature.MediaTypeBlob, Digest: digest.SHA384.FromBytes(blob), Size: int64(len(blob))}
	good := sign(asBlob)
	sha256Payload := asBlob
	sha256Payload.Digest = digest.SHA256.FromBytes(blob)
	empty := ocispec.Descriptor{MediaType: signature.MediaTypeBlob, Digest: digest.SHA384.FromBytes(nil), Size: 5}
	manifest := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.SHA384.FromBytes(blob), Size: int64(len(blob))}
	skip, err := ParseBlobPolicy([]byte(`{"version":"1.0","trustPolicies":[{"name":"s","signatureVerification":{"level":"skip"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	trusted := NewCertVerifier(creds.Chain)

	cases := []struct {
		name      string
		v         *Verifier
		scope     string
		envelope  []byte
		content   []byte
		mediaType string
		want      Status
		reason    string // in the rejection
		hashed    bool   // whether the blob is read
	}{
		{"signs the blob", trusted, "", good, blob, "", Verified, "", true},
		{"signs the blob, media type required", trusted, "", good, blob, signature.MediaTypeBlob, Verified, "", true},
		{"another media type required", trusted, "", good, blob, "application/gzip", NotVerified, "media type", true},
		{"other bytes", trusted, "", good, []byte("a release binarY"), "", NotVerified, "another artifact", true},
		{"a digest the key does not dictate", trusted, "", sign(sha256Payload), blob, "", NotVerified, "not sha384", false},
		{"the empty blob with another size", trusted, "", sign(empty), nil, "", NotVerified, "size 5", true},
		{"an image's signature", trusted, "", sign(manifest), blob, "", NotVerified, "image manifest, not a blob", false},
		{"a manifest asked for by its media type", trusted, "", sign(manifest), blob, ocispec.MediaTypeImageManifest, Verified, "", true},
		{"not an envelope", trusted, "", []byte(`{}`), blob, "", NotVerified, "integrity", false},
		{"skip reads nothing", NewBlobPolicyVerifier(skip, Config{Dir: t.TempDir()}), "s", []byte(`{}`), blob, "", Skipped, "", false},
		{"no policy of that name", NewBlobPolicyVerifier(skip, Config{Dir: t.TempDir()}), "t", good, blob, "", Failed, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hashed := false
			res := tc.v.VerifyBlob(tc.scope, tc.envelope, tc.mediaType, func(alg digest.Algorithm) (digest.Digest, int64, error) {
				if hashed {
					t.Fatal("the blob is read twice")
				}
				hashed = true
				return alg.FromBytes(tc.content), int64(len(tc.content)), nil
			})
			if res.Status != tc.want {
				t.Fatalf("status %s, want %s (%v %+v)", res.Status, tc.want, res.Err, res.Rejected)
			}
			if hashed != tc.hashed {
				t.Errorf("blob read: %v, want %v", hashed, tc.hashed)
			}
			if tc.reason != "" && (len(res.Rejected) != 1 || !strings.Contains(res.Rejected[0].Err.Error(), tc.reason)) {
				t.Errorf("rejections %+v do not say %q", res.Rejected, tc.reason)
			}
			if tc.name == "an image's signature" && !errors.Is(res.Rejected[0].Err, ErrNotBlob) {
				t.Errorf("an image's signature: %v, want ErrNotBlob", res.Rejected[0].Err)
			}
			if tc.want == Failed && !errors.Is(res.Err, ErrNoBlobPolicy) {
				t.Errorf("err %v, want ErrNoBlobPolicy", res.Err)
			}
		})
	}
}
