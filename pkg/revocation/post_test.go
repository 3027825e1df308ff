package revocation

import (
	"context"
	"net/http"
	"testing"

	"github.com/nv2-signing/nv2/internal/testrevocation"
)

// TestOCSPPost: requests too long for GET are POSTed (RFC 6960 appendix
// A.1), and the responder's answer is read the same way.
func TestOCSPPost(t *testing.T) {
	e := testrevocation.New(t)
	chain := e.Chain(e.Leaf(testrevocation.LeafOptions{}))
	for _, tc := range []struct {
		name      string
		maxGET    int
		wantPosts int
	}{{"GET", 255, 0}, {"POST", 0, 2}} {
		t.Run(tc.name, func(t *testing.T) {
			defer func(n int) { maxGETLength = n }(maxGETLength)
			maxGETLength = tc.maxGET
			e.ResetCounts()
			c := &Checker{HTTPClient: &http.Client{}}
			for _, r := range c.Check(context.Background(), chain) {
				if r.Status != Good || r.Method != MethodOCSP {
					t.Errorf("%s: %v via %q (%v)", r.Cert.Subject, r.Status, r.Method, r.Err)
				}
			}
			if o, _ := e.Requests(); o != 2 || e.OCSPPosts() != tc.wantPosts {
				t.Errorf("%d OCSP requests, %d POSTs; want 2 and %d", o, e.OCSPPosts(), tc.wantPosts)
			}
		})
	}
}
