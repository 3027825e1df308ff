package testtsa_test

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"

	"github.com/notaryproject/tspclient-go"

	"github.com/nv2-signing/nv2/internal/testtsa"
)

func TestTSA(t *testing.T) {
	tsa := testtsa.New(t)

	u, err := url.Parse(tsa.URL)
	if err != nil {
		t.Fatal(err)
	}
	if host, _, _ := net.SplitHostPort(u.Host); host != "127.0.0.1" || u.Path != testtsa.TimestampPath {
		t.Errorf("URL = %s, want http://127.0.0.1:PORT%s", tsa.URL, testtsa.TimestampPath)
	}

	leaf, intermediate, root := tsa.Chain[0], tsa.Chain[1], tsa.Chain[2]
	if len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageTimeStamping || leaf.IsCA {
		t.Errorf("leaf %q is not a timestamping end certificate", leaf.Subject)
	}
	if err := leaf.CheckSignatureFrom(intermediate); err != nil {
		t.Errorf("leaf not issued by the intermediate: %v", err)
	}
	if err := intermediate.CheckSignatureFrom(root); err != nil {
		t.Errorf("intermediate not issued by the root: %v", err)
	}
	if err := root.CheckSignatureFrom(root); err != nil || tsa.Root() != root {
		t.Errorf("root is not self-signed: %v", err)
	}

	// An RFC 3161 request is answered with 201 Created and a granted token.
	req, err := tspclient.NewRequest(tspclient.RequestOptions{Content: []byte("signature"), HashAlgorithm: crypto.SHA256})
	if err != nil {
		t.Fatal(err)
	}
	der, err := req.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(tsa.URL, "application/timestamp-query", bytes.NewReader(der))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status = %s: %s", resp.Status, body)
	}
	var tr tspclient.Response
	if err := tr.UnmarshalBinary(body); err != nil {
		t.Fatal(err)
	}
	if err := tr.Validate(req); err != nil {
		t.Errorf("response does not answer the request: %v", err)
	}
	token, err := tr.SignedToken()
	if err != nil {
		t.Fatal(err)
	}
	if len(token.Certificates) != 3 {
		t.Errorf("token carries %d certificates, want the whole chain", len(token.Certificates))
	}
}

func TestOneTSAPerProcess(t *testing.T) {
	first := testtsa.New(t)
	if _, err := testtsa.Start(); err == nil {
		t.Fatal("a second TSA started while the first runs; they would share one signer")
	}
	first.Close()
	if _, err := http.Get(first.BaseURL + "/ping"); err == nil {
		t.Error("a closed TSA still answers")
	}
	second := testtsa.New(t)
	if second.Root().Equal(first.Root()) {
		t.Error("a new TSA reuses the previous root")
	}
}
