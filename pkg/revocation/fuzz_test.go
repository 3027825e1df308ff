package revocation

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// Fuzz targets for every parser of untrusted input: OCSP responses and CRLs
// (from a server or from a cache or offline file) and the CRL scope
// extension. Run them with scripts/fuzz.sh.

type fuzzPKI struct {
	root, issuer, leaf *x509.Certificate
	issuerKey          crypto.Signer
	now                time.Time
}

func newFuzzPKI(t testing.TB) *fuzzPKI {
	return newGoPKI(t, goPKIOptions{ocsp: "http://127.0.0.1:1/ocsp", crl: "http://127.0.0.1:1/crl"})
}

// goPKIOptions are the leaf's revocation URLs and extra extensions.
type goPKIOptions struct {
	ocsp, crl string
	leafExtra []pkix.Extension
}

// newGoPKI makes a root, an issuer and a leaf (serials 1, 2, 3) in Go; only
// the leaf names revocation URLs.
func newGoPKI(t testing.TB, opts goPKIOptions) *fuzzPKI {
	t.Helper()
	now := time.Now()
	mk := func(cn string, serial int64, isCA bool, parent *x509.Certificate, parentKey crypto.Signer) (*x509.Certificate, crypto.Signer) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			BasicConstraintsValid: true, IsCA: isCA,
		}
		if isCA {
			tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
		} else {
			tmpl.KeyUsage = x509.KeyUsageDigitalSignature
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}
			if opts.ocsp != "" {
				tmpl.OCSPServer = []string{opts.ocsp}
			}
			if opts.crl != "" {
				tmpl.CRLDistributionPoints = []string{opts.crl}
			}
			tmpl.ExtraExtensions = opts.leafExtra
		}
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return cert, key
	}
	root, rootKey := mk("root", 1, true, nil, nil)
	issuer, issuerKey := mk("issuer", 2, true, root, rootKey)
	leaf, _ := mk("leaf", 3, false, issuer, issuerKey)
	return &fuzzPKI{root: root, issuer: issuer, leaf: leaf, issuerKey: issuerKey, now: now}
}

func (p *fuzzPKI) ocspResponse(t testing.TB, status int) []byte {
	t.Helper()
	der, err := ocsp.CreateResponse(p.issuer, p.issuer, ocsp.Response{
		Status: status, SerialNumber: p.leaf.SerialNumber, ThisUpdate: p.now.Add(-time.Minute),
		NextUpdate: p.now.Add(time.Hour), RevokedAt: p.now.Add(-time.Minute), RevocationReason: ocsp.KeyCompromise,
	}, p.issuerKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func (p *fuzzPKI) crl(t testing.TB, extra []pkix.Extension) []byte {
	t.Helper()
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: p.now.Add(-time.Minute), NextUpdate: p.now.Add(time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: big.NewInt(3), RevocationTime: p.now.Add(-time.Minute), ReasonCode: reasonCertificateHold}},
		ExtraExtensions:           extra,
	}, p.issuer, p.issuerKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// deltaCRL is a delta CRL for p.crl's (number 1): number 2, base 1,
// lifting the hold p.crl puts the leaf on.
func (p *fuzzPKI) deltaCRL(t testing.TB) []byte {
	t.Helper()
	ind, _ := asn1.Marshal(big.NewInt(1))
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(2), ThisUpdate: p.now.Add(-time.Minute), NextUpdate: p.now.Add(time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: big.NewInt(3), RevocationTime: p.now.Add(-time.Minute), ReasonCode: reasonRemoveFromCRL}},
		ExtraExtensions:           []pkix.Extension{{Id: oidDeltaCRLIndicator, Critical: true, Value: ind}},
	}, p.issuer, p.issuerKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// freshestSeed is a freshestCRL extension value naming url.
func freshestSeed(t testing.TB, url string) []byte {
	t.Helper()
	gn, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 6, Bytes: []byte(url)})
	der, err := asn1.Marshal([]distributionPoint{{Name: dpName(gn)}})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// dpName is a distributionPoint field: [0] { fullName [0] { generalNames } }.
