package revocation

import (
	"bytes"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"sync"
	"time"
)

// CRL reason codes of RFC 5280 section 5.3.1 that change how an entry reads.
const (
	reasonCertificateHold = 6
	reasonRemoveFromCRL   = 8
)

var (
	oidIssuingDistributionPoint = asn1.ObjectIdentifier{2, 5, 29, 28}
	oidDeltaCRLIndicator        = asn1.ObjectIdentifier{2, 5, 29, 27}
	oidCRLNumber                = asn1.ObjectIdentifier{2, 5, 29, 20}
	oidAuthorityKeyID           = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidFreshestCRL              = asn1.ObjectIdentifier{2, 5, 29, 46}
)

// checkCRLs reads the CRL of every distribution point of cert at once (the
// Notary Project tries them in order until one answers; reading them
// together costs one round-trip level). The certificate is revoked when a
// valid CRL lists it, good when at least one valid CRL was read and none
// does, unknown when none could be read.
func (c *Checker) checkCRLs(ctx context.Context, cert, issuer *x509.Certificate, urls []string, st *store) (Result, error) {
	results := make([]Result, len(urls))
	errs := make([]error, len(urls))
	var wg sync.WaitGroup
	for i, u := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = c.checkCRL(ctx, cert, issuer, u, st)
			if errs[i] != nil {
				errs[i] = &Error{Subject: cert.Subject.String(), Method: MethodCRL, URL: u, Err: errs[i]}
			}
		}()
	}
	wg.Wait()
	var good *Result
	for i, r := range results {
		switch {
		case errs[i] != nil:
		case r.Status == Revoked:
			return r, nil
		case good == nil:
			good = &results[i]
		}
	}
	if good == nil {
		return Result{}, errors.Join(errs...)
	}
	return *good, nil
}

// checkCRL reads the CRL at one distribution point, from the store or the
// network, and looks cert up in it.
func (c *Checker) checkCRL(ctx context.Context, cert, issuer *x509.Certificate, dp string, st *store) (Result, error) {
	if err := checkURL(dp); err != nil {
		return Result{}, err
	}
	base, source, err := c.getCRL(ctx, issuer, dp, st, false)
	if err != nil {
		return staleRevocation(base, cert, dp, source, err)
	}
	if err := checkScope(base, cert, dp); err != nil {
		return Result{}, err
	}
	urls, err := freshestCRLURLs(base.Extensions, cert.Extensions)
	if err != nil {
		return Result{}, err
	}
	var delta *x509.RevocationList
	if len(urls) > 0 {
		if delta, err = c.getDelta(ctx, issuer, base, urls, st); err != nil {
			return Result{}, err
		}
	}
	r := lookup(base, delta, cert)
	r.Responder, r.Source = dp, source
	return r, nil
}

// staleRevocation reads a CRL past its nextUpdate, whose signature is valid:
// it still proves that a certificate listed for any reason but
// certificateHold is revoked (the Notary Project's trust policy
// specification, "Revocation Checking with CRL"). Anything else is err.
func staleRevocation(crl *x509.RevocationList, cert *x509.Certificate, dp string, source Source, err error) (Result, error) {
	if crl == nil || !errors.Is(err, ErrStale) || checkScope(crl, cert, dp) != nil {
		return Result{}, err
	}
	r := lookup(crl, nil, cert)
	if r.Status != Revoked || r.Reason == reasonCertificateHold {
		return Result{}, err
	}
	r.Responder, r.Source = dp, source
	return r, nil
}

