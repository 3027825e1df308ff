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

var (
	oidKeyUsage         = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}
)

// allowedSignatureAlgorithms are the certificate signature algorithms accepted:
// SHA-2 with RSA (PKCS #1 v1.5 or PSS) or ECDSA. SHA-1, MD5 and DSA are not.
var allowedSignatureAlgorithms = map[x509.SignatureAlgorithm]bool{
	x509.SHA256WithRSA: true, x509.SHA384WithRSA: true, x509.SHA512WithRSA: true,
	x509.SHA256WithRSAPSS: true, x509.SHA384WithRSAPSS: true, x509.SHA512WithRSAPSS: true,
	x509.ECDSAWithSHA256: true, x509.ECDSAWithSHA384: true, x509.ECDSAWithSHA512: true,
}

// ValidateChain checks a certificate chain, leaf first, against the
// certificate requirements of the Notary Project signature specification
// ("Certificate Requirements"; docs/architecture.md lists them):
//   - the chain is not empty, holds no certificate twice, and each
//     certificate is issued and signed by the next one ("The certificates in
//     the signature MUST be ordered list ... MUST NOT contain a certificate
//     that is unrelated to the certificate chain");
//   - it ends at a self-signed root and holds no other self-signed
//     certificate ("Valid certificate chain MUST contain a root certificate",
//     "MUST NOT chain to multiple parents/roots");
//   - the leaf has a critical keyUsage with digitalSignature and none of
//     keyEncipherment, dataEncipherment, keyAgreement, keyCertSign, cRLSign,
//     encipherOnly and decipherOnly, is not a CA, and its extKeyUsage, if
//     present, holds none of anyExtendedKeyUsage, serverAuth, clientAuth,
//     emailProtection and timeStamping; a chain of a root alone applies these
//     leaf rules to the root;
//   - every other certificate has a critical basicConstraints with cA=true,
//     a critical keyUsage with keyCertSign, and a path length constraint
//     that holds;
//   - every key is one AlgorithmFor accepts (RSA 2048 bits or more, ECDSA 256
//     bits or more), and no certificate is signed with SHA-1, MD5 or DSA;
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
		for _, earlier := range chain[:i] {
			if bytes.Equal(earlier.Raw, cert.Raw) {
				return fmt.Errorf("%w: certificate %q appears twice: each certificate of the chain appears once", ErrInvalidChain, subject(cert))
			}
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
		if i > 0 && selfSigned(cert) {
			return fmt.Errorf("%w: certificate %q is a root but not the last certificate: a chain has one root, at its end", ErrInvalidChain, subject(cert))
		}
	}
	last := chain[len(chain)-1]
	if bytes.Equal(last.RawIssuer, last.RawSubject) && !selfSigned(last) {
		return fmt.Errorf("%w: self-issued certificate %q has an invalid signature", ErrInvalidChain, subject(last))
	}
	if !selfSigned(last) {
		return fmt.Errorf("%w: the chain ends at %q, issued by %q, not at a self-signed root: the chain must end with its root certificate",
			ErrInvalidChain, subject(last), last.Issuer.String())
	}
	return nil
}

// selfSigned reports whether cert is issued by itself and its signature
// verifies with its own key.
func selfSigned(cert *x509.Certificate) bool {
	return bytes.Equal(cert.RawIssuer, cert.RawSubject) &&
		cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature) == nil
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
	if !cert.BasicConstraintsValid || !cert.IsCA || !extensionCritical(cert, oidBasicConstraints) {
		return fmt.Errorf("%w: certificate %q issues another certificate but is not a CA (a critical basicConstraints with cA=true)", ErrInvalidChain, name)
	}
	if !extensionCritical(cert, oidKeyUsage) || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
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
	if !extensionCritical(cert, oidKeyUsage) || cert.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return fmt.Errorf("%w: signing certificate %q needs a critical keyUsage with digitalSignature", ErrInvalidChain, name)
	}
	if cert.KeyUsage&^(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) != 0 {
		return fmt.Errorf("%w: signing certificate %q has keyUsage beyond digitalSignature (such as keyCertSign or keyEncipherment): issue it for digitalSignature only", ErrInvalidChain, name)
	}
	for _, eku := range cert.ExtKeyUsage {
		if forbiddenLeafEKU[eku] {
			return fmt.Errorf("%w: signing certificate %q has extKeyUsage %s, which a code signing certificate must not have: issue it for codeSigning", ErrInvalidChain, name, ekuName(eku))
		}
	}
	return nil
}

// forbiddenLeafEKU are the extended key usages a code signing certificate
// MUST NOT contain ("Certificate Requirements", leaf certificates).
var forbiddenLeafEKU = map[x509.ExtKeyUsage]bool{
	x509.ExtKeyUsageAny: true, x509.ExtKeyUsageServerAuth: true, x509.ExtKeyUsageClientAuth: true,
	x509.ExtKeyUsageEmailProtection: true, x509.ExtKeyUsageTimeStamping: true,
}

func ekuName(eku x509.ExtKeyUsage) string {
	switch eku {
	case x509.ExtKeyUsageAny:
		return "anyExtendedKeyUsage"
	case x509.ExtKeyUsageServerAuth:
		return "serverAuth"
	case x509.ExtKeyUsageClientAuth:
		return "clientAuth"
	case x509.ExtKeyUsageEmailProtection:
		return "emailProtection"
	case x509.ExtKeyUsageTimeStamping:
		return "timeStamping"
	}
	return fmt.Sprintf("%d", eku)
}

// VerifyChainTo checks that the chain is valid (ValidateChain at time at)
// and authentic: one of its certificates, most often its root, is
// byte-equal to one of anchors (the trust store). A chain that does not
// end at its root is refused even when a trusted certificate issued its last
// certificate, so the trusted certificate's own dates are always checked.
// Otherwise the error wraps ErrUntrusted.
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
	return fmt.Errorf("%w: no certificate of the chain of %q (root %q) is in the trust store: add the root or CA certificate you trust to the trust store",
		ErrUntrusted, subject(chain[0]), subject(chain[len(chain)-1]))
}

// extensionCritical reports whether cert has the extension id marked critical.
func extensionCritical(cert *x509.Certificate, id asn1.ObjectIdentifier) bool {
	for _, ext := range cert.Extensions {
		if ext.Id.Equal(id) {
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
