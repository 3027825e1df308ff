package crypto

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"
)

// Errors of chain validation, for errors.Is. Each is wrapped with the
// certificate it concerns and what to do.
var (
	// ErrInvalidChain reports a chain that breaks the Notary Project rules.
	ErrInvalidChain = errors.New("invalid certificate chain")
	// ErrExpired reports a certificate whose validity ended before the time checked.
	ErrExpired = errors.New("certificate expired")
	// ErrNotYetValid reports a certificate whose validity starts after the time checked.
	ErrNotYetValid = errors.New("certificate not yet valid")
	// ErrUntrusted reports a chain that does not lead to a trusted certificate.
	ErrUntrusted = errors.New("certificate chain is not trusted")
)

var oidKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 15}

// allowedSignatureAlgorithms are the certificate signature algorithms accepted:
// SHA-2 with RSA (PKCS #1 v1.5 or PSS) or ECDSA. SHA-1, MD5 and DSA are not.
var allowedSignatureAlgorithms = map[x509.SignatureAlgorithm]bool{
	x509.SHA256WithRSA: true, x509.SHA384WithRSA: true, x509.SHA512WithRSA: true,
	x509.SHA256WithRSAPSS: true, x509.SHA384WithRSAPSS: true, x509.SHA512WithRSAPSS: true,
	x509.ECDSAWithSHA256: true, x509.ECDSAWithSHA384: true, x509.ECDSAWithSHA512: true,
}

// ValidateChain checks a certificate chain, leaf first, against the Notary
// Project rules for code signing:
//   - the chain is not empty and each certificate is issued and signed by the
//     next one; the last one is either self-signed or issued by a certificate
//     outside the chain (a trust anchor, see VerifyChainTo);
//   - the leaf has a critical keyUsage of digitalSignature (and at most
//     nonRepudiation besides), is not a CA, and its extKeyUsage, if present,
//     includes codeSigning or any;
//   - every other certificate is a CA (basicConstraints cA=true) with keyUsage
//     keyCertSign (critical) whose path length constraint holds;
//   - every key is one AlgorithmFor accepts, and no certificate is signed with
//     SHA-1, MD5 or DSA;
//   - unless at is zero, every certificate is valid at that time (ErrExpired,
//     ErrNotYetValid).
//
// Errors wrap ErrInvalidChain, ErrExpired, ErrNotYetValid or ErrUnsupportedKey.
func ValidateChain(chain []*x509.Certificate, at time.Time) error {
	if len(chain) == 0 {
		return fmt.Errorf("%w: no certificates", ErrInvalidChain)
	}
	for i, cert := range chain {
		if cert == nil {
			return fmt.Errorf("%w: certificate %d is missing", ErrInvalidChain, i+1)
		}
		if err := checkCertificate(cert, i, at); err != nil {
			return err
		}
	}
	for i, cert := range chain[:len(chain)-1] {
		parent := chain[i+1]
		if !bytes.Equal(cert.RawIssuer, parent.RawSubject) {
			return fmt.Errorf("%w: certificate %q is issued by %q, not by the next certificate %q: order the chain leaf first, each certificate followed by its issuer",
				ErrInvalidChain, subject(cert), cert.Issuer.String(), subject(parent))
		}
		if err := cert.CheckSignatureFrom(parent); err != nil {
			return fmt.Errorf("%w: certificate %q is not signed by %q: %v", ErrInvalidChain, subject(cert), subject(parent), err)
		}
	}
	if last := chain[len(chain)-1]; bytes.Equal(last.RawIssuer, last.RawSubject) {
		if err := last.CheckSignature(last.SignatureAlgorithm, last.RawTBSCertificate, last.Signature); err != nil {
			return fmt.Errorf("%w: self-issued certificate %q has an invalid signature: %v", ErrInvalidChain, subject(last), err)
		}
	}
	return nil
}

// CheckValidity returns an error wrapping ErrNotYetValid or ErrExpired, with
// the dates, unless every certificate of the chain is valid at time at.
func CheckValidity(chain []*x509.Certificate, at time.Time) error {
	for _, cert := range chain {
		if err := checkValidity(cert, at); err != nil {
			return err
		}
	}
	return nil
}

