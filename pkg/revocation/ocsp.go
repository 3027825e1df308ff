package revocation

import (
	"bytes"
	"context"
	"crypto"
	_ "crypto/sha1" // CertID hashes (RFC 5019 section 2.1.1), not signatures
	_ "crypto/sha256"
	_ "crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"
)

// maxGETLength is the longest URL-encoded request sent with GET (RFC 5019
// section 5 recommends GET under 255 bytes); longer ones are POSTed. A
// variable for the tests.
var maxGETLength = 255

// checkOCSP asks one responder about cert, reusing a valid stored answer.
func (c *Checker) checkOCSP(ctx context.Context, cert, issuer *x509.Certificate, responder string, st *store) (Result, error) {
	if err := checkURL(responder); err != nil {
		return Result{}, err
	}
	key := ocspKey(cert, issuer, responder)
	var storeErr error
	if der, ok := st.read(key); ok {
		r, err := c.verifyOCSPFully(ctx, der, cert, issuer, st)
		if err == nil {
			r.Responder, r.Source = responder, st.source
			return r, nil
		}
		storeErr = err
	}
	if !st.network {
		if storeErr != nil {
			return Result{}, fmt.Errorf("%w: %w", ErrNotInOfflineData, storeErr)
		}
		return Result{}, ErrNotInOfflineData
	}
	der, err := c.fetchOCSP(ctx, cert, issuer, responder)
	if err != nil {
		return Result{}, err
	}
	r, err := c.verifyOCSPFully(ctx, der, cert, issuer, st)
	if err != nil {
		return Result{}, err
	}
	if err := st.write(key, der); err != nil {
		return Result{}, err
	}
	r.Responder, r.Source = responder, SourceNetwork
	return r, nil
}

// fetchOCSP sends the request for cert to responder: GET when short enough,
// POST otherwise (RFC 6960 appendix A.1).
func (c *Checker) fetchOCSP(ctx context.Context, cert, issuer *x509.Certificate, responder string) ([]byte, error) {
	// The CertID hash is SHA-1, as RFC 5019 requires and most public
	// responders accept only; it identifies the certificate, the response
	// signature is checked separately.
	req, err := ocsp.CreateRequest(cert, issuer, &ocsp.RequestOptions{Hash: crypto.SHA1})
	if err != nil {
		return nil, fmt.Errorf("%w: building the request: %v", ErrInvalidResponse, err)
	}
	enc := url.QueryEscape(base64.StdEncoding.EncodeToString(req))
	if len(enc) <= maxGETLength {
		target := responder
		if !strings.HasSuffix(target, "/") {
			target += "/"
		}
		return c.do(ctx, http.MethodGet, target+enc, "", nil, MaxOCSPResponseSize, c.timeout(DefaultOCSPTimeout))
	}
	return c.do(ctx, http.MethodPost, responder, "application/ocsp-request", req, MaxOCSPResponseSize, c.timeout(DefaultOCSPTimeout))
}

// verifyOCSPFully is verifyOCSP, then the revocation check of a delegated
// responder certificate without id-pkix-ocsp-nocheck: with the CRLs of its
// distribution points, from the same store (the Notary Project's trust
// policy specification, "Revocation Checking with OCSP"). A responder that
// is revoked, or whose status is unknown, is not trusted.
func (c *Checker) verifyOCSPFully(ctx context.Context, der []byte, cert, issuer *x509.Certificate, st *store) (Result, error) {
	r, signer, err := parseOCSP(der, cert, issuer, c.now())
	if err != nil || signer == nil || hasExtension(signer, oidOCSPNoCheck) || len(signer.CRLDistributionPoints) == 0 {
		return r, err
	}
	sr, err := c.checkCRLs(ctx, signer, issuer, signer.CRLDistributionPoints, st)
	switch {
	case err != nil:
		return Result{}, fmt.Errorf("%w: revocation status of responder %s unknown: %w", ErrInvalidResponse, signer.Subject, err)
	case sr.Status == Revoked:
		return Result{}, fmt.Errorf("%w: responder certificate %s is revoked", ErrInvalidResponse, signer.Subject)
	}
	return r, nil
}

var oidOCSPNoCheck = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}

func hasExtension(cert *x509.Certificate, oid asn1.ObjectIdentifier) bool {
	for _, ext := range cert.Extensions {
		if ext.Id.Equal(oid) {
			return true
		}
	}
	return false
}

