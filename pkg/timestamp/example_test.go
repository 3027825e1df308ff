package timestamp_test

import (
	"context"
	"crypto/x509"
	"fmt"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/nv2-signing/nv2/internal/testtsa"
	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/timestamp"
)

// Sign with a trusted timestamp, then check the timestamp as a verifier does:
// the token stamps the envelope's signature, comes from a trusted TSA, and
// its time lies within the signing certificates' validity.
func ExampleClient_Timestamp() {
	tsa, err := testtsa.Start() // a real RFC 3161 TSA on a loopback port
	if err != nil {
		panic(err)
	}
	defer tsa.Close()
	tsaRoots := []*x509.Certificate{tsa.Root()}

	creds, err := nvcrypto.Generate(nvcrypto.GenerateOptions{CommonName: "example.com", CA: true})
	if err != nil {
		panic(err)
	}
	signer, err := signature.NewSigner(creds.Key, creds.Chain)
	if err != nil {
		panic(err)
	}
	client := &timestamp.Client{URL: tsa.URL, Roots: tsaRoots}
	envelope, err := signer.SignContext(context.Background(), signature.SignRequest{
		Target:      ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("manifest"), Size: 8},
		Timestamper: client.Timestamp,
	})
	if err != nil {
		panic(err)
	}

	env, err := signature.Verify(envelope)
	if err != nil {
		panic(err)
	}
	ts, err := timestamp.Verify(env.TimestampToken, env.SignatureValue, tsaRoots)
	if err != nil {
		panic(err)
	}
	fmt.Println("stamped with", ts.Hash, "by", ts.TSAChain[0].Subject.CommonName)
	fmt.Println("within the signing chain's validity:", ts.Within(env.Chain) == nil)
	// Output:
	// stamped with SHA-256 by Test TSA Timestamping
	// within the signing chain's validity: true
}
