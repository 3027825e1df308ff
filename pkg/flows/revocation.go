package flows

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/revocation"
	"github.com/nv2-signing/nv2/pkg/trust"
)

// RevocationOptions say how a verification checks the revocation of the
// signing certificates.
type RevocationOptions struct {
	// Action, when set, is what a failed check does: enforce, log or skip.
	// Only for certificates trusted directly: a trust policy decides it
	// with its level and override.
	Action string
	// Timeout bounds each OCSP or CRL request; zero keeps the defaults
	// (revocation.DefaultOCSPTimeout, revocation.DefaultCRLTimeout).
	Timeout time.Duration
	// OfflineDir, when set, is the only source of revocation data (as
	// FetchRevocationData writes it): no request is sent.
	OfflineDir string
	// CacheDir keeps OCSP responses and CRLs until their nextUpdate;
	// "" is the user cache (revocation.DefaultCacheDir).
	CacheDir string
}

// Checker makes the revocation checker the options describe. A user cache
// that cannot be located only leaves the checks uncached.
func (o RevocationOptions) Checker() *revocation.Checker {
	c := &revocation.Checker{Timeout: o.Timeout, OfflineDir: o.OfflineDir, CacheDir: o.CacheDir}
	if c.CacheDir == "" && c.OfflineDir == "" {
		c.CacheDir, _ = revocation.DefaultCacheDir()
	}
	return c
}

// setRevocation gives v the revocation checker and action opts describe.
func setRevocation(v *trust.Verifier, opts RevocationOptions, policy bool) error {
	if opts.Action != "" {
		if policy {
			return usagef("a trust policy decides the revocation check with its level and override: set \"revocation\" in the policy's override instead")
		}
		action, err := trust.ParseRevocationAction(opts.Action)
		if err != nil {
			return &UsageError{Err: err}
		}
		v.RevocationAction = action
	}
	v.Revocation = opts.Checker()
	return nil
}

// CheckRevocation checks the revocation of the chain of every intact
// signature of res (and of its Manifests), all at once, and records what it found in each
// signature's Revocation. It decides nothing: Inspect's signatures carry no
// verdict.
func CheckRevocation(ctx context.Context, checker *revocation.Checker, res *InspectResult) {
	var chains [][]*x509.Certificate
	var sigs []*InspectedSignature
	for _, r := range res.all() { // of an image index, its manifests' too
		for i := range r.Signatures {
			if s := &r.Signatures[i]; s.Envelope != nil {
				chains, sigs = append(chains, s.Envelope.Chain), append(sigs, s)
			}
		}
	}
	for i, results := range checker.CheckChains(ctx, chains...) {
		sigs[i].Revocation = results
	}
}

// FetchRevocationOptions say what revocation data to fetch, and where to.
type FetchRevocationOptions struct {
	// Artifacts are artifacts whose signatures' chains are checked.
	Artifacts []Location
	// CertFiles are PEM certificate chains, leaf first, ending at the root.
	CertFiles []string
	// Dir receives the data; a verification with
	// RevocationOptions.OfflineDir set to it needs no network.
	Dir string
	// Timeout bounds each request (zero: the defaults).
	Timeout time.Duration
}

// FetchedChain is the revocation data fetched for one chain.
type FetchedChain struct {
	// Source names the chain: REF@signature-digest, or the certificate file.
	Source  string
	Results []revocation.Result
	// Err joins the failures of the certificates whose data could not be
	// fetched (their status is unknown).
	Err error
}

// FetchRevocationData writes into opts.Dir the OCSP responses and CRLs that
// verifying opts.Artifacts (every signature of each) and checking the
// chains of opts.CertFiles need, so that a machine with no network can
// check them later. The chains are fetched at once. The error is nil when
// every certificate's data was fetched; otherwise it joins what failed, and
// the results say which.
func (c *Client) FetchRevocationData(ctx context.Context, opts FetchRevocationOptions) ([]FetchedChain, error) {
	if opts.Dir == "" {
		return nil, usagef("no directory given for the revocation data")
	}
	var chains []FetchedChain
	var certs [][]*x509.Certificate
	for _, f := range opts.CertFiles {
		chain, err := nvcrypto.LoadCertificates(f)
		if err != nil {
			return nil, &FileError{Role: RoleCertificate, Path: f, Err: err}
		}
		chains, certs = append(chains, FetchedChain{Source: f}), append(certs, chain)
	}
	for _, loc := range opts.Artifacts {
		found, err := c.Inspect(ctx, loc)
		if err != nil {
			return nil, err
		}
		for _, s := range found.Signatures {
			if s.Envelope == nil {
				continue // not intact: no verification will accept it
			}
			chains = append(chains, FetchedChain{Source: found.Reference + " signature " + s.Descriptor.Digest.String()})
			certs = append(certs, s.Envelope.Chain)
		}
	}
	checker := &revocation.Checker{Timeout: opts.Timeout}
	done := make(chan struct{})
	for i := range chains {
		go func() {
			defer func() { done <- struct{}{} }()
			chains[i].Results, chains[i].Err = checker.Fetch(ctx, certs[i], opts.Dir)
		}()
	}
	var errs []error
	for range chains {
		<-done
	}
	for _, ch := range chains {
		if ch.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ch.Source, ch.Err))
		}
	}
	return chains, errors.Join(errs...)
}
