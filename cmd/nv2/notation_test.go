package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/dir"
	notationregistry "github.com/notaryproject/notation-go/registry"
	"github.com/notaryproject/notation-go/verifier"
	"github.com/notaryproject/notation-go/verifier/trustpolicy"
	"github.com/notaryproject/notation-go/verifier/truststore"
	"oras.land/oras-go/v2/registry/remote"
)

// notationVerify verifies pinned (host/repo@digest, plain HTTP) with
// notation-go's verifier, the Notary Project's reference: strict, trusting
// only the certificate in cert.
func notationVerify(t *testing.T, pinned, cert string) error {
	t.Helper()
	root := t.TempDir()
	store := filepath.Join(root, dir.TrustStoreDir, "x509", string(truststore.TypeCA), "nv2")
	if err := os.MkdirAll(store, 0o700); err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(cert)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(store, "signer.crt"), pem, 0o600); err != nil {
		t.Fatal(err)
	}
	var policy trustpolicy.Document
	if err := json.Unmarshal([]byte(`{"version":"1.0","trustPolicies":[{"name":"nv2","registryScopes":["*"],
		"signatureVerification":{"level":"strict"},"trustStores":["ca:nv2"],"trustedIdentities":["*"]}]}`), &policy); err != nil {
		t.Fatal(err)
	}
	v, err := verifier.New(&policy, truststore.NewX509TrustStore(dir.NewSysFS(root)), nil)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := remote.NewRepository(pinned)
	if err != nil {
		t.Fatal(err)
	}
	repo.PlainHTTP = true
	_, _, err = notation.Verify(context.Background(), v, notationregistry.NewRepository(repo),
		notation.VerifyOptions{ArtifactReference: pinned, MaxSignatureAttempts: 50})
	return err
}
