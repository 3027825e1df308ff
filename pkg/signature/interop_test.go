package signature_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	notation "github.com/notaryproject/notation-core-go/signature"
	_ "github.com/notaryproject/notation-core-go/signature/jws" // registers application/jose+json

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/spec"
)

// The interoperability tests run nv2 against notation-core-go, the Notary
// Project's reference implementation, in both directions.
var interopCases = []struct {
	keyType nvcrypto.KeyType
	ca      bool
}{
	{nvcrypto.ECDSAP256, false},
	{nvcrypto.ECDSAP256, true},
	{nvcrypto.ECDSAP384, true},
	{nvcrypto.ECDSAP521, true},
	{nvcrypto.RSA2048, false},
	{nvcrypto.RSA3072, true},
	{nvcrypto.RSA4096, true},
}

func interopName(keyType nvcrypto.KeyType, ca bool) string {
	if ca {
		return string(keyType) + "+ca"
	}
	return string(keyType)
}

func TestInteropNotationVerifiesNv2(t *testing.T) {
	signingTime := time.Now().UTC().Truncate(time.Second)
	for _, tc := range interopCases {
		for _, expiry := range []time.Time{{}, signingTime.Add(time.Hour)} {
			t.Run(fmt.Sprintf("%s/expiry=%v", interopName(tc.keyType, tc.ca), !expiry.IsZero()), func(t *testing.T) {
				c := credentials(t, tc.keyType, tc.ca)
				env := sign(t, newSigner(t, c), signature.SignRequest{
					Target: target, Annotations: map[string]string{"k": "v"},
					SigningTime: signingTime, Expiry: expiry, SigningAgent: "nv2/0.1.0",
				})
				parsed, err := notation.ParseEnvelope(spec.MediaTypeEnvelope, env)
				if err != nil {
					t.Fatalf("notation-core-go ParseEnvelope: %v", err)
				}
				content, err := parsed.Verify()
				if err != nil {
					t.Fatalf("notation-core-go Verify: %v", err)
				}
				if content.Payload.ContentType != spec.MediaTypePayload {
					t.Errorf("payload content type = %q", content.Payload.ContentType)
				}
				want := split(t, env).Payload
				if string(content.Payload.Content) != string(want) {
					t.Errorf("payload = %s; want %s", content.Payload.Content, want)
				}
				si := content.SignerInfo
				attrs := si.SignedAttributes
				if attrs.SigningScheme != notation.SigningSchemeX509 || !attrs.SigningTime.Equal(signingTime) || !attrs.Expiry.Equal(expiry) {
					t.Errorf("signed attributes = %+v", attrs)
				}
				if si.UnsignedAttributes.SigningAgent != "nv2/0.1.0" {
					t.Errorf("signing agent = %q", si.UnsignedAttributes.SigningAgent)
				}
				if !slices.Equal(nvcrypto.Thumbprints(si.CertificateChain), nvcrypto.Thumbprints(c.Chain)) {
					t.Error("certificate chain differs")
				}
				if _, err := notation.VerifyAuthenticity(&si, c.Chain[len(c.Chain)-1:]); err != nil {
					t.Errorf("notation-core-go VerifyAuthenticity: %v", err)
				}
			})
		}
	}
}

func TestInteropNv2VerifiesNotation(t *testing.T) {
	signingTime := time.Now().UTC().Truncate(time.Second)
	payload, err := json.Marshal(signature.Payload{TargetArtifact: target})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range interopCases {
		for _, expiry := range []time.Time{{}, signingTime.Add(time.Hour)} {
			t.Run(fmt.Sprintf("%s/expiry=%v", interopName(tc.keyType, tc.ca), !expiry.IsZero()), func(t *testing.T) {
				c := credentials(t, tc.keyType, tc.ca)
				ls, err := notation.NewLocalSigner(c.Chain, c.Key)
				if err != nil {
					t.Fatal(err)
				}
				ne, err := notation.NewEnvelope(spec.MediaTypeEnvelope)
				if err != nil {
					t.Fatal(err)
				}
				env, err := ne.Sign(&notation.SignRequest{
					Payload:       notation.Payload{ContentType: spec.MediaTypePayload, Content: payload},
					Signer:        ls,
					SigningTime:   signingTime,
					Expiry:        expiry,
					SigningAgent:  "notation-core-go",
					SigningScheme: notation.SigningSchemeX509,
				})
				if err != nil {
					t.Fatalf("notation-core-go Sign: %v", err)
				}
				got, err := signature.Verify(env)
				if err != nil {
					t.Fatalf("Verify: %v\n%s", err, env)
				}
				if !descriptorEqual(got.Payload.TargetArtifact, target) {
					t.Errorf("target = %+v; want %+v", got.Payload.TargetArtifact, target)
				}
				want, _ := nvcrypto.AlgorithmFor(c.Key.Public())
				if got.Algorithm != want || got.SigningScheme != spec.SigningSchemeX509 || got.SigningAgent != "notation-core-go" {
					t.Errorf("alg, scheme, agent = %s, %s, %q", got.Algorithm, got.SigningScheme, got.SigningAgent)
				}
				if !got.SigningTime.Equal(signingTime) || !got.Expiry.Equal(expiry) {
					t.Errorf("times = %s, %s; want %s, %s", got.SigningTime, got.Expiry, signingTime, expiry)
				}
				if !slices.Equal(nvcrypto.Thumbprints(got.Chain), nvcrypto.Thumbprints(c.Chain)) {
					t.Error("certificate chain differs")
				}
			})
		}
	}
}
