package timestamp_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	digitorus "github.com/digitorus/timestamp"
	"github.com/notaryproject/tspclient-go"

	"github.com/nv2-signing/nv2/internal/testtsa"
	"github.com/nv2-signing/nv2/pkg/timestamp"
)

// signatureValue stands for the value of an envelope's "signature" member,
// the message nv2 has stamped.
var signatureValue = []byte("the JWS signature value of an envelope")

// stamp asks tsa for a token over message.
func stamp(t testing.TB, tsa *testtsa.TSA, message []byte) []byte {
	t.Helper()
	token, err := timestamp.Request(context.Background(), nil, tsa.URL, message, crypto.SHA256)
	if err != nil {
		t.Fatalf("Request: %v", err)
	}
	return token
}

// serve runs h on a loopback port for the test.
func serve(t testing.TB, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

// proxy forwards RFC 3161 requests to the real TSA after change rewrote
// them, and answers with status (0: the TSA's own) and pad zero bytes after
// the TSA's answer, so that the client gets a genuine token that answers
// another request than its own.
func proxy(t testing.TB, tsa *testtsa.TSA, status, pad int, change func(*tspclient.Request)) string {
	return serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req tspclient.Request
		if err := req.UnmarshalBinary(body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if change != nil {
			change(&req)
		}
		der, err := req.MarshalBinary()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		resp, err := http.Post(tsa.URL, timestamp.MediaTypeQuery, bytes.NewReader(der))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		answer, _ := io.ReadAll(resp.Body)
		if status == 0 {
			status = resp.StatusCode
		}
		w.Header().Set("Content-Type", timestamp.MediaTypeReply)
		w.WriteHeader(status)
		w.Write(answer)
		w.Write(make([]byte, pad))
	}))
}

// answer serves body with status to every request.
func answer(t testing.TB, status int, body []byte) string {
	return serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", timestamp.MediaTypeReply)
		w.WriteHeader(status)
		w.Write(body)
	}))
}

// testPKI is a CA and a certificate it issued, for tokens the real TSA would
// never make.
type testPKI struct {
	root, leaf *x509.Certificate
	leafKey    crypto.Signer
}

// newPKI makes a root CA and a leaf with the given extended key usage
// extension (nil: none) and key usage digitalSignature.
func newPKI(t testing.TB, eku *pkix.Extension) testPKI {
	return newPKIWithKeyUsage(t, eku, x509.KeyUsageDigitalSignature)
}

// newPKIWithKeyUsage makes a root CA and a leaf with the given extended key
// usage extension and key usage.
func newPKIWithKeyUsage(t testing.TB, eku *pkix.Extension, ku x509.KeyUsage) testPKI {
	t.Helper()
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	rootTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test TSA root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, rootKey.Public(), rootKey)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := x509.ParseCertificate(rootDER)
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "test TSA leaf"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: ku,
	}
	if eku != nil {
		leafTmpl.ExtraExtensions = []pkix.Extension{*eku}
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, root, leafKey.Public(), rootKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(leafDER)
	if err != nil {
		t.Fatal(err)
	}
	return testPKI{root: root, leaf: leaf, leafKey: leafKey}
}

// ekuExtension encodes an extended key usage extension.
func ekuExtension(t testing.TB, critical bool, usages ...asn1.ObjectIdentifier) *pkix.Extension {
	t.Helper()
	v, err := asn1.Marshal(usages)
	if err != nil {
		t.Fatal(err)
	}
	return &pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: critical, Value: v}
}

var (
	oidTimeStamping = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}
	oidCodeSigning  = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 3}
)

// selfMadeToken is a token over message signed by p's leaf, made now with
// the RFC 3161 library sigstore's TSA uses.
func selfMadeToken(t testing.TB, p testPKI, message []byte) []byte {
	t.Helper()
	return selfMadeTokenAt(t, p, message, time.Now())
}

// selfMadeTokenAt is a token whose genTime claims at.
func selfMadeTokenAt(t testing.TB, p testPKI, message []byte, at time.Time) []byte {
	t.Helper()
	h := sha256Sum(message)
	ts := digitorus.Timestamp{
		HashAlgorithm: crypto.SHA256, HashedMessage: h, Time: at.UTC(),
		Policy: asn1.ObjectIdentifier{1, 2, 3}, AddTSACertificate: true, Nonce: big.NewInt(1),
	}
	der, err := ts.CreateResponseWithOpts(p.leaf, p.leafKey, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	var resp tspclient.Response
	if err := resp.UnmarshalBinary(der); err != nil {
		t.Fatal(err)
	}
	return resp.TimestampToken.FullBytes
}

func sha256Sum(b []byte) []byte {
	h := crypto.SHA256.New()
	h.Write(b)
	return h.Sum(nil)
}
