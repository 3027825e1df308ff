package revocation_test

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/nv2-signing/nv2/pkg/revocation"
)

// A verifier enforcing revocation checks the signing chain and the
// timestamp authority's chain together, then fails on Revoked and Unknown and
// warns on NotChecked.
func ExampleChecker_CheckChains() {
	var signing, tsa []*x509.Certificate // leaf first, root last, already verified
	cache, _ := revocation.DefaultCacheDir()
	checker := &revocation.Checker{HTTPClient: http.DefaultClient, Timeout: 3 * time.Second, CacheDir: cache}

	var failures []error
	for _, results := range checker.CheckChains(context.Background(), signing, tsa) {
		for _, r := range results {
			switch r.Status {
			case revocation.Revoked:
				failures = append(failures, fmt.Errorf("%s revoked at %s (reason %d) according to %s", r.Cert.Subject, r.RevokedAt, r.Reason, r.Responder))
			case revocation.Unknown:
				failures = append(failures, r.Err)
			case revocation.NotChecked:
				_ = r.Err // a warning: the certificate names no OCSP responder or CRL
			}
		}
	}
	if err := errors.Join(failures...); err != nil {
		_ = err // the signature does not verify
	}
}

// Revocation data for a machine with no network: Fetch where the responders
// can be reached, carry the directory, check with OfflineDir.
func ExampleChecker_Fetch() {
	var chain []*x509.Certificate
	connected := &revocation.Checker{}
	if _, err := connected.Fetch(context.Background(), chain, "revocation-data"); err != nil {
		_ = err // some certificate's data could not be fetched
	}

	offline := &revocation.Checker{OfflineDir: "revocation-data"}
	_ = offline.Check(context.Background(), chain) // sends no request
}