// getDelta returns the first delta CRL of urls that verifies and applies to
// base (RFC 5280 section 5.2.4): newer than base, and for a base no newer
// than it. Without one the status cannot be determined.
func (c *Checker) getDelta(ctx context.Context, issuer *x509.Certificate, base *x509.RevocationList, urls []string, st *store) (*x509.RevocationList, error) {
	var errs []error
	for _, u := range urls {
		err := checkURL(u)
		var delta *x509.RevocationList
		if err == nil {
			delta, _, err = c.getCRL(ctx, issuer, u, st, true)
		}
		if err == nil {
			err = checkDelta(base, delta)
		}
		if err == nil {
			return delta, nil
		}
		errs = append(errs, fmt.Errorf("delta CRL at %s: %w", u, err))
	}
	return nil, errors.Join(errs...)
}

// checkDelta: the delta CRL is newer than base and applies to it.
func checkDelta(base, delta *x509.RevocationList) error {
	baseNumber, err := deltaIndicator(delta)
	switch {
	case err != nil:
		return err
	case base.Number == nil || delta.Number == nil:
		return fmt.Errorf("%w: a CRL without a CRL number", ErrInvalidResponse)
	case delta.Number.Cmp(base.Number) <= 0:
		return fmt.Errorf("%w: delta CRL number %v is not after the base CRL's %v", ErrInvalidResponse, delta.Number, base.Number)
	case baseNumber.Cmp(base.Number) > 0:
		return fmt.Errorf("%w: delta CRL for base CRL %v, newer than the base CRL read (%v)", ErrInvalidResponse, baseNumber, base.Number)
	}
	return nil
}

// deltaIndicator returns the BaseCRLNumber of a delta CRL's indicator.
func deltaIndicator(crl *x509.RevocationList) (*big.Int, error) {
	for _, ext := range crl.Extensions {
		if ext.Id.Equal(oidDeltaCRLIndicator) {
			n := new(big.Int)
			if rest, err := asn1.Unmarshal(ext.Value, &n); err != nil || len(rest) > 0 {
				return nil, fmt.Errorf("%w: malformed delta CRL indicator", ErrInvalidResponse)
			}
			return n, nil
		}
	}
	return nil, fmt.Errorf("%w: not a delta CRL", ErrInvalidResponse)
}

// distributionPoint is RFC 5280's DistributionPoint, the element of the
// freshestCRL extension. encoding/asn1 keeps an explicitly tagged RawValue
// whole: Name is the [0] element around the DistributionPointName.
type distributionPoint struct {
	Name      asn1.RawValue  `asn1:"optional,explicit,tag:0"`
	Reasons   asn1.BitString `asn1:"optional,tag:1"`
	CRLIssuer asn1.RawValue  `asn1:"optional,tag:2"`
}

// freshestCRLURLs returns the delta CRL URLs of the first extension list
// holding a freshestCRL extension (RFC 5280 section 5.2.6): the base CRL's,
// else the certificate's.
func freshestCRLURLs(lists ...[]pkix.Extension) ([]string, error) {
	for _, exts := range lists {
		for _, ext := range exts {
			if !ext.Id.Equal(oidFreshestCRL) {
				continue
			}
			var dps []distributionPoint
			if rest, err := asn1.Unmarshal(ext.Value, &dps); err != nil || len(rest) > 0 {
				return nil, fmt.Errorf("%w: malformed freshest CRL extension", ErrInvalidResponse)
			}
			var urls []string
			for _, dp := range dps {
				urls = append(urls, fullNameURIs(dp.Name)...)
			}
			return urls, nil
		}
	}
	return nil, nil
}