func checkValidity(cert *x509.Certificate, at time.Time) error {
	if at.Before(cert.NotBefore) {
		return fmt.Errorf("%w: certificate %q is valid from %s, after %s: check the clock or wait", ErrNotYetValid, subject(cert), cert.NotBefore.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
	}
	if at.After(cert.NotAfter) {
		return fmt.Errorf("%w: certificate %q expired on %s, before %s: renew the certificate", ErrExpired, subject(cert), cert.NotAfter.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
	}
	return nil
}

// checkCertificate checks the rules for the certificate at index i of a chain.
func checkCertificate(cert *x509.Certificate, i int, at time.Time) error {
	name := subject(cert)
	if _, err := AlgorithmFor(cert.PublicKey); err != nil {
		return fmt.Errorf("certificate %q: %w", name, err)
	}
	if !allowedSignatureAlgorithms[cert.SignatureAlgorithm] {
		return fmt.Errorf("%w: certificate %q is signed with %s: reissue it signed with SHA-256 or stronger (RSA or ECDSA)", ErrInvalidChain, name, cert.SignatureAlgorithm)
	}
	if !at.IsZero() {
		if err := checkValidity(cert, at); err != nil {
			return err
		}
	}
	if i == 0 {
		return checkLeaf(cert)
	}
	if !cert.BasicConstraintsValid || !cert.IsCA {
		return fmt.Errorf("%w: certificate %q issues another certificate but is not a CA (basicConstraints cA=true)", ErrInvalidChain, name)
	}
	if !keyUsageCritical(cert) || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return fmt.Errorf("%w: CA certificate %q needs a critical keyUsage with keyCertSign", ErrInvalidChain, name)
	}
	// i-1 CA certificates sit between this one and the leaf.
	if cert.MaxPathLen >= 0 && i-1 > cert.MaxPathLen {
		return fmt.Errorf("%w: CA certificate %q allows %d intermediate CAs below it, the chain has %d", ErrInvalidChain, name, cert.MaxPathLen, i-1)
	}
	return nil
}

func checkLeaf(cert *x509.Certificate) error {
	name := subject(cert)
	if cert.BasicConstraintsValid && cert.IsCA {
		return fmt.Errorf("%w: signing certificate %q is a CA: sign with a leaf certificate (basicConstraints cA=false)", ErrInvalidChain, name)
	}
	if !keyUsageCritical(cert) || cert.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return fmt.Errorf("%w: signing certificate %q needs a critical keyUsage with digitalSignature", ErrInvalidChain, name)
	}
	if cert.KeyUsage&^(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) != 0 {
		return fmt.Errorf("%w: signing certificate %q has keyUsage beyond digitalSignature (such as keyCertSign or keyEncipherment): issue it for digitalSignature only", ErrInvalidChain, name)
	}
	if len(cert.ExtKeyUsage) == 0 && len(cert.UnknownExtKeyUsage) == 0 {
		return nil
	}
	for _, eku := range cert.ExtKeyUsage {
		if eku == x509.ExtKeyUsageCodeSigning || eku == x509.ExtKeyUsageAny {
			return nil
		}
	}
	return fmt.Errorf("%w: signing certificate %q has an extKeyUsage without codeSigning", ErrInvalidChain, name)
}

// VerifyChainTo checks that the chain is valid (ValidateChain at time at) and
// ends at a trusted certificate: a certificate of the chain is byte-equal to
// an anchor, or the chain's last certificate is signed by an anchor that is a
// CA valid at time at. Otherwise the error wraps ErrUntrusted.
func VerifyChainTo(chain []*x509.Certificate, anchors []*x509.Certificate, at time.Time) error {
	if err := ValidateChain(chain, at); err != nil {
		return err
	}
	for _, cert := range chain {
		for _, a := range anchors {
			if a != nil && bytes.Equal(cert.Raw, a.Raw) {
				return nil
			}
		}
	}
	last := chain[len(chain)-1]
	for _, a := range anchors {
		if a != nil && issuedBy(last, a, len(chain)-1, at) {
			return nil
		}
	}
	return fmt.Errorf("%w: no certificate of the chain of %q is in the trust store, nor is its issuer %q: add the root or CA certificate you trust to the trust store",
		ErrUntrusted, subject(chain[0]), last.Issuer.String())
}

// issuedBy reports whether anchor, a CA valid at time at, issued cert with
// below CA certificates between cert's chain and anchor within its path length.
func issuedBy(cert, anchor *x509.Certificate, below int, at time.Time) bool {
	if !anchor.BasicConstraintsValid || !anchor.IsCA || anchor.KeyUsage&x509.KeyUsageCertSign == 0 {
		return false
	}
	if anchor.MaxPathLen >= 0 && below > anchor.MaxPathLen {
		return false
	}
	if !at.IsZero() && (at.Before(anchor.NotBefore) || at.After(anchor.NotAfter)) {
		return false
	}
	if !bytes.Equal(cert.RawIssuer, anchor.RawSubject) {
		return false
	}
	return cert.CheckSignatureFrom(anchor) == nil
}

// keyUsageCritical reports whether cert has a keyUsage extension marked critical.
func keyUsageCritical(cert *x509.Certificate) bool {
	for _, ext := range cert.Extensions {
		if ext.Id.Equal(oidKeyUsage) {
			return ext.Critical
		}
	}
	return false
}

func subject(cert *x509.Certificate) string {
	if cert.Subject.CommonName != "" {
		return cert.Subject.CommonName
	}
	return cert.Subject.String()
}
