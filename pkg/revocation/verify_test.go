package revocation

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// The rules of RFC 6960 and RFC 5280 that OpenSSL's responder and CRLs do not
// break on their own, on answers made here with the issuer's own key.

func TestVerifyOCSPRules(t *testing.T) {
	p := newFuzzPKI(t)
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherCA := &x509.Certificate{ // another issuer's name and key in the CertID
		RawSubject:              []byte{0x30, 0x00},
		RawSubjectPublicKeyInfo: mustSPKI(t, &otherKey.PublicKey),
	}
	base := ocsp.Response{Status: ocsp.Good, SerialNumber: p.leaf.SerialNumber, ThisUpdate: p.now.Add(-time.Minute), NextUpdate: p.now.Add(time.Hour)}
	tests := []struct {
		name   string
		edit   func(r *ocsp.Response)
		issuer *x509.Certificate // in the CertID; p.issuer when nil
		want   error
	}{
		{name: "good", want: nil},
		{name: "CertID names another issuer, signed by the right one", issuer: otherCA, want: ErrWrongCertificate},
		{name: "another serial number", edit: func(r *ocsp.Response) { r.SerialNumber = big.NewInt(99) }, want: ErrWrongCertificate},
		{name: "no nextUpdate", edit: func(r *ocsp.Response) { r.NextUpdate = time.Time{} }, want: ErrStale},
		{name: "nextUpdate past", edit: func(r *ocsp.Response) { r.NextUpdate = p.now.Add(-time.Second) }, want: ErrStale},
		{name: "thisUpdate in the future beyond the skew", edit: func(r *ocsp.Response) { r.ThisUpdate = p.now.Add(MaxClockSkew + time.Minute) }, want: ErrStale},
		{name: "thisUpdate in the future within the skew", edit: func(r *ocsp.Response) { r.ThisUpdate = p.now.Add(time.Minute) }, want: nil},
		{name: "status unknown", edit: func(r *ocsp.Response) { r.Status = ocsp.Unknown }, want: ErrUnknownToResponder},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base
			if tt.edit != nil {
				tt.edit(&r)
			}
			issuer := p.issuer
			if tt.issuer != nil {
				issuer = tt.issuer
			}
			der, err := ocsp.CreateResponse(issuer, p.issuer, r, p.issuerKey)
			if err != nil {
				t.Fatal(err)
			}
			_, err = verifyOCSP(der, p.leaf, p.issuer, p.now)
			if (tt.want == nil) != (err == nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("verifyOCSP: %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := verifyOCSP(make([]byte, MaxOCSPResponseSize+1), p.leaf, p.issuer, p.now); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized response: %v, want ErrTooLarge", err)
	}
}

func TestVerifyCRLRules(t *testing.T) {
	p := newFuzzPKI(t)
	dp := p.leaf.CRLDistributionPoints[0]
	idp := func(dp asn1RawIDP) pkix.Extension {
		return pkix.Extension{Id: oidIssuingDistributionPoint, Critical: true, Value: dp.marshal(t)}
	}
	tests := []struct {
		name  string
		list  func(l *x509.RevocationList)
		cert  *x509.Certificate
		want  error
		state Status
	}{
		{name: "on hold is revoked", state: Revoked},
		{name: "removeFromCRL is not revoked", list: func(l *x509.RevocationList) {
			l.RevokedCertificateEntries[0].ReasonCode = reasonRemoveFromCRL
		}, state: Good},
		{name: "another certificate revoked", list: func(l *x509.RevocationList) {
			l.RevokedCertificateEntries[0].SerialNumber = big.NewInt(99)
		}, state: Good},
		{name: "thisUpdate in the future", list: func(l *x509.RevocationList) {
			l.ThisUpdate = p.now.Add(MaxClockSkew + time.Minute)
			l.NextUpdate = p.now.Add(2 * time.Hour)
		}, want: ErrStale},
		{name: "past nextUpdate", list: func(l *x509.RevocationList) { l.NextUpdate = p.now.Add(-time.Second) }, want: ErrStale},
		{name: "delta CRL", list: func(l *x509.RevocationList) {
			l.ExtraExtensions = []pkix.Extension{{Id: oidDeltaCRLIndicator, Critical: true, Value: []byte{2, 1, 1}}}
		}, want: ErrInvalidResponse},
		{name: "unknown critical extension", list: func(l *x509.RevocationList) {
			l.ExtraExtensions = []pkix.Extension{{Id: []int{1, 2, 3}, Critical: true, Value: []byte{5, 0}}}
		}, want: ErrInvalidResponse},
		{name: "unknown critical entry extension", list: func(l *x509.RevocationList) {
			l.RevokedCertificateEntries[0].ExtraExtensions = []pkix.Extension{{Id: []int{1, 2, 3}, Critical: true, Value: []byte{5, 0}}}
		}, want: ErrInvalidResponse},
		{name: "scope: this distribution point", list: func(l *x509.RevocationList) {
			l.ExtraExtensions = []pkix.Extension{idp(asn1RawIDP{uri: dp})}
		}, state: Revoked},
		{name: "scope: another distribution point", list: func(l *x509.RevocationList) {
			l.ExtraExtensions = []pkix.Extension{idp(asn1RawIDP{uri: "http://127.0.0.1:1/other"})}
		}, want: ErrInvalidResponse},
		{name: "scope: CA certificates only", list: func(l *x509.RevocationList) {
			l.ExtraExtensions = []pkix.Extension{idp(asn1RawIDP{onlyCA: true})}
		}, want: ErrInvalidResponse},
		{name: "scope: user certificates only, for a CA", cert: p.issuer, list: func(l *x509.RevocationList) {
			l.ExtraExtensions = []pkix.Extension{idp(asn1RawIDP{onlyUser: true})}
		}, want: ErrInvalidResponse},
		{name: "scope: indirect", list: func(l *x509.RevocationList) {
			l.ExtraExtensions = []pkix.Extension{idp(asn1RawIDP{indirect: true})}
		}, want: ErrInvalidResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &x509.RevocationList{
				Number: big.NewInt(1), ThisUpdate: p.now.Add(-time.Minute), NextUpdate: p.now.Add(time.Hour),
				RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: p.leaf.SerialNumber, RevocationTime: p.now.Add(-time.Minute), ReasonCode: reasonCertificateHold}},
			}
			if tt.list != nil {
				tt.list(l)
			}
			der, err := x509.CreateRevocationList(rand.Reader, l, p.issuer, p.issuerKey)
			if err != nil {
				t.Fatal(err)
			}
			cert := p.leaf
			if tt.cert != nil {
				cert = tt.cert
			}
			crl, err := verifyCRL(der, p.issuer, p.now, false)
			if err == nil {
				err = checkScope(crl, cert, dp)
			}
			if (tt.want == nil) != (err == nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("verify: %v, want %v", err, tt.want)
			}
			if err == nil {
				if r := lookup(crl, nil, cert); r.Status != tt.state {
					t.Errorf("status %v, want %v", r.Status, tt.state)
				}
			}
		})
	}
}

