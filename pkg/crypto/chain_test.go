package crypto_test

import (
	stdcrypto "crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/nv2-signing/nv2/internal/testsign"
	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
)

var (
	now        = time.Now().UTC().Truncate(time.Second)
	validFrom  = now.Add(-time.Hour)
	validUntil = now.Add(24 * time.Hour)
)

// issue makes a certificate from template for pub, signed by parentKey as
// parent (template itself when parent is nil).
func issue(t *testing.T, template, parent *x509.Certificate, pub stdcrypto.PublicKey, parentKey stdcrypto.Signer) *x509.Certificate {
	t.Helper()
	if template.SerialNumber == nil {
		serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
		template.SerialNumber = serial
	}
	if template.NotBefore.IsZero() {
		template.NotBefore, template.NotAfter = validFrom, validUntil
	}
	if parent == nil {
		parent = template
	}
	der, err := x509.CreateCertificate(rand.Reader, template, parent, pub, parentKey)
	if err != nil {
		t.Fatalf("issue %q: %v", template.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// The templates of certificates that follow every rule.
var (
	leafTemplate = testsign.LeafTemplate
	caTemplate   = testsign.CATemplate
)

// pki is a root (pathLen 1), an intermediate (pathLen 0) and a leaf it issues.
type pki struct {
	rootKey, interKey, leafKey stdcrypto.Signer
	root, inter, leaf          *x509.Certificate
}

func newPKI(t *testing.T) pki {
	p := pki{rootKey: testKey(t, "p384"), interKey: testKey(t, "rsa2048"), leafKey: testKey(t, "p256")}
	p.root = issue(t, caTemplate("Root", 1), nil, p.rootKey.Public(), p.rootKey)
	p.inter = issue(t, caTemplate("Intermediate", 0), p.root, p.interKey.Public(), p.rootKey)
	p.leaf = issue(t, leafTemplate("Leaf"), p.inter, p.leafKey.Public(), p.interKey)
	return p
}

func TestValidateChain(t *testing.T) {
	p := newPKI(t)
	self := issue(t, leafTemplate("Self"), nil, p.leafKey.Public(), p.leafKey)
	leafWith := func(cn string, edit func(*x509.Certificate)) *x509.Certificate {
		tmpl := leafTemplate(cn)
		edit(tmpl)
		return issue(t, tmpl, p.inter, p.leafKey.Public(), p.interKey)
	}
	// A CA that signs like the intermediate but breaks one rule.
	caWith := func(cn string, edit func(*x509.Certificate)) (*x509.Certificate, *x509.Certificate) {
		tmpl := caTemplate(cn, -1)
		edit(tmpl)
		ca := issue(t, tmpl, p.root, p.interKey.Public(), p.rootKey)
		return issue(t, leafTemplate("Leaf of "+cn), ca, p.leafKey.Public(), p.interKey), ca
	}
	nonCritical, _ := asn1.Marshal(asn1.BitString{Bytes: []byte{0x80}, BitLength: 1})
	badSelf := *self
	badSelf.Signature = append([]byte(nil), self.Signature...)
	badSelf.Signature[len(badSelf.Signature)-2] ^= 1
	noCertSignLeaf, noCertSign := caWith("No keyCertSign CA", func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageDigitalSignature })
	notCALeaf, notCA := caWith("Not a CA", func(c *x509.Certificate) { c.IsCA = false })
	root0 := issue(t, caTemplate("Root pathLen 0", 0), nil, p.rootKey.Public(), p.rootKey)
	interUnderRoot0 := issue(t, caTemplate("Intermediate", -1), root0, p.interKey.Public(), p.rootKey)
	impostor := issue(t, caTemplate("Intermediate", 0), p.root, testKey(t, "p521").Public(), p.rootKey)
	expiredInter := issue(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "Expired CA"}, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
		NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour),
	}, p.root, p.interKey.Public(), p.rootKey)
	leafOfExpired := issue(t, leafTemplate("Leaf of expired"), expiredInter, p.leafKey.Public(), p.interKey)
	other := generate(t, nvcrypto.GenerateOptions{CommonName: "Other", CA: true})
	// The root's name and key again, self-signed once more: a second root.
	crossRoot := issue(t, caTemplate("Root", -1), nil, p.rootKey.Public(), p.rootKey)
	nonCriticalBCLeaf, nonCriticalBC := caWith("Non-critical basicConstraints", func(c *x509.Certificate) {
		v, _ := asn1.Marshal(struct{ IsCA bool }{true})
		c.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 19}, Critical: false, Value: v}}
	})

	tests := []struct {
		name    string
		chain   []*x509.Certificate
		at      time.Time
		wantIs  error  // nil: valid
		wantMsg string // substring of the error
	}{
		{"self-signed leaf", []*x509.Certificate{self}, now, nil, ""},
		{"leaf, intermediate, root", []*x509.Certificate{p.leaf, p.inter, p.root}, now, nil, ""},
		{"zero time skips validity dates", []*x509.Certificate{leafOfExpired, expiredInter, p.root}, time.Time{}, nil, ""},
		// "The extendedKeyUsage extension is OPTIONAL ... If present, the value MAY contain id-kp-codeSigning"
		{"leaf without extKeyUsage", []*x509.Certificate{leafWith("No EKU", func(c *x509.Certificate) { c.ExtKeyUsage = nil }), p.inter, p.root}, now, nil, ""},
		{"leaf with another extKeyUsage only", []*x509.Certificate{leafWith("Doc signing", func(c *x509.Certificate) {
			c.ExtKeyUsage, c.UnknownExtKeyUsage = nil, []asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 36}}
		}), p.inter, p.root}, now, nil, ""},

		// "Valid certificate chain MUST contain a root certificate."
		{"leaf, intermediate (ends below the root)", []*x509.Certificate{p.leaf, p.inter}, now, nvcrypto.ErrInvalidChain, "not at a self-signed root"},
		{"leaf alone, issued by a CA elsewhere", []*x509.Certificate{p.leaf}, now, nvcrypto.ErrInvalidChain, "not at a self-signed root"},
		// "The certificate MUST NOT chain to multiple parents/roots."
		{"a second root in the chain", []*x509.Certificate{self, root0}, now, nvcrypto.ErrInvalidChain, "issued by"},
		{"a root in the middle", []*x509.Certificate{p.leaf, p.inter, p.root, crossRoot}, now, nvcrypto.ErrInvalidChain, "a root but not the last"},
		// "The certificate chain MUST NOT contain a certificate that is unrelated to the certificate chain."
		{"an unrelated certificate at the end", []*x509.Certificate{p.leaf, p.inter, p.root, other.Chain[1]}, now, nvcrypto.ErrInvalidChain, ""},
		{"a certificate twice", []*x509.Certificate{p.leaf, p.inter, p.inter, p.root}, now, nvcrypto.ErrInvalidChain, "appears twice"},
		// Leaf: "MUST NOT contain anyExtendedKeyUsage, serverAuth, clientAuth, emailProtection and timeStamping".
		{"leaf with extKeyUsage any", []*x509.Certificate{leafWith("Any", func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageAny} }), p.inter, p.root}, now, nvcrypto.ErrInvalidChain, "anyExtendedKeyUsage"},
		{"leaf for code signing and TLS clients", []*x509.Certificate{leafWith("Client", func(c *x509.Certificate) {
			c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning, x509.ExtKeyUsageClientAuth}
		}), p.inter, p.root}, now, nvcrypto.ErrInvalidChain, "clientAuth"},
		{"leaf for code signing and e-mail", []*x509.Certificate{leafWith("Mail", func(c *x509.Certificate) {
			c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning, x509.ExtKeyUsageEmailProtection}
		}), p.inter, p.root}, now, nvcrypto.ErrInvalidChain, "emailProtection"},
		{"leaf for code signing and timestamping", []*x509.Certificate{leafWith("TSA", func(c *x509.Certificate) {
			c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning, x509.ExtKeyUsageTimeStamping}
		}), p.inter, p.root}, now, nvcrypto.ErrInvalidChain, "timeStamping"},
		// CA: "The basicConstraints extension MUST be present and MUST be marked as critical."
		{"CA with a non-critical basicConstraints", []*x509.Certificate{nonCriticalBCLeaf, nonCriticalBC, p.root}, now, nvcrypto.ErrInvalidChain, "critical basicConstraints"},
		// Leaf: "keyEncipherment, dataEncipherment, keyAgreement, keyCertSign, encipherOnly, decipherOnly and cRLSign MUST NOT be set".
		{"leaf with keyEncipherment", []*x509.Certificate{leafWith("KE", func(c *x509.Certificate) { c.KeyUsage |= x509.KeyUsageKeyEncipherment }), p.inter, p.root}, now, nvcrypto.ErrInvalidChain, "beyond digitalSignature"},
		{"leaf with cRLSign", []*x509.Certificate{leafWith("CRL", func(c *x509.Certificate) { c.KeyUsage |= x509.KeyUsageCRLSign }), p.inter, p.root}, now, nvcrypto.ErrInvalidChain, "beyond digitalSignature"},

		{"empty chain", nil, now, nvcrypto.ErrInvalidChain, "no certificates"},
		{"nil certificate", []*x509.Certificate{p.leaf, nil}, now, nvcrypto.ErrInvalidChain, "missing"},
		{"leaf signed with SHA-1", []*x509.Certificate{leafWith("SHA-1", func(c *x509.Certificate) { c.SignatureAlgorithm = x509.SHA1WithRSA }), p.inter}, now, nvcrypto.ErrInvalidChain, "signed with SHA1-RSA: reissue it"},
		{"CA without keyCertSign", []*x509.Certificate{noCertSignLeaf, noCertSign}, now, nvcrypto.ErrInvalidChain, "keyCertSign"},
		{"issuer that is not a CA", []*x509.Certificate{notCALeaf, notCA}, now, nvcrypto.ErrInvalidChain, "not a CA"},
		{"leaf that is a CA", []*x509.Certificate{p.inter, p.root}, now, nvcrypto.ErrInvalidChain, "is a CA"},
		{"leaf without digitalSignature", []*x509.Certificate{leafWith("No DS", func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageContentCommitment }), p.inter}, now, nvcrypto.ErrInvalidChain, "digitalSignature"},
		{"leaf without keyUsage", []*x509.Certificate{leafWith("No KU", func(c *x509.Certificate) { c.KeyUsage = 0 }), p.inter}, now, nvcrypto.ErrInvalidChain, "critical keyUsage"},
		{"leaf keyUsage not critical", []*x509.Certificate{leafWith("Non-critical KU", func(c *x509.Certificate) {
			c.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 15}, Critical: false, Value: nonCritical}}
		}), p.inter}, now, nvcrypto.ErrInvalidChain, "critical keyUsage"},
		{"leaf with keyCertSign", []*x509.Certificate{leafWith("KCS", func(c *x509.Certificate) { c.KeyUsage |= x509.KeyUsageCertSign }), p.inter}, now, nvcrypto.ErrInvalidChain, "beyond digitalSignature"},
		{"leaf for TLS servers only", []*x509.Certificate{leafWith("TLS", func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth} }), p.inter}, now, nvcrypto.ErrInvalidChain, "serverAuth"},
		{"leaf expired at the given time", []*x509.Certificate{p.leaf, p.inter}, validUntil.Add(time.Second), nvcrypto.ErrExpired, `"Leaf" expired on ` + validUntil.Format(time.RFC3339)},
		{"leaf not yet valid at the given time", []*x509.Certificate{p.leaf, p.inter}, validFrom.Add(-time.Second), nvcrypto.ErrNotYetValid, `"Leaf" is valid from ` + validFrom.Format(time.RFC3339)},
		{"CA expired at the given time", []*x509.Certificate{leafOfExpired, expiredInter, p.root}, now, nvcrypto.ErrExpired, `"Expired CA" expired`},
		{"RSA 1024 leaf", []*x509.Certificate{issue(t, leafTemplate("Short"), p.inter, testKey(t, "rsa1024").Public(), p.interKey), p.inter}, now, nvcrypto.ErrUnsupportedKey, "too short"},
		{"P-224 leaf", []*x509.Certificate{issue(t, leafTemplate("P-224"), p.inter, testKey(t, "p224").Public(), p.interKey), p.inter}, now, nvcrypto.ErrUnsupportedKey, "P-224"},
		{"intermediate missing from the chain", []*x509.Certificate{p.leaf, p.root}, now, nvcrypto.ErrInvalidChain, "order the chain"},
		{"issuer with the right name but another key", []*x509.Certificate{p.leaf, impostor}, now, nvcrypto.ErrInvalidChain, "not signed by"},
		{"path length exceeded", []*x509.Certificate{issue(t, leafTemplate("Deep"), interUnderRoot0, p.leafKey.Public(), p.interKey), interUnderRoot0, root0}, now, nvcrypto.ErrInvalidChain, "allows 0 intermediate CAs"},
		{"self-signed certificate with a bad signature", []*x509.Certificate{&badSelf}, now, nvcrypto.ErrInvalidChain, "invalid signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := nvcrypto.ValidateChain(tt.chain, tt.at)
			if tt.wantIs == nil {
				if err != nil {
					t.Fatalf("ValidateChain: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.wantIs) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("ValidateChain error = %v; want %v mentioning %q", err, tt.wantIs, tt.wantMsg)
			}
		})
	}
}

