package timestamp_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"math/big"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/notaryproject/tspclient-go"
	"github.com/notaryproject/tspclient-go/pki"

	"github.com/nv2-signing/nv2/internal/testtsa"
	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/timestamp"
)

// A token from the real TSA verifies against its root, stamps the signature
// value, and its time lies between the moments before and after the request.
func TestRequestAndVerify(t *testing.T) {
	tsa := testtsa.New(t)
	for _, hash := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		t.Run(hash.String(), func(t *testing.T) {
			before := time.Now().Truncate(time.Second)
			token, err := timestamp.Request(context.Background(), nil, tsa.URL, signatureValue, hash)
			if err != nil {
				t.Fatalf("Request: %v", err)
			}
			after := time.Now()
			ts, err := timestamp.Verify(token, signatureValue, []*x509.Certificate{tsa.Root()})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			earliest, latest := ts.Range()
			if ts.Time.Before(before) || ts.Time.After(after) {
				t.Errorf("stamped at %s, not between %s and %s", ts.Time, before, after)
			}
			if latest.Sub(earliest) != 2*ts.Accuracy || ts.Accuracy != time.Second {
				t.Errorf("range %s..%s with accuracy %s; sigstore's TSA states 1s", earliest, latest, ts.Accuracy)
			}
			if ts.Hash != hash {
				t.Errorf("imprint hash = %v, want %v", ts.Hash, hash)
			}
			if len(ts.TSAChain) != 3 || !ts.TSAChain[0].Equal(tsa.Leaf()) || !ts.TSAChain[2].Equal(tsa.Root()) {
				t.Errorf("TSA chain = %d certificates, want the TSA's leaf, intermediate and root", len(ts.TSAChain))
			}
		})
	}
}

// Verify refuses each way a token can fail to prove when a signature existed.
func TestVerifyRefuses(t *testing.T) {
	tsa := testtsa.New(t)
	token := stamp(t, tsa, signatureValue)
	roots := []*x509.Certificate{tsa.Root()}
	otherCA := newPKI(t, nil).root

	nonCritical := newPKI(t, ekuExtension(t, false, oidTimeStamping))
	codeSigning := newPKI(t, ekuExtension(t, true, oidCodeSigning))
	extraPurpose := newPKI(t, ekuExtension(t, true, oidTimeStamping, oidCodeSigning))
	goodSelfMade := newPKI(t, ekuExtension(t, true, oidTimeStamping))
	enciphers := newPKIWithKeyUsage(t, ekuExtension(t, true, oidTimeStamping), x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment)

	tampered := append([]byte(nil), token...)
	tampered[len(tampered)-1] ^= 0x01 // inside the TSA's signature, the last field

	cases := []struct {
		name    string
		token   []byte
		message []byte
		roots   []*x509.Certificate
		want    error
	}{
		{"untrusted root", token, signatureValue, []*x509.Certificate{otherCA}, timestamp.ErrUntrusted},
		{"no trusted roots", token, signatureValue, nil, timestamp.ErrUntrusted},
		{"token over another signature", token, []byte("another signature value"), roots, timestamp.ErrImprintMismatch},
		{"signature of the token changed", tampered, signatureValue, roots, timestamp.ErrInvalidSignature},
		{"token too large", make([]byte, timestamp.MaxTokenSize+1), signatureValue, roots, timestamp.ErrTooLarge},
		{"empty token", nil, signatureValue, roots, timestamp.ErrMalformed},
		{"not DER", []byte("not a token"), signatureValue, roots, timestamp.ErrMalformed},
		{"truncated token", token[:len(token)/2], signatureValue, roots, timestamp.ErrMalformed},
		{"a signed response, not a token", append([]byte{0x30, 0x03, 0x02, 0x01, 0x00}, token...), signatureValue, roots, timestamp.ErrMalformed},
		{"timeStamping purpose not critical", selfMadeToken(t, nonCritical, signatureValue), signatureValue, []*x509.Certificate{nonCritical.root}, timestamp.ErrNotTimestamping},
		{"code-signing certificate", selfMadeToken(t, codeSigning, signatureValue), signatureValue, []*x509.Certificate{codeSigning.root}, timestamp.ErrNotTimestamping},
		{"timeStamping and another purpose", selfMadeToken(t, extraPurpose, signatureValue), signatureValue, []*x509.Certificate{extraPurpose.root}, timestamp.ErrNotTimestamping},
		{"TSA certificate may also encipher keys", selfMadeToken(t, enciphers, signatureValue), signatureValue, []*x509.Certificate{enciphers.root}, timestamp.ErrTSACertificate},
		{"time before the TSA certificate existed", selfMadeTokenAt(t, goodSelfMade, signatureValue, time.Now().Add(-48*time.Hour)), signatureValue, []*x509.Certificate{goodSelfMade.root}, timestamp.ErrUntrusted},
		{"self-made token, root not trusted", selfMadeToken(t, goodSelfMade, signatureValue), signatureValue, roots, timestamp.ErrUntrusted},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts, err := timestamp.Verify(tc.token, tc.message, tc.roots)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, %v; want %v", ts, err, tc.want)
			}
		})
	}

	// The self-made token with a proper TSA certificate passes against its
	// own root: the cases above fail for the reason they name.
	if _, err := timestamp.Verify(selfMadeToken(t, goodSelfMade, signatureValue), signatureValue, []*x509.Certificate{goodSelfMade.root}); err != nil {
		t.Errorf("a well-made token: %v", err)
	}
}

