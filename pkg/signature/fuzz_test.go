package signature_test

import (
	"errors"
	"testing"
	"time"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/spec"
)

var verifyErrors = []error{
	signature.ErrMalformed, signature.ErrTooLarge, signature.ErrInvalidSignature,
	signature.ErrUnsupportedAlgorithm, signature.ErrAlgorithmMismatch, signature.ErrUnknownCritical,
	signature.ErrMissingCritical, signature.ErrContentType, signature.ErrMissingCertificates,
	signature.ErrUnsupportedScheme,
}

// FuzzVerify checks that Verify never panics, that every refusal is one of
// its documented errors, and that what it accepts is consistent. Seeds: valid
// envelopes, envelopes changed in one way, and testdata/fuzz/FuzzVerify.
func FuzzVerify(f *testing.F) {
	signingTime := time.Now().UTC()
	for _, kt := range []nvcrypto.KeyType{nvcrypto.ECDSAP256, nvcrypto.RSA2048} {
		c := credentials(f, kt, kt == nvcrypto.ECDSAP256)
		valid := sign(f, newSigner(f, c), signature.SignRequest{
			Target: target, Annotations: map[string]string{"a": "b"},
			SigningTime: signingTime, Expiry: signingTime.Add(time.Hour), SigningAgent: "nv2/test",
		})
		f.Add(valid)
		for _, edit := range []func(p *parts){
			func(p *parts) { p.Protected["alg"] = "none" },
			func(p *parts) { p.Protected["alg"] = "ES384" },
			func(p *parts) { p.Protected["crit"] = []string{"b64"} },
			func(p *parts) { p.Protected["crit"] = []string{spec.HeaderSigningScheme} },
			func(p *parts) { p.Protected["cty"] = "application/json" },
			func(p *parts) { p.Header["x5c"] = []string{} },
			func(p *parts) { p.Header[spec.HeaderTimestampSignature] = "MIIB" },
			func(p *parts) { p.Header[spec.HeaderTimestampSignature] = "not base64" },
			func(p *parts) { p.Payload = []byte(`{"targetArtifact":{}}`) },
		} {
			p := split(f, valid)
			edit(&p)
			f.Add(p.join(f, c.Key))
		}
		f.Add(valid[:len(valid)/2])
	}
	f.Add([]byte(`{"payload":"","protected":"","header":{},"signature":""}`))
	f.Add([]byte(`{}`))

	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := signature.Verify(data)
		if err != nil {
			if env != nil {
				t.Fatal("Verify returned an envelope with an error")
			}
			for _, known := range verifyErrors {
				if errors.Is(err, known) {
					return
				}
			}
			t.Fatalf("Verify error %q is none of the documented errors", err)
		}
		if len(env.SignatureValue) == 0 {
			t.Fatal("accepted an envelope without its signature value")
		}
		if len(env.Chain) == 0 || env.SigningScheme != spec.SigningSchemeX509 || env.SigningTime.IsZero() {
			t.Fatalf("accepted an incomplete envelope: %+v", env)
		}
		if alg, err := nvcrypto.AlgorithmFor(env.Chain[0].PublicKey); err != nil || alg != env.Algorithm {
			t.Fatalf("accepted alg %s for a leaf key of %s (%v)", env.Algorithm, alg, err)
		}
		if err := env.Payload.TargetArtifact.Digest.Validate(); err != nil || env.Payload.TargetArtifact.MediaType == "" {
			t.Fatalf("accepted an invalid target %+v", env.Payload.TargetArtifact)
		}
	})
}
