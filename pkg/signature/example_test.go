package signature_test

import (
	"fmt"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/signature"
)

// Sign an image manifest with a new test key and certificate.
func ExampleSigner_Sign() {
	creds, err := nvcrypto.Generate(nvcrypto.GenerateOptions{CommonName: "example.com", CA: true})
	if err != nil {
		panic(err)
	}
	signer, err := signature.NewSigner(creds.Key, creds.Chain)
	if err != nil {
		panic(err)
	}
	envelope, err := signer.Sign(signature.SignRequest{
		Target: ocispec.Descriptor{
			MediaType: ocispec.MediaTypeImageManifest,
			Digest:    digest.FromString("manifest"),
			Size:      8,
		},
		Annotations:  map[string]string{"io.example.build": "42"},
		Expiry:       time.Now().Add(30 * 24 * time.Hour),
		SigningAgent: "nv2/0.1.0",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(signer.Algorithm(), len(envelope) > 0)
	// Output: ES256 true
}

// Verify checks an envelope's integrity and tells what it signs; deciding
// whether its certificate chain is trusted is the caller's job.
func ExampleVerify() {
	creds, _ := nvcrypto.Generate(nvcrypto.GenerateOptions{CommonName: "example.com", CA: true})
	signer, _ := signature.NewSigner(creds.Key, creds.Chain)
	manifest := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("manifest"), Size: 8}
	envelope, _ := signer.Sign(signature.SignRequest{Target: manifest})

	env, err := signature.Verify(envelope)
	if err != nil {
		fmt.Println("refused:", err)
		return
	}
	fmt.Println(env.Algorithm, env.SigningScheme)
	fmt.Println(env.Payload.TargetArtifact.Digest == manifest.Digest)
	fmt.Println(env.Chain[0].Subject.CommonName)

	// Trust is a separate decision, for instance against the CA certificate.
	anchors := creds.Chain[1:]
	fmt.Println(nvcrypto.VerifyChainTo(env.Chain, anchors, time.Now()) == nil)
	// Output:
	// ES256 notary.x509
	// true
	// example.com
	// true
}