// A token of one TSA is refused by a verifier that trusts only another.
func TestTokenFromAnotherTSA(t *testing.T) {
	first := testtsa.New(t)
	token := stamp(t, first, signatureValue)
	first.Close()
	second := testtsa.New(t)
	_, err := timestamp.Verify(token, signatureValue, []*x509.Certificate{second.Root()})
	if !errors.Is(err, timestamp.ErrUntrusted) {
		t.Fatalf("Verify = %v; want %v", err, timestamp.ErrUntrusted)
	}
	if _, err := timestamp.Verify(token, signatureValue, []*x509.Certificate{second.Root(), first.Root()}); err != nil {
		t.Errorf("with the first TSA's root trusted too: %v", err)
	}
}

// Request refuses answers that do not come from a working TSA or do not
// answer its request.
func TestRequestRefuses(t *testing.T) {
	tsa := testtsa.New(t)
	rejection, err := (&tspclient.Response{Status: pki.StatusInfo{Status: pki.StatusRejection, FailInfo: asn1.BitString{Bytes: []byte{0x80}, BitLength: 1}}}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		url    string
		want   error
		status int // the RequestError's status, when the error is one
	}{
		{"not found", tsa.BaseURL + "/api/v1/nothing", timestamp.ErrHTTPStatus, http.StatusNotFound},
		{"server error", answer(t, http.StatusInternalServerError, []byte("broken")), timestamp.ErrHTTPStatus, http.StatusInternalServerError},
		{"rejected", answer(t, http.StatusOK, rejection), timestamp.ErrRejected, 0},
		{"not RFC 3161", answer(t, http.StatusCreated, []byte("<html>hello</html>")), timestamp.ErrMalformed, 0},
		{"too large", proxy(t, tsa, 0, timestamp.MaxResponseSize, nil), timestamp.ErrTooLarge, 0},
		{"data after the response", proxy(t, tsa, 0, 1, nil), timestamp.ErrMalformed, 0},
		{"another nonce", proxy(t, tsa, 0, 0, func(r *tspclient.Request) { r.Nonce = new(big.Int).Add(r.Nonce, big.NewInt(1)) }), timestamp.ErrNonceMismatch, 0},
		{"no nonce", proxy(t, tsa, 0, 0, func(r *tspclient.Request) { r.Nonce = nil }), timestamp.ErrNonceMismatch, 0},
		{"another message", proxy(t, tsa, 0, 0, func(r *tspclient.Request) { r.MessageImprint.HashedMessage = sha256Sum([]byte("another signature")) }), timestamp.ErrImprintMismatch, 0},
		{"no certificate", proxy(t, tsa, 0, 0, func(r *tspclient.Request) { r.CertReq = false }), timestamp.ErrMalformed, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			token, err := timestamp.Request(context.Background(), nil, tc.url, signatureValue, crypto.SHA256)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Request = %d bytes, %v; want %v", len(token), err, tc.want)
			}
			var re *timestamp.RequestError
			if errors.As(err, &re) != (tc.status != 0) || (re != nil && re.StatusCode != tc.status) {
				t.Errorf("RequestError = %+v; want status %d", re, tc.status)
			}
		})
	}

	// A TSA that answers 200 OK (the RFC 3161 norm) works as well as 201.
	if _, err := timestamp.Request(context.Background(), nil, proxy(t, tsa, http.StatusOK, 0, nil), signatureValue, crypto.SHA256); err != nil {
		t.Errorf("200 OK: %v", err)
	}
	if _, err := timestamp.Request(context.Background(), nil, tsa.URL, signatureValue, crypto.SHA1); !errors.Is(err, timestamp.ErrUnsupportedHash) {
		t.Errorf("SHA-1: %v; want %v", err, timestamp.ErrUnsupportedHash)
	}
}