// getCRL returns the verified CRL of issuer at dp. Concurrent requests for
// the same CRL (certificates of one issuer) share one download.
func (c *Checker) getCRL(ctx context.Context, issuer *x509.Certificate, dp string, st *store, delta bool) (*x509.RevocationList, Source, error) {
	key := crlKey(issuer, dp)
	var storeErr error
	var stale *x509.RevocationList
	if der, ok := st.read(key); ok {
		crl, err := verifyCRL(der, issuer, c.now(), delta)
		if err == nil {
			return crl, st.source, nil
		}
		storeErr, stale = err, crl
	}
	if !st.network {
		if storeErr != nil {
			return stale, st.source, fmt.Errorf("%w: %w", ErrNotInOfflineData, storeErr)
		}
		return nil, "", ErrNotInOfflineData
	}
	v, err, _ := c.flight.Do(st.dir+"\x00"+key, func() (any, error) {
		der, err := c.do(ctx, http.MethodGet, dp, "", nil, MaxCRLSize, c.timeout(DefaultCRLTimeout))
		if err != nil {
			return nil, err
		}
		crl, err := verifyCRL(der, issuer, c.now(), delta)
		if err != nil {
			return crl, err
		}
		if err := st.write(key, der); err != nil {
			return nil, err
		}
		return crl, nil
	})
	crl, _ := v.(*x509.RevocationList)
	return crl, SourceNetwork, err
}

// verifyCRL parses a CRL and checks it (RFC 5280 section 6.3.3): issued and
// signed by issuer, current at now with a nextUpdate, a complete CRL or, when
// delta is set, a delta CRL, and no critical extension this package cannot
// process. A CRL that passes every check but the dates is returned with the
// ErrStale error: it still proves a revocation.
func verifyCRL(der []byte, issuer *x509.Certificate, now time.Time, delta bool) (*x509.RevocationList, error) {
	if len(der) > MaxCRLSize {
		return nil, fmt.Errorf("%w: CRL of %d bytes", ErrTooLarge, len(der))
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidResponse, err)
	}
	if !bytes.Equal(crl.RawIssuer, issuer.RawSubject) {
		return nil, fmt.Errorf("%w: CRL issued by %s, not by %s", ErrInvalidResponse, crl.Issuer, issuer.Subject)
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		return nil, fmt.Errorf("%w: CRL not signed by %s: %v", ErrInvalidResponse, issuer.Subject, err)
	}
	for _, ext := range crl.Extensions {
		switch {
		case ext.Id.Equal(oidDeltaCRLIndicator):
			if !delta {
				return nil, fmt.Errorf("%w: a delta CRL where a complete one belongs", ErrInvalidResponse)
			}
		case ext.Id.Equal(oidIssuingDistributionPoint), ext.Id.Equal(oidCRLNumber), ext.Id.Equal(oidAuthorityKeyID), ext.Id.Equal(oidFreshestCRL):
		case ext.Critical:
			return nil, fmt.Errorf("%w: unsupported critical CRL extension %v", ErrInvalidResponse, ext.Id)
		}
	}
	if delta {
		if _, err := deltaIndicator(crl); err != nil {
			return nil, err
		}
	}
	for _, entry := range crl.RevokedCertificateEntries {
		for _, ext := range entry.Extensions {
			if ext.Critical {
				return nil, fmt.Errorf("%w: unsupported critical CRL entry extension %v", ErrInvalidResponse, ext.Id)
			}
		}
	}
	if err := checkCurrent(crl.ThisUpdate, crl.NextUpdate, now); err != nil {
		return crl, err
	}
	return crl, nil
}

// issuingDistributionPoint is RFC 5280 section 5.2.5's extension, which
// limits what a CRL covers. DistributionPoint is the whole [0] element, as
// in distributionPoint.
type issuingDistributionPoint struct {
	DistributionPoint          asn1.RawValue  `asn1:"optional,explicit,tag:0"`
	OnlyContainsUserCerts      bool           `asn1:"optional,tag:1"`
	OnlyContainsCACerts        bool           `asn1:"optional,tag:2"`
	OnlySomeReasons            asn1.BitString `asn1:"optional,tag:3"`
	IndirectCRL                bool           `asn1:"optional,tag:4"`
	OnlyContainsAttributeCerts bool           `asn1:"optional,tag:5"`
}

