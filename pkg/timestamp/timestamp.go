// Package timestamp asks an RFC 3161 Time Stamping Authority (TSA) for a token
// over a signature value, and verifies such tokens against trusted TSA roots.
package timestamp

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// Errors of Request and Verify, for errors.Is. Each is wrapped with what
// failed. The RFC 3161 encoding, the CMS signature and most token checks are
// the Notary Project's tspclient-go; this package adds the HTTP exchange
// (accepting 200 and 201), the bounds, and errors that tell failures apart.
var (
	// ErrUnreachable: the TSA could not be reached (connection refused, DNS,
	// timeout, TLS). The RequestError says where.
	ErrUnreachable = errors.New("time stamping authority unreachable")
	// ErrHTTPStatus: the TSA answered with an HTTP status other than 200 or 201.
	ErrHTTPStatus = errors.New("time stamping authority answered with an HTTP error")
	// ErrRejected: the TSA's response carries a PKI status other than granted.
	ErrRejected = errors.New("time stamping authority rejected the request")
	// ErrNonceMismatch: the token does not carry the nonce of the request, so
	// it may be a replayed answer to another request.
	ErrNonceMismatch = errors.New("timestamp nonce does not match the request")
	// ErrImprintMismatch: the token stamps another message than the one given
	// (for a signature envelope: another signature value).
	ErrImprintMismatch = errors.New("timestamp is over another message")
	// ErrUntrusted: the TSA's certificate chain does not lead to a trusted root
	// (or is not valid at the token's time).
	ErrUntrusted = errors.New("timestamp is not from a trusted time stamping authority")
	// ErrNotTimestamping: the certificate that signed the token is not a TSA
	// certificate: its extended key usage is not exactly timeStamping, marked
	// critical, as RFC 3161 section 2.3 requires.
	ErrNotTimestamping = errors.New("timestamp signer lacks the critical timeStamping purpose")
	// ErrTSACertificate: the TSA's chain breaks the Notary Project's
	// certificate requirements for timestamping certificates (key usage,
	// basic constraints, key size, a self-signed root).
	ErrTSACertificate = errors.New("timestamp authority certificate does not meet the certificate requirements")
	// ErrInvalidSignature: the token's CMS signature does not verify.
	ErrInvalidSignature = errors.New("timestamp signature is invalid")
	// ErrTooLarge: the TSA's response or the token is larger than
	// MaxResponseSize.
	ErrTooLarge = errors.New("timestamp response too large")
	// ErrMalformed: the response or the token is not well-formed RFC 3161.
	ErrMalformed = errors.New("malformed timestamp")
	// ErrUnsupportedHash: the message imprint's hash is not SHA-256, SHA-384
	// or SHA-512.
	ErrUnsupportedHash = errors.New("unsupported timestamp hash algorithm")
	// ErrOutsideValidity: the timestamp's time range is not entirely within the
	// validity of a certificate.
	ErrOutsideValidity = errors.New("timestamp is outside the certificate's validity")
)

// RequestError is an error of Request that concerns the exchange with the TSA:
// it could not be reached, or answered with an HTTP error. It wraps
// ErrUnreachable or ErrHTTPStatus and the underlying cause.
type RequestError struct {
	URL        string // the TSA's endpoint
	StatusCode int    // the HTTP status; 0 when no answer came
	Err        error
}

func (e *RequestError) Error() string {
	if e.StatusCode != 0 {
		return fmt.Sprintf("timestamp request to %s: HTTP %d: %v", e.URL, e.StatusCode, e.Err)
	}
	return fmt.Sprintf("timestamp request to %s: %v", e.URL, e.Err)
}

func (e *RequestError) Unwrap() error { return e.Err }

// Timestamp is what a verified token says.
type Timestamp struct {
	// Time is the token's genTime: when the TSA stamped the message.
	Time time.Time
	// Accuracy is the token's accuracy; when the token states none, one
	// second under the baseline time-stamp policy (RFC 3628), zero otherwise.
	Accuracy time.Duration
	// Hash is the hash algorithm of the token's message imprint.
	Hash crypto.Hash
	// TSAChain is the verified chain of the TSA: its timestamping certificate
	// first, ending at one of the trusted roots.
	TSAChain []*x509.Certificate
}

// Range returns the interval in which the stamp was made, Time minus and plus
// Accuracy (RFC 3161 section 2.4.2).
func (t Timestamp) Range() (earliest, latest time.Time) {
	return t.Time.Add(-t.Accuracy), t.Time.Add(t.Accuracy)
}

// Within checks that the whole Range lies within the validity of every
// certificate of chain, as the Notary Project trust policy requires of the
// signing chain: "Validate that the time range from timeStampLowerLimit to
// timeStampUpperLimit is entirely within the signing certificate chain's
// validity period." It returns an ErrOutsideValidity error naming the first
// certificate that does not cover it.
func (t Timestamp) Within(chain []*x509.Certificate) error {
	earliest, latest := t.Range()
	for i, cert := range chain {
		if earliest.Before(cert.NotBefore) || latest.After(cert.NotAfter) {
			return fmt.Errorf("%w: stamped between %s and %s, but certificate %d %q is valid from %s to %s",
				ErrOutsideValidity, earliest.UTC().Format(time.RFC3339), latest.UTC().Format(time.RFC3339),
				i, cert.Subject.String(), cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339))
		}
	}
	return nil
}
