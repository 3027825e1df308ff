package crypto_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"testing"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
)

// FuzzParsePrivateKey checks that any input either fails or yields a key of an
// allowed kind that encodes and parses back to itself.
func FuzzParsePrivateKey(f *testing.F) {
	c, err := nvcrypto.Generate(nvcrypto.GenerateOptions{CommonName: "fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	pkcs8, _ := nvcrypto.EncodePrivateKey(c.Key)
	sec1, _ := x509.MarshalECPrivateKey(c.Key.(*ecdsa.PrivateKey))
	f.Add(pkcs8)
	f.Add(pemBlock("EC PRIVATE KEY", sec1, nil))
	f.Add(pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(testKey(f, "rsa2048").(*rsa.PrivateKey)), nil))
	f.Add(pemBlock("ENCRYPTED PRIVATE KEY", []byte{1}, nil))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := nvcrypto.ParsePrivateKey(data)
		if err != nil {
			return
		}
		if _, err := nvcrypto.AlgorithmFor(key.Public()); err != nil {
			t.Fatalf("parsed a refused key: %v", err)
		}
		encoded, err := nvcrypto.EncodePrivateKey(key)
		if err != nil {
			t.Fatalf("cannot encode a parsed key: %v", err)
		}
		if _, err := nvcrypto.ParsePrivateKey(encoded); err != nil {
			t.Fatalf("encoded key does not parse: %v", err)
		}
	})
}

// FuzzParseCertificates checks that any input either fails or yields a
// non-empty chain that encodes and parses back to the same certificates.
func FuzzParseCertificates(f *testing.F) {
	c, err := nvcrypto.Generate(nvcrypto.GenerateOptions{CommonName: "fuzz", CA: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(nvcrypto.EncodeCertificates(c.Chain))
	f.Add(nvcrypto.EncodeCertificates(c.Chain[:1]))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := nvcrypto.ParseCertificates(data)
		if err != nil {
			return
		}
		if len(certs) == 0 {
			t.Fatal("no error and no certificates")
		}
		again, err := nvcrypto.ParseCertificates(nvcrypto.EncodeCertificates(certs))
		if err != nil || len(again) != len(certs) {
			t.Fatalf("re-encoded chain does not parse back: %v", err)
		}
		for i := range certs {
			if !bytes.Equal(certs[i].Raw, again[i].Raw) {
				t.Fatalf("certificate %d changed on re-encoding", i)
			}
		}
		_ = nvcrypto.Thumbprints(certs)
		_ = nvcrypto.ValidateChain(certs, certs[0].NotBefore)
	})
}
