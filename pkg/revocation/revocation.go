// Package revocation checks whether the certificates of a chain are revoked,
// with OCSP first and CRLs as fallback, a verified on-disk cache and offline data.
package revocation

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Status is the revocation status of one certificate.
type Status int

const (
	// Unknown: no OCSP response or CRL could be obtained and verified. A
	// strict policy treats it like Revoked.
	Unknown Status = iota
	// Good: a verified OCSP response or the CRLs of every distribution point
	// say the certificate is not revoked.
	Good
	// Revoked: a verified OCSP response or CRL lists the certificate as
	// revoked, on hold (certificateHold) included.
	Revoked
	// NotChecked: the certificate names no OCSP responder and no CRL
	// distribution point, so its status cannot be checked. It is not
	// revoked; Result.Err (ErrNoRevocationInfo) is a warning to show.
	NotChecked
)

func (s Status) String() string {
	switch s {
	case Good:
		return "good"
	case Revoked:
		return "revoked"
	case NotChecked:
		return "not checked"
	default:
		return "unknown"
	}
}

// Method is how a status was learned.
type Method string

// The methods of Result.Method; empty when no method gave an answer.
const (
	MethodOCSP Method = "ocsp"
	MethodCRL  Method = "crl"
)

// Source is where the OCSP response or CRL behind a status came from.
type Source string

// The sources of Result.Source; empty when no data was used.
const (
	SourceNetwork Source = "network" // fetched from the responder or distribution point
	SourceCache   Source = "cache"   // read from Checker.CacheDir
	SourceOffline Source = "offline" // read from Checker.OfflineDir
)

// Result is the revocation status of one non-root certificate of a chain.
type Result struct {
	Cert   *x509.Certificate
	Status Status
	Method Method
	Source Source
	// Responder is the OCSP responder or CRL distribution point URL whose
	// answer decided the status (of several CRLs, the one listing the
	// certificate, or else the first that answered).
	Responder string
	// RevokedAt and Reason (an RFC 5280 CRLReason code, 6 for
	// certificateHold) are set when Status is Revoked.
	RevokedAt time.Time
	Reason    int
	// InvalidityDate, when the answer gives one (RFC 5280 section 5.3.2),
	// is when the key is known or suspected to have been compromised, which
	// can be earlier or later than RevokedAt. The trust policy may use it
	// against an authentic (timestamped) signing time.
	InvalidityDate time.Time
	// Err explains an Unknown status (every attempt that failed, joined) or a
	// NotChecked one (ErrNoRevocationInfo); it is nil for Good and Revoked.
	Err error
}

// RevokedWhenSigned applies the Notary Project's rule for timestamped
// signatures to a result: a revoked certificate whose invalidity date is
// after the authentic signing time was not compromised yet when it signed.
// Pass the upper limit of the trusted timestamp's range, or the zero time
// when the signature has no trusted timestamp: then, as without an
// invalidity date, Revoked means revoked. It is false for every other status.
func (r Result) RevokedWhenSigned(authenticSigningTime time.Time) bool {
	if r.Status != Revoked {
		return false
	}
	if authenticSigningTime.IsZero() || r.InvalidityDate.IsZero() {
		return true
	}
	return !authenticSigningTime.Before(r.InvalidityDate)
}

// Errors of revocation checking, for errors.Is. Each is wrapped in an *Error
// naming the certificate and the responder or distribution point.
var (
	// ErrNoRevocationInfo: the certificate has no OCSP responder and no CRL
	// distribution point. A warning, not a failure.
	ErrNoRevocationInfo = errors.New("certificate names no OCSP responder and no CRL distribution point")
	// ErrUnreachable: the request failed, timed out or was answered with an
	// HTTP error status.
	ErrUnreachable = errors.New("revocation server unreachable")
	// ErrTimeout: the request did not complete within Checker.Timeout. It
	// wraps ErrUnreachable too.
	ErrTimeout = fmt.Errorf("%w: timed out", ErrUnreachable)
	// ErrTooLarge: the answer is larger than the limit for its kind.
	ErrTooLarge = errors.New("revocation data too large")
	// ErrInvalidResponse: the OCSP response or CRL is malformed, is not
	// signed by the certificate's issuer or an authorized responder, or uses
	// what this package does not support.
	ErrInvalidResponse = errors.New("invalid revocation data")
	// ErrUnknownToResponder: the OCSP responder answered "unknown": it does
	// not know the certificate.
	ErrUnknownToResponder = errors.New("OCSP responder does not know the certificate")
	// ErrWrongCertificate: the OCSP response is about another certificate.
	ErrWrongCertificate = fmt.Errorf("%w: response for another certificate", ErrInvalidResponse)
	// ErrStale: the data is not valid now (thisUpdate in the future, or
	// nextUpdate missing or past).
	ErrStale = errors.New("revocation data not current")
	// ErrUnsupportedURL: the responder or distribution point URL is not an
	// http or https URL.
	ErrUnsupportedURL = errors.New("unsupported revocation URL")
	// ErrNotInOfflineData: the offline data holds no valid answer for the
	// certificate.
	ErrNotInOfflineData = errors.New("no revocation data for the certificate in the offline data")
	// ErrInvalidChain: a certificate is not signed by the next one in the
	// chain, so no answer about it could be verified.
	ErrInvalidChain = errors.New("certificate not issued by the next certificate of the chain")
)

