package timestamp

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"

	nx509 "github.com/notaryproject/notation-core-go/x509"
	"github.com/notaryproject/tspclient-go"
)

// MaxTokenSize bounds a token Verify accepts.
const MaxTokenSize = MaxResponseSize

// oidExtKeyUsage is the extended key usage extension (RFC 5280 4.2.1.12).
var oidExtKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 37}

// Hash algorithms of a message imprint nv2 accepts.
var imprintHashes = map[string]crypto.Hash{
	"2.16.840.1.101.3.4.2.1": crypto.SHA256,
	"2.16.840.1.101.3.4.2.2": crypto.SHA384,
	"2.16.840.1.101.3.4.2.3": crypto.SHA512,
}

func checkHash(h crypto.Hash) error {
	switch h {
	case crypto.SHA256, crypto.SHA384, crypto.SHA512:
		return nil
	}
	return fmt.Errorf("%w: %v; use SHA-256, SHA-384 or SHA-512", ErrUnsupportedHash, h)
}

// Verify checks an RFC 3161 TimeStampToken (DER, as a TSA returns it and as
// a signature envelope stores it) over message:
//
//   - it parses as CMS SignedData of a TSTInfo, version 1 (ErrMalformed);
//   - its message imprint is message hashed with the imprint's own algorithm,
//     one of SHA-256, SHA-384, SHA-512 (ErrImprintMismatch, ErrUnsupportedHash);
//   - the certificate named by its signing-certificate-v2 attribute has
//     exactly the timeStamping extended key usage, marked critical (RFC 3161
//     section 2.3; ErrNotTimestamping);
//   - its CMS signature verifies with that certificate (ErrInvalidSignature),
//     and the certificate chains, through the certificates in the token, to
//     one of roots, every certificate valid at the token's time (ErrUntrusted);
//   - that chain meets the certificate requirements the Notary Project's
//     trust policy applies to it: "Validate that the timestamp signing
//     certificate satisfies certificate requirements" (checked with the
//     Notary Project's notation-core-go; ErrTSACertificate).
//
// It returns the token's time, accuracy, hash and TSA chain. Whether that time
// lies within a signing chain's validity is the caller's question:
// Timestamp.Within answers it.
func Verify(token, message []byte, roots []*x509.Certificate) (*Timestamp, error) {
	signed, info, ts, err := parse(token, message)
	if err != nil {
		return nil, err
	}
	if err := checkSignerPurpose(signed); err != nil {
		return nil, err
	}
	if len(roots) == 0 {
		return nil, fmt.Errorf("%w: no trusted TSA root certificates were given", ErrUntrusted)
	}
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r)
	}
	// The chain must be valid when the token was made, not now: a timestamp
	// outlives its TSA certificate.
	chain, err := signed.Verify(context.Background(), x509.VerifyOptions{
		Roots:       pool,
		CurrentTime: info.GenTime,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	})
	if err != nil {
		return nil, classifyVerifyError(err)
	}
	if err := nx509.ValidateTimestampingCertChain(chain); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTSACertificate, err)
	}
	ts.TSAChain = chain
	return ts, nil
}

// Parse reads what a token says about message without trusting it: the
// checks of Verify up to the TSA's certificate (the token is well-formed and
// stamps message), and a TSAChain of only the certificate that signed the
// token, as the token carries it, unverified. It is for showing a token; a
// trust decision needs Verify.
func Parse(token, message []byte) (*Timestamp, error) {
	signed, _, ts, err := parse(token, message)
	if err != nil {
		return nil, err
	}
	if len(signed.SignerInfos) == 0 {
		return nil, fmt.Errorf("%w: the token has no signer", ErrMalformed)
	}
	cert, err := signed.SigningCertificate(&signed.SignerInfos[0])
	if err != nil {
		return nil, fmt.Errorf("%w: the token's signing certificate: %v", ErrMalformed, err)
	}
	ts.TSAChain = []*x509.Certificate{cert}
	return ts, nil
}

