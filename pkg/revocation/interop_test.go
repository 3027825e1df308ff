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
		// notationSays, when not Unknown, is a known divergence: notation-core-go's
		// verdict, which differs from nv2's (asserted by TestCheck).
		notationSays revocation.Status
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
		{name: "OCSP response signed with another key, CRL down", setup: func(e *testrevocation.Env, _ *x509.Certificate) {
			e.SetOCSPSigner(testrevocation.SignerWrongKey)
			e.SetCRLDown(true)
		}},
		// RFC 6960 section 4.2.2.2: a delegated responder is designated by
		// id-kp-OCSPSigning, and a response signed by any other certificate
		// must be rejected. notation-core-go v1.3.0 (through x/crypto/ocsp)
		// accepts one signed by any certificate the issuer signed.
		{name: "OCSP response signed without OCSPSigning, CRL down", setup: func(e *testrevocation.Env, _ *x509.Certificate) {
			e.SetOCSPSigner(testrevocation.SignerNoOCSPSigning)
			e.SetCRLDown(true)
		}, notationSays: revocation.Good},
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
				got := verdict[theirs[i].Result]
				if tt.notationSays != revocation.Unknown {
					if got != tt.notationSays || r.Status != revocation.Unknown {
						t.Errorf("%s: known divergence changed: nv2 says %v, notation-core-go says %v", chain[i].Subject, r.Status, got)
					}
					continue
				}
				if r.Status != got {
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
