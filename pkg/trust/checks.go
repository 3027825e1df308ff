package trust

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"strings"
)

// The checks a verification level turns on or off, as the Notary Project
// names them.
const (
	checkIntegrity          = "integrity"
	checkAuthenticity       = "authenticity"
	checkAuthenticTimestamp = "authenticTimestamp"
	checkExpiry             = "expiry"
	checkRevocation         = "revocation"
)

// The checks a rejected signature can fail (CheckError.Check): the Notary
// Project's names, and CheckMetadata for the signed metadata a Verifier's
// Annotations require.
const (
	CheckIntegrity          = checkIntegrity
	CheckAuthenticity       = checkAuthenticity
	CheckAuthenticTimestamp = checkAuthenticTimestamp
	CheckExpiry             = checkExpiry
	CheckRevocation         = checkRevocation
	CheckMetadata           = "signedMetadata"
)

// CheckError is why a signature was rejected: the check it failed and the
// cause. Its text is the check's name, then the cause.
type CheckError struct {
	Check string
	Err   error
}

func (e *CheckError) Error() string {
	if e.Check == CheckMetadata {
		return "signed metadata: " + e.Err.Error()
	}
	return e.Check + ": " + e.Err.Error()
}

func (e *CheckError) Unwrap() error { return e.Err }

// What a policy does when a check fails.
const (
	actionEnforce = "enforce" // the signature fails
	actionLog     = "log"     // a warning is recorded, the signature may pass
	actionSkip    = "skip"    // the check is not run
)

var checkNames = map[string]bool{checkIntegrity: true, checkAuthenticity: true, checkAuthenticTimestamp: true, checkExpiry: true, checkRevocation: true}

// actions returns, for a level and its overrides, what each check does.
func actions(level string, override map[string]string) map[string]string {
	a := map[string]string{}
	switch level {
	case LevelStrict:
		a = map[string]string{checkIntegrity: actionEnforce, checkAuthenticity: actionEnforce, checkAuthenticTimestamp: actionEnforce, checkExpiry: actionEnforce, checkRevocation: actionEnforce}
	case LevelPermissive:
		a = map[string]string{checkIntegrity: actionEnforce, checkAuthenticity: actionEnforce, checkAuthenticTimestamp: actionLog, checkExpiry: actionLog, checkRevocation: actionLog}
	case LevelAudit:
		a = map[string]string{checkIntegrity: actionEnforce, checkAuthenticity: actionLog, checkAuthenticTimestamp: actionLog, checkExpiry: actionLog, checkRevocation: actionLog}
	default: // skip
		for c := range checkNames {
			a[c] = actionSkip
		}
		return a
	}
	for c, act := range override {
		if c != checkIntegrity {
			a[c] = act
		}
	}
	return a
}

// identity is a parsed "x509.subject: ..." trusted identity: the attributes
// a certificate's subject must carry, with these values.
type identity map[string]string

const identityPrefix = "x509.subject:"

var oidNames = map[string]string{
	"2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O",
	"2.5.4.11": "OU", "1.2.840.113549.1.9.1": "E", "2.5.4.5": "SERIALNUMBER",
	"2.5.4.9": "STREET", "2.5.4.17": "POSTALCODE",
}

// parseIdentity parses "x509.subject: C=US, O=Acme, CN=signer". Values may
// not contain commas; the attributes C, ST and O are required, as the
// Notary Project requires them, so that an identity cannot be too broad.
func parseIdentity(s string) (identity, error) {
	rest, ok := strings.CutPrefix(s, identityPrefix)
	if !ok {
		return nil, fmt.Errorf("trusted identity %q must be \"*\" or start with %q", s, identityPrefix)
	}
	id := identity{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		k, v = strings.ToUpper(strings.TrimSpace(k)), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("trusted identity %q: %q is not ATTRIBUTE=value", s, strings.TrimSpace(part))
		}
		if _, dup := id[k]; dup {
			return nil, fmt.Errorf("trusted identity %q names %s twice", s, k)
		}
		id[k] = v
	}
	for _, req := range []string{"C", "ST", "O"} {
		if _, ok := id[req]; !ok {
			return nil, fmt.Errorf("trusted identity %q lacks %s: C, ST and O are required", s, req)
		}
	}
	return id, nil
}

// subjectAttributes lists a certificate subject's attributes by short name;
// it returns false when an attribute appears more than once (ambiguous).
func subjectAttributes(name pkix.Name) (map[string]string, bool) {
	out := map[string]string{}
	for _, atv := range name.Names {
		k, ok := oidNames[atv.Type.String()]
		if !ok {
			k = atv.Type.String()
		}
		v, ok := atv.Value.(string)
		if !ok {
			continue
		}
		if _, dup := out[k]; dup {
			return nil, false
		}
		out[k] = v
	}
	return out, true
}

// matches reports whether the leaf's subject carries every attribute of id.
func (id identity) matches(leaf *x509.Certificate) bool {
	attrs, ok := subjectAttributes(leaf.Subject)
	if !ok {
		return false
	}
	for k, v := range id {
		if attrs[k] != v {
			return false
		}
	}
	return true
}
