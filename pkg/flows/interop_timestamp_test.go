package flows_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"testing"
	"time"

	"github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/dir"
	nregistry "github.com/notaryproject/notation-go/registry"
	nsigner "github.com/notaryproject/notation-go/signer"
	"github.com/notaryproject/notation-go/verifier"
	"github.com/notaryproject/notation-go/verifier/trustpolicy"
	"github.com/notaryproject/notation-go/verifier/truststore"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/nv2-signing/nv2/internal/testregistry"
	"github.com/nv2-signing/nv2/internal/testsign"
	"github.com/nv2-signing/nv2/internal/testtsa"
	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/flows"
	"github.com/nv2-signing/nv2/pkg/spec"
	"github.com/nv2-signing/nv2/pkg/timestamp"
	"github.com/nv2-signing/nv2/pkg/trust"
)

// One trust policy document both tools read: the signer's root in ca:signer,
// the TSA's root in tsa:tsa, timestamps always verified.
const interopPolicy = `{"version":"1.0","trustPolicies":[{"name":"p","registryScopes":["*"],
 "signatureVerification":{"level":"strict","verifyTimestamp":"always","override":{"revocation":"skip"}},
 "trustStores":["ca:signer","tsa:tsa"],"trustedIdentities":["*"]}]}`

// Timestamped signatures move between nv2 and notation-go in both
// directions, on a registry with the referrers API and on one without.
func TestInteropTimestampedSignatures(t *testing.T) {
	tsa := testtsa.New(t)
	ctx := context.Background()
	for _, kind := range testregistry.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			reg := testregistry.Start(t, kind)
			signer, creds := testsign.Signer(t, nvcrypto.GenerateOptions{CommonName: "interop", NotBefore: time.Now().Add(-time.Hour), Validity: 2 * time.Hour})
			root := creds.Chain[len(creds.Chain)-1]
			cfg := trust.Config{Dir: t.TempDir()}
			certs := t.TempDir()
			if _, err := cfg.AddCertificates(trust.StoreCA, "signer", []string{testsign.WritePEM(t, certs, "signer.crt", root)}); err != nil {
				t.Fatal(err)
			}
			if _, err := cfg.AddCertificates(trust.StoreTSA, "tsa", []string{testsign.WritePEM(t, certs, "tsa.crt", tsa.Root())}); err != nil {
				t.Fatal(err)
			}
			nv2Policy, err := trust.ParsePolicy([]byte(interopPolicy))
			if err != nil {
				t.Fatal(err)
			}
			var notationPolicy trustpolicy.Document
			if err := json.Unmarshal([]byte(interopPolicy), &notationPolicy); err != nil {
				t.Fatal(err)
			}
			// notation reads the same truststore/x509/TYPE/NAME layout.
			nVerifier, err := verifier.New(&notationPolicy, truststore.NewX509TrustStore(dir.NewSysFS(cfg.Dir)), nil)
			if err != nil {
				t.Fatal(err)
			}
			repo := func(name string) nregistry.Repository {
				r, err := remote.NewRepository(reg.Host + "/" + name)
				if err != nil {
					t.Fatal(err)
				}
				r.PlainHTTP = true
				return nregistry.NewRepository(r)
			}
			client := newFlowsClient(t)

			t.Run("notation-go verifies nv2", func(t *testing.T) {
				img := testregistry.PushImage(t, reg, "by-nv2", "v1", "by-nv2"+string(kind))
				ts := &timestamp.Client{URL: tsa.URL, Roots: []*x509.Certificate{tsa.Root()}}
				if _, err := client.Sign(ctx, flows.SignOptions{Signer: signer, Artifact: flows.Location{Ref: reg.Host + "/by-nv2:v1"}, Timestamp: ts}); err != nil {
					t.Fatal(err)
				}
				ref := reg.Host + "/by-nv2@" + img.Digest.String()
				_, outcomes, err := notation.Verify(ctx, nVerifier, repo("by-nv2"), notation.VerifyOptions{ArtifactReference: ref, MaxSignatureAttempts: 10})
				if err != nil {
					t.Fatalf("notation-go Verify: %v", err)
				}
				if len(outcomes) != 1 || len(outcomes[0].EnvelopeContent.SignerInfo.UnsignedAttributes.TimestampSignature) == 0 {
					t.Fatalf("notation-go saw no timestamp: %+v", outcomes)
				}
			})

			t.Run("nv2 verifies notation-go", func(t *testing.T) {
				img := testregistry.PushImage(t, reg, "by-notation", "v1", "by-notation"+string(kind))
				nSigner, err := nsigner.NewGenericSigner(creds.Key, creds.Chain)
				if err != nil {
					t.Fatal(err)
				}
				pool := x509.NewCertPool()
				pool.AddCert(tsa.Root())
				_, err = notation.Sign(ctx, nSigner, repo("by-notation"), notation.SignOptions{
					ArtifactReference: img.Digest.String(),
					SignerSignOptions: notation.SignerSignOptions{SignatureMediaType: spec.MediaTypeEnvelope, Timestamper: tsa.Timestamper(), TSARootCAs: pool},
				})
				if err != nil {
					t.Fatalf("notation-go Sign: %v", err)
				}
				v := trust.NewPolicyVerifier(nv2Policy, cfg)
				v.Now = func() time.Time { return time.Now().Add(3 * time.Hour) } // the signing certificate has expired
				res := client.Verify(ctx, v, flows.Location{Ref: reg.Host + "/by-notation:v1"})[0]
				if res.Err != nil || res.Signature.Timestamp == nil {
					t.Fatalf("nv2 verify of notation-go's timestamped signature: %v %+v", res.Err, res.Result)
				}
			})
		})
	}
}