// checkScope refuses a CRL whose issuing distribution point says it does
// not cover cert, covers only some reasons, is indirect, or belongs to
// another distribution point than dp.
func checkScope(crl *x509.RevocationList, cert *x509.Certificate, dp string) error {
	for _, ext := range crl.Extensions {
		if !ext.Id.Equal(oidIssuingDistributionPoint) {
			continue
		}
		idp, err := parseIDP(ext.Value)
		if err != nil {
			return err
		}
		switch {
		case idp.OnlyContainsUserCerts && cert.IsCA, idp.OnlyContainsCACerts && !cert.IsCA, idp.OnlyContainsAttributeCerts:
			return fmt.Errorf("%w: the CRL does not cover this kind of certificate", ErrInvalidResponse)
		case idp.OnlySomeReasons.BitLength > 0:
			return fmt.Errorf("%w: a CRL partitioned by reason is not supported", ErrInvalidResponse)
		case idp.IndirectCRL:
			return fmt.Errorf("%w: an indirect CRL is not supported", ErrInvalidResponse)
		}
		if names := fullNameURIs(idp.DistributionPoint); len(names) > 0 {
			for _, n := range names {
				if n == dp {
					return nil
				}
			}
			return fmt.Errorf("%w: the CRL belongs to distribution point %v", ErrInvalidResponse, names)
		}
	}
	return nil
}

func parseIDP(value []byte) (issuingDistributionPoint, error) {
	var idp issuingDistributionPoint
	rest, err := asn1.Unmarshal(value, &idp)
	if err != nil || len(rest) > 0 {
		return idp, fmt.Errorf("%w: malformed issuing distribution point", ErrInvalidResponse)
	}
	return idp, nil
}

// fullNameURIs returns the URIs of a distributionPoint field ([0], holding a
// DistributionPointName) when it is a fullName ([0] GeneralNames).
func fullNameURIs(field asn1.RawValue) []string {
	if field.Class != asn1.ClassContextSpecific || field.Tag != 0 {
		return nil
	}
	var name asn1.RawValue
	if _, err := asn1.Unmarshal(field.Bytes, &name); err != nil || name.Class != asn1.ClassContextSpecific || name.Tag != 0 {
		return nil // absent, malformed, or nameRelativeToCRLIssuer
	}
	var uris []string
	for rest := name.Bytes; len(rest) > 0; {
		var gn asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &gn); err != nil {
			return uris
		}
		if gn.Class == asn1.ClassContextSpecific && gn.Tag == 6 { // uniformResourceIdentifier
			uris = append(uris, string(gn.Bytes))
		}
	}
	return uris
}

// lookup returns cert's status in a verified CRL and its delta CRL, if any.
// An entry on hold (certificateHold) counts as revoked; a removeFromCRL
// entry in the delta lifts a hold of the base.
func lookup(base, delta *x509.RevocationList, cert *x509.Certificate) Result {
	if delta != nil {
		if e := findEntry(delta, cert); e != nil {
			if e.ReasonCode == reasonRemoveFromCRL {
				return Result{Cert: cert, Status: Good, Method: MethodCRL}
			}
			return revokedBy(e, cert)
		}
	}
	if e := findEntry(base, cert); e != nil && e.ReasonCode != reasonRemoveFromCRL {
		return revokedBy(e, cert)
	}
	return Result{Cert: cert, Status: Good, Method: MethodCRL}
}

func findEntry(crl *x509.RevocationList, cert *x509.Certificate) *x509.RevocationListEntry {
	for i, entry := range crl.RevokedCertificateEntries {
		if entry.SerialNumber != nil && entry.SerialNumber.Cmp(cert.SerialNumber) == 0 {
			return &crl.RevokedCertificateEntries[i]
		}
	}
	return nil
}

func revokedBy(e *x509.RevocationListEntry, cert *x509.Certificate) Result {
	return Result{Cert: cert, Status: Revoked, Method: MethodCRL, RevokedAt: e.RevocationTime, Reason: e.ReasonCode,
		InvalidityDate: invalidityDate(e.Extensions)}
}
