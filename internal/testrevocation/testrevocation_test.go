package testrevocation_test

import (
	"bytes"
	"crypto"
	"io"
	"net/http"
	"testing"

	"golang.org/x/crypto/ocsp"

	"github.com/nv2-signing/nv2/internal/testrevocation"
)

// TestEnv: the server listens on loopback, answers OCSP through openssl with
// the index's status, and serves CRLs signed by the issuer.
func TestEnv(t *testing.T) {
	e := testrevocation.New(t)
	if !e.Loopback() {
		t.Fatalf("server at %s, want a loopback address", e.URL)
	}
	leaf := e.Leaf(testrevocation.LeafOptions{})
	status := func() int {
		t.Helper()
		req, err := ocsp.CreateRequest(leaf, e.Intermediate.Cert, &ocsp.RequestOptions{Hash: crypto.SHA256})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post(e.OCSPURL(e.Intermediate), "application/ocsp-request", bytes.NewReader(req))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		r, err := ocsp.ParseResponseForCert(body, leaf, e.Intermediate.Cert)
		if err != nil {
			t.Fatalf("OCSP response: %v", err)
		}
		return r.Status
	}
	if got := status(); got != ocsp.Good {
		t.Errorf("status %d before revocation, want good", got)
	}
	e.Revoke(leaf, "keyCompromise")
	if got := status(); got != ocsp.Revoked {
		t.Errorf("status %d after revocation, want revoked", got)
	}
	if o, _ := e.Requests(); o != 2 || e.OCSPPosts() != 2 {
		t.Errorf("counted %d OCSP requests, %d POSTs, want 2 and 2", o, e.OCSPPosts())
	}
}