func TestVerifyChainTo(t *testing.T) {
	p := newPKI(t)
	self := issue(t, leafTemplate("Self"), nil, p.leafKey.Public(), p.leafKey)
	other := generate(t, nvcrypto.GenerateOptions{CommonName: "Other", CA: true})
	root0 := issue(t, caTemplate("Root", 0), nil, p.rootKey.Public(), p.rootKey)
	sameNameRoot := issue(t, caTemplate("Root", 1), nil, testKey(t, "p521").Public(), testKey(t, "p521"))
	expiredRoot := issue(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "Root"}, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
		NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-time.Hour),
	}, nil, p.rootKey.Public(), p.rootKey)

	tests := []struct {
		name    string
		chain   []*x509.Certificate
		anchors []*x509.Certificate
		wantIs  error
	}{
		{"self-signed leaf trusted directly", []*x509.Certificate{self}, []*x509.Certificate{self}, nil},
		{"leaf trusted directly", []*x509.Certificate{p.leaf, p.inter, p.root}, []*x509.Certificate{p.leaf}, nil},
		{"root in the chain is an anchor", []*x509.Certificate{p.leaf, p.inter, p.root}, []*x509.Certificate{other.Chain[1], p.root}, nil},
		{"intermediate is an anchor", []*x509.Certificate{p.leaf, p.inter, p.root}, []*x509.Certificate{p.inter}, nil},
		// "Valid certificate chain MUST contain a root certificate", even when
		// a trusted CA issued its last certificate.
		{"chain ends below an anchor CA", []*x509.Certificate{p.leaf, p.inter}, []*x509.Certificate{p.root}, nvcrypto.ErrInvalidChain},
		{"leaf alone, issued by an anchor CA", []*x509.Certificate{p.leaf}, []*x509.Certificate{p.inter}, nvcrypto.ErrInvalidChain},
		{"unrelated anchor", []*x509.Certificate{p.leaf, p.inter, p.root}, []*x509.Certificate{other.Chain[1]}, nvcrypto.ErrUntrusted},
		{"no anchors", []*x509.Certificate{self}, nil, nvcrypto.ErrUntrusted},
		{"anchor with the root's name but another key", []*x509.Certificate{p.leaf, p.inter, p.root}, []*x509.Certificate{sameNameRoot}, nvcrypto.ErrUntrusted},
		{"anchor with the root's key but other dates", []*x509.Certificate{p.leaf, p.inter, p.root}, []*x509.Certificate{expiredRoot}, nvcrypto.ErrUntrusted},
		{"anchor with the root's key but another path length", []*x509.Certificate{p.leaf, p.inter, p.root}, []*x509.Certificate{root0}, nvcrypto.ErrUntrusted},
		{"invalid chain fails before trust", []*x509.Certificate{p.leaf, p.root}, []*x509.Certificate{p.root}, nvcrypto.ErrInvalidChain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := nvcrypto.VerifyChainTo(tt.chain, tt.anchors, now)
			if tt.wantIs == nil {
				if err != nil {
					t.Fatalf("VerifyChainTo: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.wantIs) {
				t.Fatalf("VerifyChainTo error = %v; want %v", err, tt.wantIs)
			}
			if tt.wantIs == nvcrypto.ErrUntrusted && !strings.Contains(err.Error(), tt.chain[0].Subject.CommonName) {
				t.Errorf("error %q does not name the leaf %q", err, tt.chain[0].Subject.CommonName)
			}
		})
	}
	if err := nvcrypto.VerifyChainTo([]*x509.Certificate{p.leaf, p.inter, p.root}, []*x509.Certificate{p.root}, validUntil.Add(time.Hour)); !errors.Is(err, nvcrypto.ErrExpired) {
		t.Errorf("expired chain: error = %v; want ErrExpired", err)
	}
}

func TestCheckValidity(t *testing.T) {
	p := newPKI(t)
	chain := []*x509.Certificate{p.leaf, p.inter, p.root}
	if err := nvcrypto.CheckValidity(chain, now); err != nil {
		t.Errorf("CheckValidity(now): %v", err)
	}
	if err := nvcrypto.CheckValidity(chain, validUntil.Add(time.Second)); !errors.Is(err, nvcrypto.ErrExpired) {
		t.Errorf("CheckValidity(after) = %v; want ErrExpired", err)
	}
	if err := nvcrypto.CheckValidity(chain, validFrom.Add(-time.Second)); !errors.Is(err, nvcrypto.ErrNotYetValid) {
		t.Errorf("CheckValidity(before) = %v; want ErrNotYetValid", err)
	}
}