// A TSA that is down is reported as unreachable, with the cause.
func TestTSADown(t *testing.T) {
	tsa := testtsa.New(t)
	url := tsa.URL
	tsa.Close()
	_, err := timestamp.Request(context.Background(), nil, url, signatureValue, crypto.SHA256)
	var re *timestamp.RequestError
	if !errors.As(err, &re) || !errors.Is(err, timestamp.ErrUnreachable) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("Request = %v; want a RequestError for a refused connection", err)
	}
	if re.URL != url || re.StatusCode != 0 || !strings.Contains(err.Error(), url) {
		t.Errorf("error %q does not name %s", err, url)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := timestamp.Request(ctx, nil, url, signatureValue, crypto.SHA256); !errors.Is(err, timestamp.ErrUnreachable) || !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
	if _, err := timestamp.Request(context.Background(), nil, "ftp://127.0.0.1/", signatureValue, crypto.SHA256); !errors.Is(err, timestamp.ErrUnreachable) {
		t.Errorf("ftp URL: %v", err)
	}
}

// A Client hands out only tokens that verify against its roots.
func TestClient(t *testing.T) {
	tsa := testtsa.New(t)
	good := &timestamp.Client{URL: tsa.URL, Roots: []*x509.Certificate{tsa.Root()}}
	token, err := good.Timestamp(context.Background(), signatureValue, crypto.SHA384)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := timestamp.Verify(token, signatureValue, good.Roots); err != nil {
		t.Error(err)
	}
	wrongRoot := &timestamp.Client{URL: tsa.URL, Roots: []*x509.Certificate{newPKI(t, nil).root}}
	if _, err := wrongRoot.Timestamp(context.Background(), signatureValue, crypto.SHA256); !errors.Is(err, timestamp.ErrUntrusted) {
		t.Errorf("TSA not in the roots: %v; want %v", err, timestamp.ErrUntrusted)
	}
}

// The stamped time must lie within every certificate of the signing chain,
// accuracy included.
func TestWithin(t *testing.T) {
	tsa := testtsa.New(t)
	token := stamp(t, tsa, signatureValue)
	ts, err := timestamp.Verify(token, signatureValue, []*x509.Certificate{tsa.Root()})
	if err != nil {
		t.Fatal(err)
	}
	chain := func(notBefore time.Time, validity time.Duration) []*x509.Certificate {
		c, err := nvcrypto.Generate(nvcrypto.GenerateOptions{CommonName: "signer", CA: true, NotBefore: notBefore, Validity: validity})
		if err != nil {
			t.Fatal(err)
		}
		return c.Chain
	}
	cases := []struct {
		name  string
		chain []*x509.Certificate
		want  error
	}{
		{"valid around the stamp", chain(ts.Time.Add(-time.Hour), 2*time.Hour), nil},
		{"not yet valid", chain(ts.Time.Add(time.Hour), time.Hour), timestamp.ErrOutsideValidity},
		{"expired before", chain(ts.Time.Add(-2*time.Hour), time.Hour), timestamp.ErrOutsideValidity},
		{"valid from within the accuracy", chain(ts.Time, time.Hour), timestamp.ErrOutsideValidity},
		{"expires within the accuracy", chain(ts.Time.Add(-time.Hour), time.Hour), timestamp.ErrOutsideValidity},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := ts.Within(tc.chain); !errors.Is(err, tc.want) {
				t.Fatalf("Within = %v; want %v", err, tc.want)
			}
		})
	}

	// The bounds are inclusive: a range that exactly fills the validity passes.
	at := time.Now().UTC().Truncate(time.Second)
	exact := timestamp.Timestamp{Time: at, Accuracy: time.Second}
	if err := exact.Within(chain(at.Add(-time.Second), 2*time.Second)); err != nil {
		t.Errorf("range equal to the validity: %v", err)
	}
	if err := exact.Within(chain(at, 2*time.Second)); !errors.Is(err, timestamp.ErrOutsideValidity) {
		t.Errorf("range starting a second before the validity: %v", err)
	}
}
