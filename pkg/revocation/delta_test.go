package revocation

import (
	"github.com/nv2-signing/nv2/internal/testsign"

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
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	notation "github.com/notaryproject/notation-core-go/revocation"
	"github.com/notaryproject/notation-core-go/revocation/purpose"
	notationresult "github.com/notaryproject/notation-core-go/revocation/result"
)

// TestDeltaCRL: a base CRL's freshestCRL extension (or the certificate's)
// leads to a delta CRL, which must be read, verified and applied (RFC 5280
// sections 5.2.4 and 5.2.6; the Notary Project requires delta CRL support).
// OpenSSL's `ca` makes no delta CRLs, so these CRLs are made in Go and served
// on loopback.
func TestDeltaCRL(t *testing.T) {
	var mu sync.Mutex
	files := map[string][]byte{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		data, ok := files[r.URL.Path]
		mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(data)
	}))
	defer srv.Close()
	baseURL, deltaURL := srv.URL+"/base.crl", srv.URL+"/delta.crl"
	freshest := pkix.Extension{Id: oidFreshestCRL, Value: freshestSeed(t, deltaURL)}

	type crlSpec struct {
		number    int64
		indicator int64 // a delta CRL when not zero
		reason    int   // the leaf's entry; -1 for none
		freshest  bool
		wrongKey  bool
	}
	base := crlSpec{number: 1, reason: -1, freshest: true}
	delta := crlSpec{number: 2, indicator: 1, reason: -1}
	tests := []struct {
		name        string
		base, delta *crlSpec
		leafExtra   []pkix.Extension
		want        Status
		wantErr     error
		// notationSays, when set, is notation-core-go's differing verdict.
		notationSays *Status
	}{
		{name: "delta lists nothing", base: &base, delta: &delta, want: Good},
		{name: "no freshestCRL: the base alone", base: &crlSpec{number: 1, reason: -1}, want: Good},
		{name: "delta revokes", base: &base, delta: &crlSpec{number: 2, indicator: 1, reason: 1}, want: Revoked},
		{name: "base holds, delta silent", base: &crlSpec{number: 1, reason: reasonCertificateHold, freshest: true}, delta: &delta, want: Revoked},
		{name: "base holds, delta removes from CRL", base: &crlSpec{number: 1, reason: reasonCertificateHold, freshest: true}, delta: &crlSpec{number: 2, indicator: 1, reason: reasonRemoveFromCRL}, want: Good},
		// RFC 5280 section 5.2.6 lets the certificate name the delta CRL;
		// notation-core-go v1.3.0 reports such certificates as unknown.
		{name: "freshestCRL of the certificate", base: &crlSpec{number: 1, reason: -1}, leafExtra: []pkix.Extension{freshest}, delta: &crlSpec{number: 2, indicator: 1, reason: 1}, want: Revoked, notationSays: ptr(Unknown)},
		{name: "delta missing", base: &base, wantErr: ErrUnreachable},
		{name: "delta for a newer base", base: &base, delta: &crlSpec{number: 3, indicator: 2, reason: -1}, wantErr: ErrInvalidResponse},
		{name: "delta not newer than the base", base: &crlSpec{number: 5, reason: -1, freshest: true}, delta: &crlSpec{number: 5, indicator: 4, reason: -1}, wantErr: ErrInvalidResponse},
		{name: "delta signed by another key", base: &base, delta: &crlSpec{number: 2, indicator: 1, reason: -1, wrongKey: true}, wantErr: ErrInvalidResponse},
		{name: "a base CRL that is not a delta at the delta URL", base: &base, delta: &crlSpec{number: 2, reason: -1}, wantErr: ErrInvalidResponse},
		// A delta CRL lists only what changed since its base: read as a
		// complete CRL it would miss revocations. notation-core-go v1.3.0
		// accepts it in place of the base CRL.
		{name: "a delta CRL at the distribution point", base: &crlSpec{number: 2, indicator: 1, reason: -1}, wantErr: ErrInvalidResponse, notationSays: ptr(Good)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newGoPKI(t, goPKIOptions{crl: baseURL, leafExtra: tt.leafExtra})
			impostorKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			impostor := selfSigned(t, p.issuer.Subject, impostorKey)
			mk := func(s *crlSpec) []byte {
				l := &x509.RevocationList{Number: big.NewInt(s.number), ThisUpdate: p.now.Add(-time.Minute), NextUpdate: p.now.Add(time.Hour)}
				if s.reason >= 0 {
					at := p.now.Add(-time.Minute)
					if s.indicator != 0 {
						at = p.now // a delta's entries are newer than its base's
					}
					l.RevokedCertificateEntries = []x509.RevocationListEntry{{SerialNumber: p.leaf.SerialNumber, RevocationTime: at, ReasonCode: s.reason}}
				}
				if s.indicator != 0 {
					v, _ := asn1.Marshal(big.NewInt(s.indicator))
					l.ExtraExtensions = append(l.ExtraExtensions, pkix.Extension{Id: oidDeltaCRLIndicator, Critical: true, Value: v})
				}
				if s.freshest {
					l.ExtraExtensions = append(l.ExtraExtensions, freshest)
				}
				issuer, key := p.issuer, crypto.Signer(p.issuerKey)
				if s.wrongKey {
					issuer, key = impostor, impostorKey
				}
				der, err := x509.CreateRevocationList(rand.Reader, l, issuer, key)
				if err != nil {
					t.Fatal(err)
				}
				return der
			}
			mu.Lock()
			files = map[string][]byte{"/base.crl": mk(tt.base)}
			if tt.delta != nil {
				files["/delta.crl"] = mk(tt.delta)
			}
			mu.Unlock()
			c := &Checker{HTTPClient: srv.Client(), CacheDir: t.TempDir()}
			chain := []*x509.Certificate{p.leaf, p.issuer, p.root}
			r := c.Check(context.Background(), chain)[0]
			assertNotationAgrees(t, chain, r.Status, tt.notationSays)
			if tt.wantErr != nil {
				if r.Status != Unknown || !errors.Is(r.Err, tt.wantErr) {
					t.Fatalf("%v (%v), want unknown with %v", r.Status, r.Err, tt.wantErr)
				}
				return
			}
			if r.Status != tt.want || r.Err != nil {
				t.Fatalf("%v (%v), want %v", r.Status, r.Err, tt.want)
			}
			// Both CRLs are cached: a second check reads no file from the server.
			mu.Lock()
			files = map[string][]byte{}
			mu.Unlock()
			if r := c.Check(context.Background(), chain)[0]; r.Status != tt.want || r.Source != SourceCache {
				t.Errorf("from the cache: %v from %q (%v), want %v", r.Status, r.Source, r.Err, tt.want)
			}
		})
	}
}

