package flows_test

import (
	"context"
	"crypto/x509"
	"errors"
	"github.com/opencontainers/go-digest"
	"testing"

	"github.com/nv2-signing/nv2/internal/testregistry"
	"github.com/nv2-signing/nv2/internal/testsign"
	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/flows"
	"github.com/nv2-signing/nv2/pkg/registry"
	"github.com/nv2-signing/nv2/pkg/trust"
)

// TestTypedErrors: a caller tells the outcomes of the flows apart with
// errors.Is and errors.As, on both kinds of registry.
func TestTypedErrors(t *testing.T) {
	ctx := context.Background()
	signer, creds := testsign.Signer(t, nvcrypto.GenerateOptions{CommonName: "signer", CA: true})
	_, other := testsign.Signer(t, nvcrypto.GenerateOptions{CommonName: "other"})
	trusted := trust.NewCertVerifier([]*x509.Certificate{creds.Chain[len(creds.Chain)-1]})
	untrusted := trust.NewCertVerifier(other.Chain)
	rc, err := registry.NewClient(registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	client := &flows.Client{Registry: rc}
	for _, kind := range testregistry.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			reg := testregistry.Start(t, kind)
			testregistry.PushImage(t, reg, "signed", "v1", "typed-signed")
			testregistry.PushImage(t, reg, "unsigned", "v1", "typed-unsigned")
			signed := flows.Location{Ref: reg.Host + "/signed:v1"}
			if _, err := client.Sign(ctx, flows.SignOptions{Signer: signer, Artifact: signed}); err != nil {
				t.Fatal(err)
			}
			var usage *flows.UsageError
			if _, err := client.Sign(ctx, flows.SignOptions{Signer: signer, Artifact: flows.Location{Ref: reg.Host + "/Bad:v1"}}); !errors.As(err, &usage) {
				t.Errorf("malformed reference: %v, want a *UsageError", err)
			}
			if _, err := client.Sign(ctx, flows.SignOptions{Signer: signer, Artifact: flows.Location{Ref: reg.Host + "/signed:missing"}}); !errors.Is(err, flows.ErrNotFound) {
				t.Errorf("missing tag: %v, want ErrNotFound", err)
			}
			cases := []struct {
				name string
				v    *trust.Verifier
				loc  flows.Location
				want error
			}{
				{"trusted", trusted, signed, nil},
				{"untrusted signer", untrusted, signed, flows.ErrNotVerified},
				{"unsigned", trusted, flows.Location{Ref: reg.Host + "/unsigned:v1"}, flows.ErrNoSignature},
				{"missing tag", trusted, flows.Location{Ref: reg.Host + "/unsigned:missing"}, flows.ErrNotFound},
				// Not found is not unsigned: the artifact's descriptor is read
				// beside the referrers listing.
				{"missing digest", trusted, flows.Location{Ref: reg.Host + "/unsigned@" + digest.FromString("nothing").String()}, flows.ErrNotFound},
			}
			for _, tc := range cases {
				r := client.Verify(ctx, tc.v, tc.loc)[0]
				if (tc.want == nil) != (r.Err == nil) || (tc.want != nil && !errors.Is(r.Err, tc.want)) {
					t.Errorf("%s: %v, want %v", tc.name, r.Err, tc.want)
				}
				if tc.want == nil && r.Verified == "" {
					t.Errorf("%s: verified, but no pinned reference", tc.name)
				}
			}
		})
	}
}
