// Package signature builds, signs, parses and verifies Notary Project v1 JWS
// envelopes and the signature manifests that store them. Pure: no network, no files.
package signature

import (
	"crypto/x509"
	"errors"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
)

// Errors of Verify, for errors.Is. Each is wrapped with what failed and what
// to do about it.
var (
	// ErrMalformed: the envelope is not a well-formed Notary Project JWS envelope.
	ErrMalformed = errors.New("malformed signature envelope")
	// ErrTooLarge: the envelope is larger than spec.MaxEnvelopeSize.
	ErrTooLarge = errors.New("signature envelope too large")
	// ErrInvalidSignature: the signature does not match the signed content.
	ErrInvalidSignature = errors.New("invalid signature")
	// ErrUnsupportedAlgorithm: alg is missing or not one of the six allowed, or
	// the leaf key is of a kind no allowed algorithm uses.
	ErrUnsupportedAlgorithm = errors.New("unsupported signature algorithm")
	// ErrAlgorithmMismatch: alg is not the algorithm of the leaf certificate's key.
	ErrAlgorithmMismatch = errors.New("signature algorithm does not match the signing certificate")
	// ErrUnknownCritical: crit names a header nv2 does not process.
	ErrUnknownCritical = errors.New("unknown critical header")
	// ErrMissingCritical: crit lacks a header that must be critical.
	ErrMissingCritical = errors.New("header missing from crit")
	// ErrContentType: cty is not the Notary Project payload media type.
	ErrContentType = errors.New("wrong payload content type")
	// ErrMissingCertificates: x5c is missing, empty or not X.509 certificates.
	ErrMissingCertificates = errors.New("missing or invalid certificate chain")
	// ErrUnsupportedScheme: the signing scheme is not notary.x509.
	ErrUnsupportedScheme = errors.New("unsupported signing scheme")
	// ErrPluginRequired: the signature names a verification plugin, and nv2
	// runs none, so it cannot perform the verification the signer required.
	ErrPluginRequired = errors.New("signature requires a verification plugin")
)

// Payload is the signed content of an envelope.
type Payload struct {
	// TargetArtifact is the signed artifact: mediaType, digest, size and the
	// signed user annotations.
	TargetArtifact ocispec.Descriptor `json:"targetArtifact"`
}

// Envelope is what Verify found in a well-formed envelope whose signature
// matches its leaf certificate. Whether that certificate is trusted, and
// whether the signature has expired, is for the caller to decide.
type Envelope struct {
	Payload       Payload
	SigningTime   time.Time
	Expiry        time.Time // zero when the envelope has none
	Algorithm     nvcrypto.Algorithm
	SigningScheme string
	SigningAgent  string              // unsigned, informative only
	Chain         []*x509.Certificate // from x5c, leaf first; unsigned, unverified
	// SignatureValue is the decoded JWS signature, the message a timestamp
	// token stamps.
	SignatureValue []byte
	// TimestampToken is the RFC 3161 token of the unprotected header
	// io.cncf.notary.timestampSignature (DER); nil when there is none. It is
	// unsigned and unverified: check it with the timestamp package against
	// SignatureValue and trusted TSA roots.
	TimestampToken []byte
}
