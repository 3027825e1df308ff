package crypto

import (
	stdcrypto "crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"
	"time"
)

// ParseCertificates parses every "CERTIFICATE" block of a PEM bundle, in file
// order (leaf first for a chain). Text between blocks is ignored; a PEM block
// of another type, or no certificate at all, is an error.
func ParseCertificates(pemBytes []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := pemBytes
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %d is a %q, not a CERTIFICATE: give a file of PEM certificates, leaf first", len(certs)+1, block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(certs)+1, err)
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		return nil, errors.New("no certificate found: expected PEM CERTIFICATE blocks, leaf first")
	}
	return certs, nil
}

// LoadCertificates reads and parses a PEM certificate file (see ParseCertificates).
func LoadCertificates(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("certificates: %w", err)
	}
	certs, err := ParseCertificates(data)
	if err != nil {
		return nil, fmt.Errorf("certificates %s: %w", path, err)
	}
	return certs, nil
}

// EncodeCertificates returns the chain as concatenated PEM CERTIFICATE blocks.
func EncodeCertificates(chain []*x509.Certificate) []byte {
	var b []byte
	for _, c := range chain {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return b
}

// Thumbprint returns the lowercase hex SHA-256 of the certificate's DER.
func Thumbprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}

// Thumbprints returns the Thumbprint of every certificate, in order.
func Thumbprints(chain []*x509.Certificate) []string {
	out := make([]string, len(chain))
	for i, c := range chain {
		out[i] = Thumbprint(c)
	}
	return out
}

// KeyType names a kind of key Generate can make.
type KeyType string

// The key types Generate can make; each maps to one Algorithm.
const (
	ECDSAP256 KeyType = "ecdsa-p256"
	ECDSAP384 KeyType = "ecdsa-p384"
	ECDSAP521 KeyType = "ecdsa-p521"
	RSA2048   KeyType = "rsa-2048"
	RSA3072   KeyType = "rsa-3072"
	RSA4096   KeyType = "rsa-4096"
)

// KeyTypes lists the key types, default first.
var KeyTypes = []KeyType{ECDSAP256, ECDSAP384, ECDSAP521, RSA2048, RSA3072, RSA4096}

// ParseKeyType returns the KeyType named s (case-insensitive).
func ParseKeyType(s string) (KeyType, error) {
	for _, k := range KeyTypes {
		if strings.EqualFold(string(k), s) {
			return k, nil
		}
	}
	names := make([]string, len(KeyTypes))
	for i, k := range KeyTypes {
		names[i] = string(k)
	}
	return "", fmt.Errorf("unknown key type %q: use one of %s", s, strings.Join(names, ", "))
}

// GenerateKey returns a new private key of type t.
func GenerateKey(t KeyType) (stdcrypto.Signer, error) {
	switch t {
	case ECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ECDSAP384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case ECDSAP521:
		return ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case RSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	case RSA3072:
		return rsa.GenerateKey(rand.Reader, 3072)
	case RSA4096:
		return rsa.GenerateKey(rand.Reader, 4096)
	}
	_, err := ParseKeyType(string(t))
	return nil, err
}

// GenerateOptions says what Generate makes.
type GenerateOptions struct {
	// CommonName is the leaf's subject CN (required); a CA gets "CommonName CA".
	CommonName string
	// Subject holds further subject attributes (O, C, ST, ...) for the leaf
	// and the CA; its CommonName is ignored. Trust policies' identities need
	// C, ST and O.
	Subject pkix.Name
	// KeyType of the leaf and of the CA; empty means ecdsa-p256.
	KeyType KeyType
	// CA true makes a CA certificate and a leaf it signs; false a self-signed leaf.
	CA bool
	// NotBefore starts the validity of every certificate; zero means a minute ago.
	NotBefore time.Time
	// Validity is how long the certificates are valid; zero means 365 days.
	Validity time.Duration
}