// verifyOCSP checks an OCSP response about cert (RFC 6960 section 3.2): it is
// about this very certificate of this issuer, signed by the issuer or by a
// responder certificate the issuer delegated with the OCSPSigning extended
// key usage, current at now, with a nextUpdate; and it says good or revoked.
func verifyOCSP(der []byte, cert, issuer *x509.Certificate, now time.Time) (Result, error) {
	r, _, err := parseOCSP(der, cert, issuer, now)
	return r, err
}

// parseOCSP is verifyOCSP, and also returns the delegated responder
// certificate that signed the response (nil when the issuer signed it).
func parseOCSP(der []byte, cert, issuer *x509.Certificate, now time.Time) (Result, *x509.Certificate, error) {
	if len(der) > MaxOCSPResponseSize {
		return Result{}, nil, fmt.Errorf("%w: OCSP response of %d bytes", ErrTooLarge, len(der))
	}
	if err := matchCertID(der, cert, issuer); err != nil {
		return Result{}, nil, err
	}
	// With no issuer, ParseResponseForCert checks the signature only against
	// an embedded certificate; the responder's authority is checked below.
	resp, err := ocsp.ParseResponseForCert(der, cert, nil)
	if err != nil {
		var rerr ocsp.ResponseError
		if errors.As(err, &rerr) {
			return Result{}, nil, fmt.Errorf("%w: responder status %v", ErrInvalidResponse, rerr.Status)
		}
		return Result{}, nil, fmt.Errorf("%w: %v", ErrInvalidResponse, err)
	}
	delegate, err := checkResponder(resp, issuer, now)
	if err != nil {
		return Result{}, nil, err
	}
	if err := checkCurrent(resp.ThisUpdate, resp.NextUpdate, now); err != nil {
		return Result{}, nil, err
	}
	r := Result{Cert: cert, Method: MethodOCSP}
	switch resp.Status {
	case ocsp.Good:
		r.Status = Good
	case ocsp.Revoked:
		r.Status, r.RevokedAt, r.Reason = Revoked, resp.RevokedAt, resp.RevocationReason
		r.InvalidityDate = invalidityDate(resp.Extensions)
	default:
		return Result{}, nil, ErrUnknownToResponder
	}
	return r, delegate, nil
}

// checkResponder: the response is signed by the issuer itself, or by a
// certificate the issuer signed for OCSP signing that is valid now, which it
// returns.
func checkResponder(resp *ocsp.Response, issuer *x509.Certificate, now time.Time) (*x509.Certificate, error) {
	signer := resp.Certificate
	if signer == nil {
		if err := resp.CheckSignatureFrom(issuer); err != nil {
			return nil, fmt.Errorf("%w: response not signed by the issuer %s: %v", ErrInvalidResponse, issuer.Subject, err)
		}
		return nil, nil
	}
	// The embedded certificate's signature over the response was checked
	// by ParseResponseForCert.
	if signer.Equal(issuer) {
		return nil, nil
	}
	if err := signer.CheckSignatureFrom(issuer); err != nil {
		return nil, fmt.Errorf("%w: responder %s not issued by %s: %v", ErrInvalidResponse, signer.Subject, issuer.Subject, err)
	}
	ocspSigning := false
	for _, u := range signer.ExtKeyUsage {
		ocspSigning = ocspSigning || u == x509.ExtKeyUsageOCSPSigning
	}
	if !ocspSigning {
		return nil, fmt.Errorf("%w: responder %s lacks the OCSPSigning extended key usage", ErrInvalidResponse, signer.Subject)
	}
	if now.Before(signer.NotBefore) || now.After(signer.NotAfter) {
		return nil, fmt.Errorf("%w: responder certificate %s not valid at %s", ErrInvalidResponse, signer.Subject, now.UTC().Format(time.RFC3339))
	}
	return signer, nil
}

// checkCurrent: thisUpdate is not in the future beyond MaxClockSkew, and a
// nextUpdate is given and not past.
func checkCurrent(thisUpdate, nextUpdate, now time.Time) error {
	if thisUpdate.After(now.Add(MaxClockSkew)) {
		return fmt.Errorf("%w: thisUpdate %s is in the future", ErrStale, thisUpdate.UTC().Format(time.RFC3339))
	}
	if nextUpdate.IsZero() {
		return fmt.Errorf("%w: no nextUpdate", ErrStale)
	}
	if now.After(nextUpdate) {
		return fmt.Errorf("%w: nextUpdate %s has passed", ErrStale, nextUpdate.UTC().Format(time.RFC3339))
	}
	return nil
}

