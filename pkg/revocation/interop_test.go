package revocation_test

import (
	"context"
	"crypto/x509"
	"net/http"
	"testing"
	"time"

	notation "github.com/notaryproject/notation-core-go/revocation"
	"github.com/notaryproject/notation-core-go/revocation/purpose"
	notationresult "github.com/notaryproject/notation-core-go/revocation/result"

	"github.com/nv2-signing/nv2/internal/testrevocation"
	"github.com/nv2-signing/nv2/pkg/revocation"
)

// TestNotationAgrees runs notation-core-go's revocation package, the Notary
// Project's reference, on the same chains and responders: both must reach the
// same verdict for every certificate.
func TestNotationAgrees(t *testing.T) {
	tests := []struct {
		name  string
		leaf  testrevocation.LeafOptions
		setup func(e *testrevocation.Env, leaf *x509.Certificate)
	}{
		{name: "good"},
		{name: "revoked via OCSP", setup: func(e *testrevocation.Env, l *x509.Certificate) { e.Revoke(l, "keyCompromise") }},
		{name: "revoked intermediate", setup: func(e *testrevocation.Env, _ *x509.Certificate) { e.Revoke(e.Intermediate.Cert, "keyCompromise") }},
		{name: "revoked via CRL, OCSP down", setup: func(e *testrevocation.Env, l *x509.Certificate) {
			e.Revoke(l, "keyCompromise")
			e.SetOCSPDown(true)
		}},
		{name: "on hold via OCSP", setup: func(e *testrevocation.Env, l *x509.Certificate) { e.Revoke(l, "certificateHold") }},
		{name: "on hold via CRL", setup: func(e *testrevocation.Env, l *x509.Certificate) {
			e.Revoke(l, "certificateHold")
			e.SetOCSPDown(true)
		}},
		{name: "good via CRL, OCSP down", setup: func(e *testrevocation.Env, _ *x509.Certificate) { e.SetOCSPDown(true) }},
		{name: "everything down", setup: func(e *testrevocation.Env, _ *x509.Certificate) {
			e.SetOCSPDown(true)
			e.SetCRLDown(true)
		}},
		{name: "CRL signed by the wrong key", setup: func(e *testrevocation.Env, _ *x509.Certificate) {
			e.SetOCSPDown(true)
			e.SetCRLWrongKey(true)
		}},
		{name: "OCSP response about another certificate, CRL down", setup: func(e *testrevocation.Env, _ *x509.Certificate) {
			e.SetOCSPAnswerAbout(e.Leaf(testrevocation.LeafOptions{}))
			e.SetCRLDown(true)
		}},
		{name: "CRL only", leaf: testrevocation.LeafOptions{NoOCSP: true}},
		{name: "no revocation information", leaf: testrevocation.LeafOptions{NoOCSP: true, NoCRL: true}},
	}
	verdict := map[notationresult.Result]revocation.Status{
		notationresult.ResultOK:           revocation.Good,
		notationresult.ResultRevoked:      revocation.Revoked,
		notationresult.ResultUnknown:      revocation.Unknown,
		notationresult.ResultNonRevokable: revocation.NotChecked,
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := testrevocation.New(t)
			leaf := e.Leaf(tt.leaf)
			if tt.setup != nil {
				tt.setup(e, leaf)
			}
			chain := e.Chain(leaf)
			ours := newChecker().Check(context.Background(), chain)

			v, err := notation.NewWithOptions(notation.Options{
				OCSPHTTPClient:   &http.Client{Timeout: 3 * time.Second},
				CertChainPurpose: purpose.CodeSigning,
			})
			if err != nil {
				t.Fatal(err)
			}
			theirs, err := v.ValidateContext(context.Background(), notation.ValidateContextOptions{CertChain: chain})
			if err != nil {
				t.Fatalf("notation-core-go: %v", err)
			}
			for i, r := range ours {
				want := verdict[theirs[i].Result]
				if r.Status != want {
					t.Errorf("%s: nv2 says %v (%v), notation-core-go says %v (%v)", chain[i].Subject, r.Status, r.Err, theirs[i].Result, serverErrors(theirs[i]))
				}
			}
		})
	}
}

func serverErrors(r *notationresult.CertRevocationResult) []error {
	var errs []error
	for _, s := range r.ServerResults {
		if s.Error != nil {
			errs = append(errs, s.Error)
		}
	}
	return errs
}
