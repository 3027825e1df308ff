// Package crypto loads, generates and writes the keys and X.509 certificates nv2
// signs with, maps keys to signature algorithms, and checks certificate chains.
package crypto

import (
	stdcrypto "crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"runtime"
)

// Algorithm is a JWS signature algorithm allowed by the Notary Project.
type Algorithm string

// The six algorithms of the Notary Project v1 JWS envelope.
const (
	PS256 Algorithm = "PS256" // RSASSA-PSS, SHA-256, RSA 2048
	PS384 Algorithm = "PS384" // RSASSA-PSS, SHA-384, RSA 3072
	PS512 Algorithm = "PS512" // RSASSA-PSS, SHA-512, RSA 4096
	ES256 Algorithm = "ES256" // ECDSA P-256, SHA-256
	ES384 Algorithm = "ES384" // ECDSA P-384, SHA-384
	ES512 Algorithm = "ES512" // ECDSA P-521, SHA-512
)

// Algorithms lists the allowed algorithms.
var Algorithms = []Algorithm{PS256, PS384, PS512, ES256, ES384, ES512}

// ErrUnsupportedKey reports a key type or size the Notary Project does not allow.
var ErrUnsupportedKey = errors.New("unsupported key")

// ErrKeyMismatch reports a private key that is not the certificate's key.
var ErrKeyMismatch = errors.New("private key does not match the certificate")

// ParseAlgorithm returns the Algorithm named s, or an error if s is not one of
// the six allowed names (case-sensitive, as in a JWS header).
func ParseAlgorithm(s string) (Algorithm, error) {
	for _, a := range Algorithms {
		if string(a) == s {
			return a, nil
		}
	}
	return "", fmt.Errorf("algorithm %q is not allowed: use one of PS256, PS384, PS512, ES256, ES384, ES512", s)
}

// Hash returns the hash function of the algorithm, or 0 for an unknown one.
func (a Algorithm) Hash() stdcrypto.Hash {
	switch a {
	case PS256, ES256:
		return stdcrypto.SHA256
	case PS384, ES384:
		return stdcrypto.SHA384
	case PS512, ES512:
		return stdcrypto.SHA512
	}
	return 0
}

// AlgorithmFor returns the algorithm the Notary Project assigns to a public
// key: RSA 2048/3072/4096 bits -> PS256/PS384/PS512, ECDSA P-256/P-384/P-521
// -> ES256/ES384/ES512. Every other key is refused with ErrUnsupportedKey.
func AlgorithmFor(pub stdcrypto.PublicKey) (Algorithm, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		switch bits := k.N.BitLen(); bits {
		case 2048:
			return PS256, nil
		case 3072:
			return PS384, nil
		case 4096:
			return PS512, nil
		default:
			if bits < 2048 {
				return "", fmt.Errorf("%w: RSA key of %d bits is too short: use an RSA key of 2048, 3072 or 4096 bits, or ECDSA P-256", ErrUnsupportedKey, bits)
			}
			return "", fmt.Errorf("%w: RSA key of %d bits: the Notary Project allows only 2048, 3072 or 4096 bits", ErrUnsupportedKey, bits)
		}
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return ES256, nil
		case elliptic.P384():
			return ES384, nil
		case elliptic.P521():
			return ES512, nil
		}
		name := "unknown"
		if k.Curve != nil {
			name = k.Curve.Params().Name
		}
		return "", fmt.Errorf("%w: ECDSA curve %s: use P-256, P-384 or P-521", ErrUnsupportedKey, name)
	case ed25519.PublicKey, *ed25519.PublicKey:
		return "", fmt.Errorf("%w: Ed25519 keys are not allowed by the Notary Project: use ECDSA P-256 or RSA 2048+", ErrUnsupportedKey)
	case nil:
		return "", fmt.Errorf("%w: no public key", ErrUnsupportedKey)
	}
	return "", fmt.Errorf("%w: %T keys are not allowed by the Notary Project: use ECDSA P-256/P-384/P-521 or RSA 2048/3072/4096", ErrUnsupportedKey, pub)
}

// ParsePrivateKey parses the first private key of a PEM file: PKCS#8
// ("PRIVATE KEY"), PKCS#1 ("RSA PRIVATE KEY") or SEC1 ("EC PRIVATE KEY").
// Other PEM blocks before it (such as "EC PARAMETERS") are skipped. Encrypted
// keys and keys AlgorithmFor refuses are errors.
func ParsePrivateKey(pemBytes []byte) (stdcrypto.Signer, error) {
	rest := pemBytes
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no private key found: expected a PEM block PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY")
		}
		if _, encrypted := block.Headers["Proc-Type"]; encrypted || block.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, errors.New("encrypted private keys are not supported: decrypt it first, e.g. `openssl pkey -in KEY -out PLAIN.key` (then chmod 600 PLAIN.key)")
		}
		var key any
		var err error
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("parse %s PEM block: %w", block.Type, err)
		}
		signer, ok := key.(stdcrypto.Signer)
		if !ok {
			return nil, fmt.Errorf("%w: %T cannot sign", ErrUnsupportedKey, key)
		}
		if _, err := AlgorithmFor(signer.Public()); err != nil {
			return nil, err
		}
		return signer, nil
	}
}

// LoadPrivateKey reads and parses a PEM private key file (see ParsePrivateKey).
// On Unix it refuses a file that group or others may access (mode & 0o077),
// because a readable signing key is a leaked signing key.
// A file that holds certificates and no private key is refused with
// ErrCertificateNotKey, whatever its mode.
func LoadPrivateKey(path string) (stdcrypto.Signer, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	key, err := ParsePrivateKey(data)
	if err != nil {
		if _, cerr := ParseCertificates(data); cerr == nil {
			return nil, fmt.Errorf("%s: %w", path, ErrCertificateNotKey)
		}
		return nil, fmt.Errorf("private key %s: %w", path, err)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("private key %s is accessible by other users (mode %04o): run `chmod 600 %s`", path, info.Mode().Perm(), path)
	}
	return key, nil
}

// ErrCertificateNotKey: a file given as a private key holds a certificate.
var ErrCertificateNotKey = errors.New("the file is a certificate, not a private key")

// EncodePrivateKey returns key as a PKCS#8 "PRIVATE KEY" PEM block.
func EncodePrivateKey(key stdcrypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// CheckKeyMatchesCertificate returns an error wrapping ErrKeyMismatch unless
// key is the private key of leaf's public key.
func CheckKeyMatchesCertificate(key stdcrypto.Signer, leaf *x509.Certificate) error {
	if key == nil || leaf == nil {
		return fmt.Errorf("%w: key or certificate missing", ErrKeyMismatch)
	}
	pub, ok := key.Public().(interface {
		Equal(stdcrypto.PublicKey) bool
	})
	if !ok || !pub.Equal(leaf.PublicKey) {
		return fmt.Errorf("%w %q: use the key the certificate was issued for, or the certificate of this key", ErrKeyMismatch, leaf.Subject.String())
	}
	return nil
}
