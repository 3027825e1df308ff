package trust

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/timestamp"
)

// Values of a policy's signatureVerification.verifyTimestamp: when a trusted
// timestamp is checked, if the policy names a tsa trust store. Empty means
// VerifyTimestampAlways.
const (
	// VerifyTimestampAlways: every signature needs a trusted timestamp.
	VerifyTimestampAlways = "always"
	// VerifyTimestampAfterCertExpiry: the timestamp is checked only once a
	// certificate of the signing chain has expired; until then the chain
	// must be valid now, as without a tsa trust store.
	VerifyTimestampAfterCertExpiry = "afterCertExpiry"
)

// ErrNoTimestamp: the rule requires a trusted timestamp and the signature
// carries none.
var ErrNoTimestamp = errors.New("the signature has no timestamp, and the trust policy requires a trusted timestamp")

// timely is the authenticTimestamp check of the notary.x509 signing scheme.
// The signing time must lie within every certificate's validity.
// Then, when the rule trusts no TSA (or verifyTimestamp is afterCertExpiry
// and no certificate of the chain has expired at now), every certificate
// must be valid now: the signing time is only the signer's claim. Otherwise
// the envelope must carry a timestamp token over its signature value from a
// TSA the rule trusts, whose time, with its accuracy, lies within every
// certificate's validity; the chain may then have expired since. It returns
// the verified timestamp, or nil when none was checked.
func timely(rule *Rule, env *signature.Envelope, now time.Time) (*timestamp.Timestamp, error) {
	// "The certificates in the certificate chain MUST be valid at signing
	// time" (signature specification, Certificate Requirements).
	for i, c := range env.Chain {
		if env.SigningTime.Before(c.NotBefore) || env.SigningTime.After(c.NotAfter) {
			whose := "the certificate's validity"
			if i > 0 {
				whose = fmt.Sprintf("the validity of certificate %q", c.Subject.String())
			}
			return nil, fmt.Errorf("signed at %s, outside %s (%s to %s)",
				env.SigningTime.Format(time.RFC3339), whose, c.NotBefore.Format(time.RFC3339), c.NotAfter.Format(time.RFC3339))
		}
	}
	if !rule.stampRequired(env.Chain, now) {
		return nil, validAt(env.Chain, now)
	}
	if len(env.TimestampToken) == 0 {
		return nil, ErrNoTimestamp
	}
	ts, err := timestamp.Verify(env.TimestampToken, env.SignatureValue, rule.TSARoots)
	if err != nil {
		return nil, fmt.Errorf("the timestamp: %w", err)
	}
	if err := ts.Within(env.Chain); err != nil {
		return nil, err
	}
	return ts, nil
}

// stampRequired reports whether the rule checks a timestamp for chain: it
// trusts a TSA, and verifyTimestamp is "always" or a certificate of chain
// has expired at now.
func (r *Rule) stampRequired(chain []*x509.Certificate, now time.Time) bool {
	if len(r.TSARoots) == 0 {
		return false
	}
	if r.VerifyTimestamp != VerifyTimestampAfterCertExpiry {
		return true
	}
	for _, c := range chain {
		if now.After(c.NotAfter) {
			return true
		}
	}
	return false
}

// validAt checks that every certificate of chain is valid at now.
func validAt(chain []*x509.Certificate, now time.Time) error {
	for _, c := range chain {
		if now.Before(c.NotBefore) {
			return fmt.Errorf("certificate %q is not valid until %s", c.Subject.String(), c.NotBefore.Format(time.RFC3339))
		}
		if now.After(c.NotAfter) {
			return fmt.Errorf("certificate %q expired at %s", c.Subject.String(), c.NotAfter.Format(time.RFC3339))
		}
	}
	return nil
}

// checkTSARoots refuses certificates of a tsa trust store that are not root
// CA certificates: a TSA is trusted by its self-signed root, as the Notary
// Project's trust store requires.
func checkTSARoots(certs []*x509.Certificate) error {
	for _, c := range certs {
		if !c.IsCA || !c.BasicConstraintsValid {
			return fmt.Errorf("certificate %q is not a CA certificate: a tsa trust store holds TSA root certificates", c.Subject.String())
		}
		if err := c.CheckSignatureFrom(c); err != nil || c.Subject.String() != c.Issuer.String() {
			return fmt.Errorf("certificate %q is not self-signed: a tsa trust store holds TSA root certificates", c.Subject.String())
		}
	}
	return nil
}
