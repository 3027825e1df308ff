package revocation

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
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
	crl, source, err := c.getCRL(ctx, issuer, dp, st)
	if err != nil {
		return Result{}, err
	}
	if err := checkScope(crl, cert, dp); err != nil {
		return Result{}, err
	}
	r := lookup(crl, cert)
	r.Responder, r.Source = dp, source
	return r, nil
}

// getCRL returns the verified CRL of issuer at dp. Concurrent requests for
// the same CRL (certificates of one issuer) share one download.
func (c *Checker) getCRL(ctx context.Context, issuer *x509.Certificate, dp string, st *store) (*x509.RevocationList, Source, error) {
	key := crlKey(issuer, dp)
	var storeErr error
	if der, ok := st.read(key); ok {
		crl, err := verifyCRL(der, issuer, c.now())
		if err == nil {
			return crl, st.source, nil
		}
		storeErr = err
	}
	if !st.network {
		if storeErr != nil {
			return nil, "", fmt.Errorf("%w: %w", ErrNotInOfflineData, storeErr)
		}
		return nil, "", ErrNotInOfflineData
	}
	v, err, _ := c.flight.Do(st.dir+"\x00"+key, func() (any, error) {
		der, err := c.do(ctx, http.MethodGet, dp, "", nil, MaxCRLSize, c.timeout(DefaultCRLTimeout))
		if err != nil {
			return nil, err
		}
		crl, err := verifyCRL(der, issuer, c.now())
		if err != nil {
			return nil, err
		}
		if err := st.write(key, der); err != nil {
			return nil, err
		}
		return crl, nil
	})
	if err != nil {
		return nil, "", err
	}
	return v.(*x509.RevocationList), SourceNetwork, nil
}

// verifyCRL parses a CRL and checks it (RFC 5280 section 6.3.3): issued and
// signed by issuer, current at now with a nextUpdate, a complete CRL (not a
// delta), and no critical extension this package cannot process.
func verifyCRL(der []byte, issuer *x509.Certificate, now time.Time) (*x509.RevocationList, error) {
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
	if err := checkCurrent(crl.ThisUpdate, crl.NextUpdate, now); err != nil {
		return nil, err
	}
	for _, ext := range crl.Extensions {
		switch {
		case ext.Id.Equal(oidDeltaCRLIndicator):
			return nil, fmt.Errorf("%w: a delta CRL, not a complete one", ErrInvalidResponse)
		case ext.Id.Equal(oidIssuingDistributionPoint), ext.Id.Equal(oidCRLNumber), ext.Id.Equal(oidAuthorityKeyID):
		case ext.Critical:
			return nil, fmt.Errorf("%w: unsupported critical CRL extension %v", ErrInvalidResponse, ext.Id)
		}
	}
	for _, entry := range crl.RevokedCertificateEntries {
		for _, ext := range entry.Extensions {
			if ext.Critical {
				return nil, fmt.Errorf("%w: unsupported critical CRL entry extension %v", ErrInvalidResponse, ext.Id)
			}
		}
	}
	return crl, nil
}

// issuingDistributionPoint is RFC 5280 section 5.2.5's extension, which
// limits what a CRL covers.
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
		if names := idpURIs(idp); len(names) > 0 {
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

// idpURIs returns the URIs of the fullName of an issuing distribution point.
func idpURIs(idp issuingDistributionPoint) []string {
	name := idp.DistributionPoint
	if name.Class != asn1.ClassContextSpecific || name.Tag != 0 { // fullName
		return nil
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

// lookup returns cert's status in a verified CRL. An entry on hold
// (certificateHold) counts as revoked; removeFromCRL entries are not.
func lookup(crl *x509.RevocationList, cert *x509.Certificate) Result {
	for _, entry := range crl.RevokedCertificateEntries {
		if entry.SerialNumber == nil || entry.SerialNumber.Cmp(cert.SerialNumber) != 0 || entry.ReasonCode == reasonRemoveFromCRL {
			continue
		}
		return Result{Cert: cert, Status: Revoked, Method: MethodCRL, RevokedAt: entry.RevocationTime, Reason: entry.ReasonCode,
			InvalidityDate: invalidityDate(entry.Extensions)}
	}
	return Result{Cert: cert, Status: Good, Method: MethodCRL}
}
