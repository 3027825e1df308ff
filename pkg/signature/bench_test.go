package signature_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"testing"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/signature"
)

// The envelope benchmarks sit next to the raw signature operation on the same
// JWS signing input, so that the envelope overhead reads as a ratio:
// BenchmarkSign/ES256 against BenchmarkRawECDSASign (P-256, SHA-256), and
// BenchmarkSign/PS256 against BenchmarkRawRSAPSSSign (RSA 2048, SHA-256).

var benchKeyTypes = map[string]nvcrypto.KeyType{"ES256": nvcrypto.ECDSAP256, "PS256": nvcrypto.RSA2048}

var benchRequest = signature.SignRequest{Target: target, Annotations: map[string]string{"io.nv2.build": "42"}, SigningAgent: "nv2/0.1.0"}

func BenchmarkSign(b *testing.B) {
	for _, alg := range []string{"ES256", "PS256"} {
		b.Run(alg, func(b *testing.B) {
			s := newSigner(b, credentials(b, benchKeyTypes[alg], true))
			for b.Loop() {
				if _, err := s.Sign(benchRequest); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, alg := range []string{"ES256", "PS256"} {
		b.Run(alg, func(b *testing.B) {
			env := sign(b, newSigner(b, credentials(b, benchKeyTypes[alg], true)), benchRequest)
			b.SetBytes(int64(len(env)))
			for b.Loop() {
				if _, err := signature.Verify(env); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// signingInput returns the JWS signing input of a typical envelope.
func signingInput(b *testing.B, kt nvcrypto.KeyType) []byte {
	env := sign(b, newSigner(b, credentials(b, kt, true)), benchRequest)
	var raw struct{ Protected, Payload string }
	if err := json.Unmarshal(env, &raw); err != nil {
		b.Fatal(err)
	}
	return []byte(raw.Protected + "." + raw.Payload)
}

func BenchmarkRawECDSASign(b *testing.B) {
	key := credentials(b, nvcrypto.ECDSAP256, true).Key.(*ecdsa.PrivateKey)
	input := signingInput(b, nvcrypto.ECDSAP256)
	for b.Loop() {
		digest := sha256.Sum256(input)
		if _, _, err := ecdsa.Sign(rand.Reader, key, digest[:]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawECDSAVerify(b *testing.B) {
	key := credentials(b, nvcrypto.ECDSAP256, true).Key.(*ecdsa.PrivateKey)
	input := signingInput(b, nvcrypto.ECDSAP256)
	digest := sha256.Sum256(input)
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		digest := sha256.Sum256(input)
		if !ecdsa.Verify(&key.PublicKey, digest[:], r, s) {
			b.Fatal("verification failed")
		}
	}
}

var pss = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}

func BenchmarkRawRSAPSSSign(b *testing.B) {
	key := credentials(b, nvcrypto.RSA2048, true).Key.(*rsa.PrivateKey)
	input := signingInput(b, nvcrypto.RSA2048)
	for b.Loop() {
		digest := sha256.Sum256(input)
		if _, err := rsa.SignPSS(rand.Reader, key, crypto.SHA256, digest[:], pss); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawRSAPSSVerify(b *testing.B) {
	key := credentials(b, nvcrypto.RSA2048, true).Key.(*rsa.PrivateKey)
	input := signingInput(b, nvcrypto.RSA2048)
	digest := sha256.Sum256(input)
	sig, err := rsa.SignPSS(rand.Reader, key, crypto.SHA256, digest[:], pss)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		digest := sha256.Sum256(input)
		if err := rsa.VerifyPSS(&key.PublicKey, crypto.SHA256, digest[:], sig, pss); err != nil {
			b.Fatal(err)
		}
	}
}