// parse decodes token and checks that it is a well-formed TSTInfo of
// version 1 stamping message; the returned Timestamp has no TSAChain yet.
func parse(token, message []byte) (*tspclient.SignedToken, *tspclient.TSTInfo, *Timestamp, error) {
	if len(token) == 0 {
		return nil, nil, nil, fmt.Errorf("%w: the token is empty", ErrMalformed)
	}
	if len(token) > MaxTokenSize {
		return nil, nil, nil, fmt.Errorf("%w: the token has %d bytes, more than the %d accepted", ErrTooLarge, len(token), MaxTokenSize)
	}
	signed, err := tspclient.ParseSignedToken(token)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: not an RFC 3161 TimeStampToken: %v", ErrMalformed, err)
	}
	info, err := signed.Info()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if info.Version != 1 {
		return nil, nil, nil, fmt.Errorf("%w: TSTInfo version %d, RFC 3161 defines 1", ErrMalformed, info.Version)
	}
	hash, ok := imprintHashes[info.MessageImprint.HashAlgorithm.Algorithm.String()]
	if !ok {
		return nil, nil, nil, fmt.Errorf("%w: the message imprint uses %v", ErrUnsupportedHash, info.MessageImprint.HashAlgorithm.Algorithm)
	}
	h := hash.New()
	h.Write(message)
	if !bytes.Equal(info.MessageImprint.HashedMessage, h.Sum(nil)) {
		return nil, nil, nil, fmt.Errorf("%w: the token stamps %s %x, the message hashes to %x", ErrImprintMismatch, hash, info.MessageImprint.HashedMessage, h.Sum(nil))
	}
	// The library's own TSTInfo check (the same imprint rule) and its
	// accuracy rule, which the Notary Project trust policy also states: "If
	// the accuracy is not explicitly specified and TSTInfo.policy is the
	// baseline time-stamp policy (RFC-3628), use accuracy of 1 second.
	// Otherwise, use an accuracy of 0."
	ts, err := info.Validate(message)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return signed, info, &Timestamp{Time: ts.Value, Accuracy: ts.Accuracy, Hash: hash}, nil
}

// checkSignerPurpose requires each signer's certificate to carry only the
// timeStamping extended key usage, in a critical extension. tspclient-go
// checks the same; checking first gives the failure its own error.
func checkSignerPurpose(signed *tspclient.SignedToken) error {
	if len(signed.SignerInfos) == 0 {
		return fmt.Errorf("%w: the token has no signer", ErrMalformed)
	}
	for i := range signed.SignerInfos {
		cert, err := signed.SigningCertificate(&signed.SignerInfos[i])
		if err != nil {
			return fmt.Errorf("%w: the token's signing certificate: %v", ErrMalformed, err)
		}
		if len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageTimeStamping || len(cert.UnknownExtKeyUsage) != 0 {
			return fmt.Errorf("%w: certificate %q has extended key usages %v, RFC 3161 requires timeStamping only", ErrNotTimestamping, cert.Subject.String(), cert.ExtKeyUsage)
		}
		critical := false
		for _, ext := range cert.Extensions {
			if ext.Id.Equal(oidExtKeyUsage) {
				critical = ext.Critical
			}
		}
		if !critical {
			return fmt.Errorf("%w: the extended key usage of certificate %q is not marked critical", ErrNotTimestamping, cert.Subject.String())
		}
	}
	return nil
}

// classifyVerifyError tells a chain that leads nowhere trusted from a
// signature that does not verify.
func classifyVerifyError(err error) error {
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var hostname x509.HostnameError
	switch {
	case errors.As(err, &unknown), errors.As(err, &invalid), errors.As(err, &hostname):
		return fmt.Errorf("%w: %v", ErrUntrusted, err)
	}
	var tokenErr *tspclient.SignedTokenVerificationError
	if errors.As(err, &tokenErr) && tokenErr.Detail == nil {
		// tspclient-go's own purpose checks, already made above.
		return fmt.Errorf("%w: %v", ErrNotTimestamping, err)
	}
	return fmt.Errorf("%w: %v", ErrInvalidSignature, err)
}