func selfSigned(t *testing.T, subject pkix.Name, key *ecdsa.PrivateKey) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: subject, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		BasicConstraintsValid: true, IsCA: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	return testsign.Issue(t, tmpl, nil, key.Public(), key)
}

// assertNotationAgrees runs notation-core-go's revocation package on chain and
// compares its verdict on the leaf with nv2's; notationSays, when set, is a
// known divergence.
func assertNotationAgrees(t *testing.T, chain []*x509.Certificate, ours Status, notationSays *Status) {
	t.Helper()
	v, err := notation.NewWithOptions(notation.Options{OCSPHTTPClient: &http.Client{Timeout: 3 * time.Second}, CertChainPurpose: purpose.CodeSigning})
	if err != nil {
		t.Fatal(err)
	}
	results, err := v.ValidateContext(context.Background(), notation.ValidateContextOptions{CertChain: chain})
	if err != nil {
		t.Fatalf("notation-core-go: %v", err)
	}
	theirs := map[notationresult.Result]Status{
		notationresult.ResultOK: Good, notationresult.ResultRevoked: Revoked,
		notationresult.ResultUnknown: Unknown, notationresult.ResultNonRevokable: NotChecked,
	}[results[0].Result]
	want := ours
	if notationSays != nil {
		want = *notationSays
	}
	if theirs != want {
		var errs []error
		for _, sr := range results[0].ServerResults {
			errs = append(errs, sr.Error)
		}
		t.Errorf("nv2 says %v, notation-core-go says %v (want %v) %v", ours, theirs, want, errs)
	}
}

func ptr(s Status) *Status { return &s }
