package signature

import (
	"context"
	stdcrypto "crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v3"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/spec"
)

// Signer signs payloads with a private key and its certificate chain.
// It is safe for concurrent use if its key is.
type Signer struct {
	key   stdcrypto.Signer
	chain []*x509.Certificate
	alg   nvcrypto.Algorithm
}

// NewSigner returns a Signer for key and its chain (leaf first). The key must
// be the leaf's, of a kind nvcrypto.AlgorithmFor accepts, and the chain must
// pass nvcrypto.ValidateChain (structure only: validity dates are not checked,
// so that a signature can be made and judged elsewhere).
func NewSigner(key stdcrypto.Signer, chain []*x509.Certificate) (*Signer, error) {
	if key == nil {
		return nil, errors.New("signer: no private key")
	}
	if len(chain) == 0 {
		return nil, errors.New("signer: no certificate chain: give the certificate of the key, leaf first")
	}
	alg, err := nvcrypto.AlgorithmFor(key.Public())
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	if err := nvcrypto.CheckKeyMatchesCertificate(key, chain[0]); err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	if err := nvcrypto.ValidateChain(chain, time.Time{}); err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	return &Signer{key: key, chain: append([]*x509.Certificate(nil), chain...), alg: alg}, nil
}

// Algorithm returns the JWS algorithm the Signer uses.
func (s *Signer) Algorithm() nvcrypto.Algorithm { return s.alg }

// Chain returns a copy of the Signer's certificate chain, leaf first.
func (s *Signer) Chain() []*x509.Certificate { return append([]*x509.Certificate(nil), s.chain...) }

// SignRequest is what to sign.
type SignRequest struct {
	// Target is the signed artifact; its mediaType, digest and size are used,
	// its annotations ignored.
	Target ocispec.Descriptor
	// Annotations are signed user metadata, the payload's
	// targetArtifact.annotations (omitted when empty).
	Annotations map[string]string
	// SigningTime is the claimed time of signing, encoded in RFC 3339 at second
	// precision with its own offset; zero means now.
	SigningTime time.Time
	// Expiry, when not zero, is the time after which verifiers refuse the
	// signature; it must be after SigningTime.
	Expiry time.Time
	// SigningAgent names the signing program, e.g. "nv2/0.1.0" (unsigned).
	SigningAgent string
	// Timestamper, when set, is asked for an RFC 3161 timestamp token over the
	// signature value, which goes into the unprotected header (see
	// Timestamper). SignContext passes its context to it.
	Timestamper Timestamper
}

// header is the unprotected JWS header.
type header struct {
	X5c                []string `json:"x5c"`
	SigningAgent       string   `json:"io.cncf.notary.signingAgent,omitempty"`
	TimestampSignature string   `json:"io.cncf.notary.timestampSignature,omitempty"`
}

// envelope is the flattened JWS JSON serialization, exactly these members.
type envelope struct {
	Payload   string `json:"payload"`
	Protected string `json:"protected"`
	Header    header `json:"header"`
	Signature string `json:"signature"`
}

// Sign returns the JWS envelope (media type spec.MediaTypeEnvelope) of a
// payload describing req.Target, signed with the Signer's key. Every
// certificate of the chain must be valid at the signing time, as verifiers
// require (nvcrypto.ErrExpired, nvcrypto.ErrNotYetValid otherwise).
// It is SignContext with context.Background().
func (s *Signer) Sign(req SignRequest) ([]byte, error) {
	return s.SignContext(context.Background(), req)
}