// The parts of an OCSP response (RFC 6960 section 4.2.1) needed to read the
// CertID of each single response; the rest is parsed by x/crypto/ocsp.
type (
	ocspResponseASN1 struct {
		Status asn1.Enumerated
		Bytes  struct {
			Type     asn1.ObjectIdentifier
			Response []byte
		} `asn1:"explicit,tag:0,optional"`
	}
	basicResponseASN1 struct {
		TBS       responseDataASN1
		Algorithm pkix.AlgorithmIdentifier
		Signature asn1.BitString
		Certs     asn1.RawValue `asn1:"explicit,tag:0,optional"`
	}
	responseDataASN1 struct {
		Version     int `asn1:"optional,default:0,explicit,tag:0"`
		ResponderID asn1.RawValue
		ProducedAt  asn1.RawValue
		Responses   []singleResponseASN1
		Extensions  asn1.RawValue `asn1:"explicit,tag:1,optional"`
	}
	singleResponseASN1 struct {
		CertID     certIDASN1
		CertStatus asn1.RawValue
		ThisUpdate asn1.RawValue
		NextUpdate asn1.RawValue `asn1:"explicit,tag:0,optional"`
		Extensions asn1.RawValue `asn1:"explicit,tag:1,optional"`
	}
	certIDASN1 struct {
		HashAlgorithm  pkix.AlgorithmIdentifier
		IssuerNameHash []byte
		IssuerKeyHash  []byte
		SerialNumber   *big.Int
	}
)

var certIDHashes = []struct {
	oid  asn1.ObjectIdentifier
	hash crypto.Hash
}{
	{asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}, crypto.SHA1},
	{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}, crypto.SHA256},
	{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}, crypto.SHA384},
	{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}, crypto.SHA512},
}

// matchCertID checks that the single response x/crypto/ocsp reads for cert
// (the first with its serial number) names cert's issuer too: x/crypto/ocsp
// compares the serial number only.
func matchCertID(der []byte, cert, issuer *x509.Certificate) error {
	var resp ocspResponseASN1
	if _, err := asn1.Unmarshal(der, &resp); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidResponse, err)
	}
	if resp.Status != 0 {
		return fmt.Errorf("%w: responder status %v", ErrInvalidResponse, ocsp.ResponseStatus(resp.Status))
	}
	var basic basicResponseASN1
	if _, err := asn1.Unmarshal(resp.Bytes.Response, &basic); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidResponse, err)
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		Key       asn1.BitString
	}
	if _, err := asn1.Unmarshal(issuer.RawSubjectPublicKeyInfo, &spki); err != nil {
		return fmt.Errorf("%w: issuer key: %v", ErrInvalidResponse, err)
	}
	for _, single := range basic.TBS.Responses {
		id := single.CertID
		if id.SerialNumber == nil || id.SerialNumber.Cmp(cert.SerialNumber) != 0 {
			continue
		}
		h := crypto.Hash(0)
		for _, c := range certIDHashes {
			if id.HashAlgorithm.Algorithm.Equal(c.oid) {
				h = c.hash
			}
		}
		if h == 0 {
			return fmt.Errorf("%w: unsupported CertID hash %v", ErrInvalidResponse, id.HashAlgorithm.Algorithm)
		}
		if !bytes.Equal(id.IssuerNameHash, digest(h, issuer.RawSubject)) || !bytes.Equal(id.IssuerKeyHash, digest(h, spki.Key.RightAlign())) {
			return fmt.Errorf("%w: serial number %s of another issuer", ErrWrongCertificate, cert.SerialNumber.Text(16))
		}
		return nil
	}
	return fmt.Errorf("%w: no status for serial number %s", ErrWrongCertificate, cert.SerialNumber.Text(16))
}

var oidInvalidityDate = asn1.ObjectIdentifier{2, 5, 29, 24}

// invalidityDate reads the invalidityDate extension of an OCSP single
// response or CRL entry; zero when absent or malformed.
func invalidityDate(exts []pkix.Extension) time.Time {
	for _, ext := range exts {
		if ext.Id.Equal(oidInvalidityDate) {
			var t time.Time
			if rest, err := asn1.UnmarshalWithParams(ext.Value, &t, "generalized"); err == nil && len(rest) == 0 {
				return t
			}
		}
	}
	return time.Time{}
}

func digest(h crypto.Hash, data []byte) []byte {
	w := h.New()
	w.Write(data)
	return w.Sum(nil)
}