func dpName(generalNames []byte) asn1.RawValue {
	full, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: generalNames})
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: full}
}

func idpSeed(t testing.TB) []byte {
	t.Helper()
	uri, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 6, Bytes: []byte("http://127.0.0.1:1/crl")})
	der, err := asn1.Marshal(issuingDistributionPoint{DistributionPoint: dpName(uri), OnlyContainsUserCerts: true})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func FuzzVerifyOCSP(f *testing.F) {
	p := newFuzzPKI(f)
	f.Add(p.ocspResponse(f, ocsp.Good))
	f.Add(p.ocspResponse(f, ocsp.Revoked))
	f.Add(ocsp.TryLaterErrorResponse)
	f.Fuzz(func(t *testing.T, der []byte) {
		r, err := verifyOCSP(der, p.leaf, p.issuer, p.now)
		if err == nil && r.Status != Good && r.Status != Revoked {
			t.Fatalf("accepted response with status %v", r.Status)
		}
	})
}

func FuzzVerifyCRL(f *testing.F) {
	p := newFuzzPKI(f)
	f.Add(p.crl(f, nil))
	f.Add(p.crl(f, []pkix.Extension{{Id: oidIssuingDistributionPoint, Critical: true, Value: idpSeed(f)}}))
	f.Add(p.deltaCRL(f))
	base, err := x509.ParseRevocationList(p.crl(f, nil))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		if crl, err := verifyCRL(der, p.issuer, p.now, false); err == nil {
			if checkScope(crl, p.leaf, p.leaf.CRLDistributionPoints[0]) == nil {
				lookup(crl, nil, p.leaf)
			}
			freshestCRLURLs(crl.Extensions)
		}
		if delta, err := verifyCRL(der, p.issuer, p.now, true); err == nil {
			if checkDelta(base, delta) == nil {
				lookup(base, delta, p.leaf)
			}
		}
	})
}

func FuzzFreshestCRL(f *testing.F) {
	f.Add(freshestSeed(f, "http://127.0.0.1:1/delta.crl"))
	f.Fuzz(func(t *testing.T, der []byte) {
		freshestCRLURLs([]pkix.Extension{{Id: oidFreshestCRL, Value: der}})
	})
}

func FuzzParseIDP(f *testing.F) {
	f.Add(idpSeed(f))
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, der []byte) {
		if idp, err := parseIDP(der); err == nil {
			fullNameURIs(idp.DistributionPoint)
		}
	})
}

// FuzzStoredData: whatever a cache or offline file holds, a check never
// panics and says good or revoked only for data that verifies.
func FuzzStoredData(f *testing.F) {
	p := newFuzzPKI(f)
	f.Add(p.ocspResponse(f, ocsp.Good))
	f.Add(p.crl(f, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir, err := os.MkdirTemp("", "nv2-fuzz-revocation-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		// The same bytes as the stored OCSP response and as the stored CRL.
		for _, name := range []string{ocspKey(p.leaf, p.issuer, p.leaf.OCSPServer[0]), crlKey(p.issuer, p.leaf.CRLDistributionPoints[0])} {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		c := &Checker{OfflineDir: dir, Now: func() time.Time { return p.now }}
		r := c.Check(context.Background(), []*x509.Certificate{p.leaf, p.issuer, p.root})[0]
		if r.Status == Good || r.Status == Revoked {
			crl, crlErr := verifyCRL(data, p.issuer, p.now, false)
			if crl != nil && errors.Is(crlErr, ErrStale) && r.Status == Revoked {
				crlErr = nil // a stale CRL still proves a revocation
			}
			_, ocspErr := verifyOCSP(data, p.leaf, p.issuer, p.now)
			if crlErr != nil && ocspErr != nil {
				t.Fatalf("status %v from data that does not verify: %v; %v", r.Status, ocspErr, crlErr)
			}
		}
	})
}