// SignContext is Sign with a context for req.Timestamper. With a
// Timestamper, the envelope carries its token in the unprotected header
// io.cncf.notary.timestampSignature, and an error of the Timestamper fails
// the signing (wrapped, so errors.Is and errors.As see it).
func (s *Signer) SignContext(ctx context.Context, req SignRequest) ([]byte, error) {
	t := req.Target
	if t.MediaType == "" {
		return nil, errors.New("sign: the target has no media type")
	}
	if err := t.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("sign: the target digest %q is invalid: %w", t.Digest, err)
	}
	if t.Size < 0 {
		return nil, fmt.Errorf("sign: the target size %d is negative", t.Size)
	}
	target := ocispec.Descriptor{MediaType: t.MediaType, Digest: t.Digest, Size: t.Size}
	if len(req.Annotations) > 0 {
		target.Annotations = req.Annotations
	}
	payload, err := json.Marshal(Payload{TargetArtifact: target})
	if err != nil {
		return nil, fmt.Errorf("sign: encode payload: %w", err)
	}

	signingTime := req.SigningTime
	if signingTime.IsZero() {
		signingTime = time.Now().UTC()
	}
	signingTime = signingTime.Truncate(time.Second)
	if err := nvcrypto.CheckValidity(s.chain, signingTime); err != nil {
		return nil, fmt.Errorf("sign at %s: %w", signingTime.Format(time.RFC3339), err)
	}
	crit := []string{spec.HeaderSigningScheme}
	headers := map[jose.HeaderKey]any{
		"cty":                    spec.MediaTypePayload,
		spec.HeaderSigningScheme: spec.SigningSchemeX509,
		spec.HeaderSigningTime:   signingTime.Format(time.RFC3339),
	}
	if !req.Expiry.IsZero() {
		expiry := req.Expiry.Truncate(time.Second)
		if !expiry.After(signingTime) {
			return nil, fmt.Errorf("sign: expiry %s is not after the signing time %s", expiry.Format(time.RFC3339), signingTime.Format(time.RFC3339))
		}
		headers[spec.HeaderExpiry] = expiry.Format(time.RFC3339)
		crit = append(crit, spec.HeaderExpiry)
	}
	headers["crit"] = crit

	var key any = opaqueSigner{s.key, s.alg}
	switch k := s.key.(type) {
	case *ecdsa.PrivateKey, *rsa.PrivateKey:
		key = k
	}
	js, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(s.alg), Key: key}, &jose.SignerOptions{ExtraHeaders: headers})
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	jws, err := js.Sign(payload)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	compact, err := jws.CompactSerialize()
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	parts := strings.Split(compact, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("sign: unexpected JWS compact form with %d parts", len(parts))
	}
	h := header{SigningAgent: req.SigningAgent}
	for _, c := range s.chain {
		h.X5c = append(h.X5c, base64.StdEncoding.EncodeToString(c.Raw))
	}
	if req.Timestamper != nil {
		if h.TimestampSignature, err = s.timestamp(ctx, req.Timestamper, parts[2]); err != nil {
			return nil, err
		}
	}
	out, err := json.Marshal(envelope{Protected: parts[0], Payload: parts[1], Header: h, Signature: parts[2]})
	if err != nil {
		return nil, fmt.Errorf("sign: encode envelope: %w", err)
	}
	return out, nil
}

// opaqueSigner lets go-jose sign with any crypto.Signer (an HSM or KMS key),
// producing the JWS signature forms: RSA-PSS with salt length = hash length,
// ECDSA as the fixed-width R || S.
type opaqueSigner struct {
	key stdcrypto.Signer
	alg nvcrypto.Algorithm
}

func (o opaqueSigner) Public() *jose.JSONWebKey {
	return &jose.JSONWebKey{Key: o.key.Public(), Algorithm: string(o.alg)}
}

func (o opaqueSigner) Algs() []jose.SignatureAlgorithm {
	return []jose.SignatureAlgorithm{jose.SignatureAlgorithm(o.alg)}
}

func (o opaqueSigner) SignPayload(payload []byte, alg jose.SignatureAlgorithm) ([]byte, error) {
	if string(alg) != string(o.alg) {
		return nil, fmt.Errorf("key signs with %s, not %s", o.alg, alg)
	}
	hash := o.alg.Hash()
	h := hash.New()
	h.Write(payload)
	digest := h.Sum(nil)
	switch pub := o.key.Public().(type) {
	case *rsa.PublicKey:
		return o.key.Sign(rand.Reader, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: hash})
	case *ecdsa.PublicKey:
		der, err := o.key.Sign(rand.Reader, digest, hash)
		if err != nil {
			return nil, err
		}
		return ecdsaDERToJWS(der, (pub.Curve.Params().BitSize+7)/8)
	}
	return nil, fmt.Errorf("%w: %T", nvcrypto.ErrUnsupportedKey, o.key.Public())
}
