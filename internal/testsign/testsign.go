// Package testsign makes signing material for tests: certificate chains that
// follow or break one rule of the Notary Project certificate requirements,
// and JWS envelopes built without nv2's signer, which would refuse them.
package testsign

import (
	stdcrypto "crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/spec"
)

// Key returns a new P-256 key, or an RSA key of bits when bits > 0.
func Key(t testing.TB, bits int) stdcrypto.Signer {
	t.Helper()
	var k stdcrypto.Signer
	var err error
	if bits > 0 {
		k, err = rsa.GenerateKey(rand.Reader, bits)
	} else {
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// LeafTemplate is a code signing certificate that follows every rule.
func LeafTemplate(cn string) *x509.Certificate {
	return &x509.Certificate{
		Subject:               pkix.Name{CommonName: cn},
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
	}
}

// CATemplate is a CA certificate that follows every rule; maxPathLen < 0
// sets no path length constraint.
func CATemplate(cn string, maxPathLen int) *x509.Certificate {
	return &x509.Certificate{
		Subject:               pkix.Name{CommonName: cn},
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            maxPathLen,
		MaxPathLenZero:        maxPathLen == 0,
	}
}

// Issue makes a certificate from template for pub, signed by parentKey as
// parent (self-signed when parent is nil). A template without dates is valid
// from an hour ago for a day.
func Issue(t testing.TB, template, parent *x509.Certificate, pub stdcrypto.PublicKey, parentKey stdcrypto.Signer) *x509.Certificate {
	t.Helper()
	if template.SerialNumber == nil {
		serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 100))
		if err != nil {
			t.Fatal(err)
		}
		template.SerialNumber = serial.Add(serial, big.NewInt(1))
	}
	if template.NotBefore.IsZero() {
		now := time.Now().UTC().Truncate(time.Second)
		template.NotBefore, template.NotAfter = now.Add(-time.Hour), now.Add(24*time.Hour)
	}
	if parent == nil {
		parent = template
	}
	der, err := x509.CreateCertificate(rand.Reader, template, parent, pub, parentKey)
	if err != nil {
		t.Fatalf("issue %q: %v", template.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// PKI is a root, an intermediate and a leaf that follow every rule.
type PKI struct {
	Root, Inter, Leaf          *x509.Certificate
	RootKey, InterKey, LeafKey stdcrypto.Signer
}

// NewPKI makes a PKI whose certificates are named after name.
func NewPKI(t testing.TB, name string) *PKI {
	t.Helper()
	p := &PKI{RootKey: Key(t, 0), InterKey: Key(t, 0), LeafKey: Key(t, 0)}
	p.Root = Issue(t, CATemplate(name+" root", -1), nil, p.RootKey.Public(), p.RootKey)
	p.Inter = Issue(t, CATemplate(name+" intermediate", 0), p.Root, p.InterKey.Public(), p.RootKey)
	p.Leaf = Issue(t, LeafTemplate(name), p.Inter, p.LeafKey.Public(), p.InterKey)
	return p
}

// Chain is leaf, intermediate, root.
func (p *PKI) Chain() []*x509.Certificate { return []*x509.Certificate{p.Leaf, p.Inter, p.Root} }

// LeafWith issues a leaf from LeafTemplate changed by edit, under p's
// intermediate, with p's leaf key.
func (p *PKI) LeafWith(t testing.TB, cn string, edit func(*x509.Certificate)) *x509.Certificate {
	t.Helper()
	tmpl := LeafTemplate(cn)
	edit(tmpl)
	return Issue(t, tmpl, p.Inter, p.LeafKey.Public(), p.InterKey)
}

// WritePEM writes certs to a new file in dir and returns its path.
func WritePEM(t testing.TB, dir, name string, certs ...*x509.Certificate) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, nvcrypto.EncodeCertificates(certs), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// WriteKey writes key (PEM) to a new file in dir with mode 0600.
func WriteKey(t testing.TB, dir, name string, key stdcrypto.Signer) string {
	t.Helper()
	b, err := nvcrypto.EncodePrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Envelope is a JWS envelope taken apart: edit any part, then Bytes signs
// it with Key (as JWS does, independently of nv2's signer).
type Envelope struct {
	Protected map[string]any
	Payload   []byte
	Header    map[string]any
	Key       stdcrypto.Signer
	// Alg, when set, is the algorithm the signature is made with; by
	// default the one that follows Key.
	Alg nvcrypto.Algorithm
}

// NewEnvelope is what a Notary Project signer makes for subject with key
// and chain, signed now: edit it to break one rule.
func NewEnvelope(t testing.TB, key stdcrypto.Signer, chain []*x509.Certificate, subject ocispec.Descriptor) *Envelope {
	t.Helper()
	alg, err := nvcrypto.AlgorithmFor(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(map[string]any{"targetArtifact": subject})
	if err != nil {
		t.Fatal(err)
	}
	x5c := make([]string, len(chain))
	for i, c := range chain {
		x5c[i] = base64.StdEncoding.EncodeToString(c.Raw)
	}
	return &Envelope{
		Protected: map[string]any{
			"alg": string(alg), "cty": spec.MediaTypePayload, "crit": []string{spec.HeaderSigningScheme},
			spec.HeaderSigningScheme: spec.SigningSchemeX509,
			spec.HeaderSigningTime:   time.Now().UTC().Truncate(time.Second).Format(time.RFC3339),
		},
		Payload: payload,
		Header:  map[string]any{"x5c": x5c, spec.HeaderSigningAgent: "nv2-tests"},
		Key:     key,
	}
}

// Bytes encodes and signs the envelope.
func (e *Envelope) Bytes(t testing.TB) []byte {
	t.Helper()
	protected, err := json.Marshal(e.Protected)
	if err != nil {
		t.Fatal(err)
	}
	input := base64.RawURLEncoding.EncodeToString(protected) + "." + base64.RawURLEncoding.EncodeToString(e.Payload)
	sig := JWSSign(t, e.Key, e.Alg, input)
	out, err := json.Marshal(map[string]any{
		"protected": base64.RawURLEncoding.EncodeToString(protected),
		"payload":   base64.RawURLEncoding.EncodeToString(e.Payload),
		"header":    e.Header,
		"signature": base64.RawURLEncoding.EncodeToString(sig),
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// JWSSign signs input as JWS does with alg (by default the one that follows
// key): RSASSA-PSS, or ECDSA with the r||s encoding; independently of the
// code under test.
func JWSSign(t testing.TB, key stdcrypto.Signer, alg nvcrypto.Algorithm, input string) []byte {
	t.Helper()
	if alg == "" {
		var err error
		if alg, err = nvcrypto.AlgorithmFor(key.Public()); err != nil {
			t.Fatal(err)
		}
	}
	h := alg.Hash().New()
	h.Write([]byte(input))
	digest := h.Sum(nil)
	switch k := key.(type) {
	case *rsa.PrivateKey:
		sig, err := rsa.SignPSS(rand.Reader, k, alg.Hash(), digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		if err != nil {
			t.Fatal(err)
		}
		return sig
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, k, digest)
		if err != nil {
			t.Fatal(err)
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		out := make([]byte, 2*size)
		r.FillBytes(out[:size])
		s.FillBytes(out[size:])
		return out
	}
	t.Fatalf("unsupported key %T", key)
	return nil
}

// Signer is nv2's signer with new credentials made by nvcrypto.Generate
// with opts (a common name is required).
func Signer(t testing.TB, opts nvcrypto.GenerateOptions) (*signature.Signer, *nvcrypto.Credentials) {
	t.Helper()
	creds, err := nvcrypto.Generate(opts)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signature.NewSigner(creds.Key, creds.Chain)
	if err != nil {
		t.Fatal(err)
	}
	return s, creds
}

// Sign signs req with s.
func Sign(t testing.TB, s *signature.Signer, req signature.SignRequest) []byte {
	t.Helper()
	env, err := s.Sign(req)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// Thumbprints are the SHA-256 thumbprints of chain, for the manifest's hint.
func Thumbprints(chain []*x509.Certificate) []string { return nvcrypto.Thumbprints(chain) }