// Error is a revocation failure for one certificate at one responder or
// distribution point.
type Error struct {
	Subject string // the certificate's subject
	Method  Method
	URL     string // the responder or distribution point; empty when none
	Err     error
}

func (e *Error) Error() string {
	s := "revocation check of " + e.Subject
	if e.Method != "" {
		s += " via " + string(e.Method)
	}
	if e.URL != "" {
		s += " at " + e.URL
	}
	return s + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Defaults and limits.
const (
	// DefaultOCSPTimeout and DefaultCRLTimeout bound each request when
	// Checker.Timeout is zero: the Notary Project's defaults.
	DefaultOCSPTimeout = 2 * time.Second
	DefaultCRLTimeout  = 5 * time.Second
	// MaxOCSPResponseSize bounds an OCSP response body.
	MaxOCSPResponseSize = 20 << 10
	// MaxCRLSize bounds a CRL body.
	MaxCRLSize = 32 << 20
	// MaxClockSkew is how far in the future a thisUpdate may be.
	MaxClockSkew = 5 * time.Minute
)

// Checker checks revocation. The zero value is ready to use: network only,
// no cache, the default timeouts. A Checker is safe for concurrent use once
// set up, and must not be copied after its first use.
type Checker struct {
	// HTTPClient sends the requests; http.DefaultClient when nil. Keep one
	// per process to share connections.
	HTTPClient *http.Client
	// Timeout bounds each request (when zero, DefaultOCSPTimeout for OCSP
	// and DefaultCRLTimeout for CRLs).
	Timeout time.Duration
	// CacheDir, when set, keeps verified OCSP responses and CRLs until their
	// nextUpdate for later checks and runs. Every file is verified again
	// when read; a file that fails is ignored and replaced.
	CacheDir string
	// OfflineDir, when set, is the only source: data written there by Fetch
	// is used and no request is ever sent. CacheDir is then ignored.
	OfflineDir string
	// Now gives the current time (time.Now when nil).
	Now func() time.Time

	flight singleflight.Group
}

func (c *Checker) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Checker) client() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return http.DefaultClient
}

func (c *Checker) timeout(def time.Duration) time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return def
}

// Check returns the revocation status of every certificate of chain except
// the last, which is taken as the root: one Result per certificate, in chain
// order. The chain is leaf first, each certificate issued by the next one.
//
// Each certificate is checked with OCSP first and with the CRLs of its
// distribution points when no responder answers. All certificates are
// checked at once: with nothing cached the check costs one round trip to
// each certificate's OCSP responder; one more level only when OCSP gives no
// answer (the CRLs), when a base CRL names a delta CRL, or when a delegated
// responder without id-pkix-ocsp-nocheck must be checked against its CRL.
// With a warm cache it costs none.
//
// Check never decides trust: a caller enforcing revocation treats Revoked and
// Unknown as failures, and NotChecked as a warning.
func (c *Checker) Check(ctx context.Context, chain []*x509.Certificate) []Result {
	return c.check(ctx, chain, c.store())
}

// CheckChains checks several chains at once, such as a signature's chain and
// its timestamp authority's, so that all their certificates are checked in
// parallel: still one round-trip level. It returns Check's results for each
// chain, in order.
func (c *Checker) CheckChains(ctx context.Context, chains ...[]*x509.Certificate) [][]Result {
	results := make([][]Result, len(chains))
	var wg sync.WaitGroup
	for i, chain := range chains {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = c.Check(ctx, chain)
		}()
	}
	wg.Wait()
	return results
}