// Credentials are a signing key and its certificate chain.
type Credentials struct {
	Key   stdcrypto.Signer    // the leaf's private key
	Chain []*x509.Certificate // leaf first: [leaf] self-signed, or [leaf, ca]
	CAKey stdcrypto.Signer    // the CA's private key; nil without a CA
}

// Generate makes a key and a code-signing certificate for test and demo use,
// following the Notary Project certificate rules: the leaf has keyUsage
// digitalSignature (critical), extKeyUsage codeSigning and is not a CA; with
// opts.CA the leaf is issued by a new self-signed CA (basicConstraints cA=true,
// pathLen 0, keyUsage keyCertSign), otherwise the leaf signs itself.
func Generate(opts GenerateOptions) (*Credentials, error) {
	if strings.TrimSpace(opts.CommonName) == "" {
		return nil, errors.New("generate: a common name is required")
	}
	kt := opts.KeyType
	if kt == "" {
		kt = ECDSAP256
	}
	notBefore := opts.NotBefore
	if notBefore.IsZero() {
		notBefore = time.Now().Add(-time.Minute)
	}
	validity := opts.Validity
	if validity == 0 {
		validity = 365 * 24 * time.Hour
	}
	if validity < 0 {
		return nil, errors.New("generate: validity must be positive")
	}
	notBefore = notBefore.UTC().Truncate(time.Second)
	notAfter := notBefore.Add(validity)

	key, err := GenerateKey(kt)
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	leaf := &x509.Certificate{
		Subject:               withCommonName(opts.Subject, opts.CommonName),
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
	}
	if !opts.CA {
		cert, err := createCertificate(leaf, leaf, key.Public(), key)
		if err != nil {
			return nil, err
		}
		return &Credentials{Key: key, Chain: []*x509.Certificate{cert}}, nil
	}

	caKey, err := GenerateKey(kt)
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	caTemplate := &x509.Certificate{
		Subject:               withCommonName(opts.Subject, opts.CommonName+" CA"),
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}
	ca, err := createCertificate(caTemplate, caTemplate, caKey.Public(), caKey)
	if err != nil {
		return nil, err
	}
	cert, err := createCertificate(leaf, ca, key.Public(), caKey)
	if err != nil {
		return nil, err
	}
	return &Credentials{Key: key, Chain: []*x509.Certificate{cert, ca}, CAKey: caKey}, nil
}

// createCertificate issues template for pub, signed by parent's key signer,
// with a random 128-bit serial number.
func createCertificate(template, parent *x509.Certificate, pub stdcrypto.PublicKey, signer stdcrypto.Signer) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("generate serial number: %w", err)
	}
	template.SerialNumber = serial.Add(serial, big.NewInt(1))
	der, err := x509.CreateCertificate(rand.Reader, template, parent, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("create certificate %q: %w", template.Subject.CommonName, err)
	}
	return x509.ParseCertificate(der)
}

func withCommonName(n pkix.Name, cn string) pkix.Name {
	n.CommonName = cn
	return n
}

// ParseSubject reads subject attributes written as "C=US, ST=WA, O=Acme"
// (the form trust policies use for identities): C, ST, L, O, OU, CN. Values
// cannot contain commas.
func ParseSubject(s string) (pkix.Name, error) {
	var n pkix.Name
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		k, v = strings.ToUpper(strings.TrimSpace(k)), strings.TrimSpace(v)
		if !ok || v == "" {
			return n, fmt.Errorf("subject %q: %q is not ATTRIBUTE=value", s, strings.TrimSpace(part))
		}
		switch k {
		case "C":
			n.Country = append(n.Country, v)
		case "ST":
			n.Province = append(n.Province, v)
		case "L":
			n.Locality = append(n.Locality, v)
		case "O":
			n.Organization = append(n.Organization, v)
		case "OU":
			n.OrganizationalUnit = append(n.OrganizationalUnit, v)
		case "CN":
			n.CommonName = v
		default:
			return n, fmt.Errorf("subject %q: attribute %q is not one of C, ST, L, O, OU, CN", s, k)
		}
	}
	return n, nil
}
