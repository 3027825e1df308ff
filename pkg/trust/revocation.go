package trust

import (
	"context"
	"crypto/x509"
	"fmt"
	"strings"
	"time"

	"github.com/nv2-signing/nv2/pkg/revocation"
	"github.com/nv2-signing/nv2/pkg/signature"
)

// RevocationActions are the values of Verifier.RevocationAction (and of a
// trust policy's revocation override).
var RevocationActions = []string{actionEnforce, actionLog, actionSkip}

// defaultChecker checks revocation for a Verifier without a Checker: over
// the network, with the default timeouts and no cache. A policy that
// enforces revocation is never silently unchecked.
var defaultChecker = &revocation.Checker{}

// RevocationError is a failed revocation check of one certificate of a
// signature's chain: it is revoked, or its status is unknown.
type RevocationError struct {
	// Result is the check's answer; Result.Err explains an unknown status.
	Result revocation.Result
}

func (e *RevocationError) Error() string {
	r := e.Result
	subject := "a missing certificate"
	if r.Cert != nil {
		subject = fmt.Sprintf("%q", r.Cert.Subject.String())
	}
	if r.Status != revocation.Revoked {
		return fmt.Sprintf("the revocation status of certificate %s is unknown: %v", subject, r.Err)
	}
	s := fmt.Sprintf("certificate %s was revoked at %s (%s)", subject, r.RevokedAt.UTC().Format(time.RFC3339), ReasonName(r.Reason))
	if r.Responder != "" {
		s += fmt.Sprintf(" according to the %s at %s", methodName(r.Method), r.Responder)
	}
	return s
}

func (e *RevocationError) Unwrap() error { return e.Result.Err }

// Revoked reports whether the certificate is revoked (rather than of unknown
// status).
func (e *RevocationError) Revoked() bool { return e.Result.Status == revocation.Revoked }

func methodName(m revocation.Method) string {
	if m == revocation.MethodCRL {
		return "CRL"
	}
	return "OCSP responder"
}

// ReasonName is the RFC 5280 name of a CRLReason code.
func ReasonName(code int) string {
	names := []string{"unspecified", "keyCompromise", "cACompromise", "affiliationChanged", "superseded",
		"cessationOfOperation", "certificateHold", "", "removeFromCRL", "privilegeWithdrawn", "aACompromise"}
	if code >= 0 && code < len(names) && names[code] != "" {
		return names[code]
	}
	return fmt.Sprintf("reason %d", code)
}

// revocationAction is what rule does with a failed revocation check, after
// Verifier.RevocationAction.
func (v *Verifier) revocationAction(rule *Rule) string {
	if rule.Level != LevelSkip && v.RevocationAction != "" {
		return v.RevocationAction
	}
	return rule.actions[checkRevocation]
}

// checkRevocation runs the trust policy's revocation check on a signature
// that passed every other check: every non-root certificate of its chain
// (and, once timestamps are verified, of its timestamp authority's chain)
// is checked at once. Revoked or unknown fails the signature when the
// action is enforce and adds a warning when it is log; a certificate that
// names no responder adds a warning. r.Revocation records the results.
func (v *Verifier) checkRevocation(ctx context.Context, rule *Rule, r *SignatureResult) {
	action := v.revocationAction(rule)
	if r.Err != nil || r.Envelope == nil || action == actionSkip {
		return
	}
	checker := v.Revocation
	if checker == nil {
		checker = defaultChecker
	}
	signedAt := authenticSigningTime(r.Envelope)
	var unchecked []string
	for _, results := range checker.CheckChains(ctx, revocationChains(r.Envelope)...) {
		for _, res := range results {
			r.Revocation = append(r.Revocation, res)
			switch {
			case res.Status == revocation.NotChecked:
				unchecked = append(unchecked, fmt.Sprintf("%q", res.Cert.Subject.String()))
			case res.Status == revocation.Unknown || res.RevokedWhenSigned(signedAt):
				err := &RevocationError{Result: res}
				if action == actionEnforce && r.Err == nil {
					r.Err = &CheckError{Check: CheckRevocation, Err: err}
				} else if action == actionLog {
					r.Warnings = append(r.Warnings, fmt.Sprintf("%s: %v", checkRevocation, err))
				}
			}
		}
	}
	if len(unchecked) > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s: not checked for %s: no OCSP responder and no CRL distribution point named", checkRevocation, strings.Join(unchecked, ", ")))
	}
}

// revocationChains lists the chains whose revocation a signature depends
// on: its signing chain, and (the hook for timestamps) its timestamp
// authority's chain once the timestamp has been verified.
func revocationChains(env *signature.Envelope) [][]*x509.Certificate {
	return [][]*x509.Certificate{env.Chain}
}

// authenticSigningTime is the upper limit of a verified timestamp's range,
// against which a revocation's invalidity date is judged; the zero time
// (revoked means revoked) until timestamps are verified.
func authenticSigningTime(*signature.Envelope) time.Time { return time.Time{} }

// ParseRevocationAction checks a revocation action named on a command line
// or in a configuration: enforce, log or skip.
func ParseRevocationAction(s string) (string, error) {
	for _, a := range RevocationActions {
		if s == a {
			return s, nil
		}
	}
	return "", fmt.Errorf("revocation action %q is not one of %s", s, strings.Join(RevocationActions, ", "))
}