func mustSPKI(t *testing.T, pub *ecdsa.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// asn1RawIDP builds an issuing distribution point extension value.
type asn1RawIDP struct {
	uri                        string
	onlyUser, onlyCA, indirect bool
}

func (d asn1RawIDP) marshal(t *testing.T) []byte {
	t.Helper()
	var v issuingDistributionPoint
	if d.uri != "" {
		gn, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 6, Bytes: []byte(d.uri)})
		v.DistributionPoint = dpName(gn)
	}
	v.OnlyContainsUserCerts, v.OnlyContainsCACerts, v.IndirectCRL = d.onlyUser, d.onlyCA, d.indirect
	der, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestRevokedWhenSigned(t *testing.T) {
	inval := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		r        Result
		signedAt time.Time
		want     bool
	}{
		{"good", Result{Status: Good}, inval.Add(time.Hour), false},
		{"unknown is not revoked (the policy fails it on its own)", Result{Status: Unknown}, time.Time{}, false},
		{"revoked, no timestamp", Result{Status: Revoked, InvalidityDate: inval}, time.Time{}, true},
		{"revoked, no invalidity date", Result{Status: Revoked}, inval, true},
		{"signed before the invalidity date", Result{Status: Revoked, InvalidityDate: inval}, inval.Add(-time.Second), false},
		{"signed at the invalidity date", Result{Status: Revoked, InvalidityDate: inval}, inval, true},
		{"signed after the invalidity date", Result{Status: Revoked, InvalidityDate: inval}, inval.Add(time.Second), true},
	}
	for _, tt := range tests {
		if got := tt.r.RevokedWhenSigned(tt.signedAt); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestDistributionPointSyntax: the freshestCRL parser reads what
// crypto/x509 writes as CRL distribution points (the same syntax).
func TestDistributionPointSyntax(t *testing.T) {
	p := newGoPKI(t, goPKIOptions{crl: "http://127.0.0.1:1/a.crl"})
	for _, ext := range p.leaf.Extensions {
		if ext.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 31}) {
			ext.Id = oidFreshestCRL
			urls, err := freshestCRLURLs([]pkix.Extension{ext})
			if err != nil || len(urls) != 1 || urls[0] != "http://127.0.0.1:1/a.crl" {
				t.Fatalf("freshestCRLURLs = %v, %v; want the certificate's distribution point", urls, err)
			}
			return
		}
	}
	t.Fatal("no CRL distribution points extension")
}