// DefaultCacheDir is where a user's revocation cache belongs: a folder of
// the user cache directory (os.UserCacheDir).
func DefaultCacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("revocation cache: %w", err)
	}
	return filepath.Join(dir, "nv2", "revocation"), nil
}

// Fetch gets, verifies and writes into dir the OCSP responses and CRLs that
// checking chain needs, so that a Checker with OfflineDir set to dir can
// check the chain later with no network. Valid data already in dir is kept.
// It returns the results as Check would, and an error joining the failures of
// the certificates whose status is Unknown.
func (c *Checker) Fetch(ctx context.Context, chain []*x509.Certificate, dir string) ([]Result, error) {
	if dir == "" {
		return nil, errors.New("revocation fetch: no directory given")
	}
	results := c.check(ctx, chain, &store{dir: dir, source: SourceCache, network: true, mustWrite: true})
	var errs []error
	for _, r := range results {
		if r.Status == Unknown {
			errs = append(errs, r.Err)
		}
	}
	return results, errors.Join(errs...)
}

func (c *Checker) store() *store {
	switch {
	case c.OfflineDir != "":
		return &store{dir: c.OfflineDir, source: SourceOffline}
	case c.CacheDir != "":
		return &store{dir: c.CacheDir, source: SourceCache, network: true}
	default:
		return &store{network: true}
	}
}

func (c *Checker) check(ctx context.Context, chain []*x509.Certificate, st *store) []Result {
	if len(chain) < 2 {
		return nil
	}
	results := make([]Result, len(chain)-1)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = c.checkOne(ctx, chain[i], chain[i+1], st)
		}()
	}
	wg.Wait()
	return results
}

// checkOne checks cert, issued by issuer: OCSP first, then the CRLs when OCSP
// gives no answer.
func (c *Checker) checkOne(ctx context.Context, cert, issuer *x509.Certificate, st *store) Result {
	if cert == nil || issuer == nil {
		return Result{Cert: cert, Status: Unknown, Err: &Error{Subject: "a missing certificate", Err: ErrInvalidChain}}
	}
	subject := cert.Subject.String()
	ocspURLs, crlURLs := cert.OCSPServer, cert.CRLDistributionPoints
	if len(ocspURLs) == 0 && len(crlURLs) == 0 {
		return Result{Cert: cert, Status: NotChecked, Err: &Error{Subject: subject, Err: ErrNoRevocationInfo}}
	}
	if err := cert.CheckSignatureFrom(issuer); err != nil {
		return Result{Cert: cert, Status: Unknown, Err: &Error{Subject: subject, Err: fmt.Errorf("%w: %v", ErrInvalidChain, err)}}
	}
	// A valid stored answer, OCSP or CRL, costs no request.
	if st.dir != "" {
		if r, ok := c.fromStore(cert, issuer, ocspURLs, crlURLs, st); ok {
			return r
		}
		if st.network {
			// Already read and refused: fetch, then replace.
			st = &store{dir: st.dir, source: st.source, network: true, mustWrite: st.mustWrite, writeOnly: true}
		}
	}
	var errs []error
	for _, u := range ocspURLs {
		r, err := c.checkOCSP(ctx, cert, issuer, u, st)
		if err == nil {
			return r
		}
		errs = append(errs, &Error{Subject: subject, Method: MethodOCSP, URL: u, Err: err})
	}
	if len(crlURLs) > 0 {
		r, err := c.checkCRLs(ctx, cert, issuer, crlURLs, st)
		if err == nil {
			return r
		}
		errs = append(errs, err)
	}
	return Result{Cert: cert, Status: Unknown, Err: errors.Join(errs...)}
}

// fromStore answers from stored data only: an OCSP response from any
// responder, or else a CRL from any distribution point.
func (c *Checker) fromStore(cert, issuer *x509.Certificate, ocspURLs, crlURLs []string, st *store) (Result, bool) {
	offline := &store{dir: st.dir, source: st.source}
	for _, u := range ocspURLs {
		if r, err := c.checkOCSP(context.Background(), cert, issuer, u, offline); err == nil {
			return r, true
		}
	}
	if len(crlURLs) > 0 {
		if r, err := c.checkCRLs(context.Background(), cert, issuer, crlURLs, offline); err == nil {
			return r, true
		}
	}
	return Result{}, false
}
