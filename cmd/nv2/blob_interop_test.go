package main

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	notation "github.com/notaryproject/notation-core-go/signature"
	_ "github.com/notaryproject/notation-core-go/signature/jws" // registers application/jose+json
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
)

// Blob signatures move between nv2 and the Notary Project's libraries both
// ways. notation-go v1.3.2 has no blob API, so the notation side is
// notation-core-go v1.3.0 doing what notation's blob signing and
// verification do: the payload describes the blob with the digest algorithm
// of the signing key's hash, and verification parses the envelope, verifies
// it, checks the chain against the trusted root, hashes the blob with that
// algorithm and compares digest, size, media type (when one is required)
// and the required metadata.
var blobInteropKeys = []string{"ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "rsa-2048", "rsa-3072", "rsa-4096"}

var blobInteropVariants = []struct {
	name      string
	mediaType string // "" signs the default, application/octet-stream
	metadata  map[string]string
}{
	{"defaults", "", nil},
	{"media type and metadata", "application/vnd.acme.model", map[string]string{"build": "42", "stage": "release"}},
}

// interopSigner generates a key and a CA-issued chain of keyType with nv2.
func interopSigner(t *testing.T, c *cliUser, keyType string) (key, cert, ca string) {
	key, cert = c.keys("interop-"+keyType, "--key-type", keyType, "--ca")
	return key, cert, strings.TrimSuffix(cert, ".crt") + "-ca.crt"
}

func TestBlobInteropNotationVerifiesNv2(t *testing.T) {
	c := newCLI(t)
	blob := bytes.Repeat([]byte("model weights "), 50_000)
	for _, keyType := range blobInteropKeys {
		key, cert, ca := interopSigner(t, c, keyType)
		for _, v := range blobInteropVariants {
			t.Run(keyType+"/"+v.name, func(t *testing.T) {
				file := writeFile(t, t.TempDir(), "model.bin", blob)
				c.must(0, variantArgs([]string{"blob", "sign", "--key", key, "--cert", cert}, v.mediaType, v.metadata, file)...)
				envelope, err := os.ReadFile(file + ".jws.sig")
				if err != nil {
					t.Fatal(err)
				}
				wantType := v.mediaType
				if wantType == "" {
					wantType = "application/octet-stream"
				}
				if err := notationVerifyBlob(envelope, blob, loadCerts(t, ca), wantType, v.metadata); err != nil {
					t.Fatal(err)
				}
				// The same check fails for other bytes: the test can tell.
				if err := notationVerifyBlob(envelope, blob[1:], loadCerts(t, ca), wantType, v.metadata); err == nil {
					t.Fatal("notation's checks passed a signature for other bytes")
				}
			})
		}
	}
}

func TestBlobInteropNv2VerifiesNotation(t *testing.T) {
	c := newCLI(t)
	blob := bytes.Repeat([]byte("release binary "), 50_000)
	for _, keyType := range blobInteropKeys {
		key, cert, ca := interopSigner(t, c, keyType)
		for _, v := range blobInteropVariants {
			t.Run(keyType+"/"+v.name, func(t *testing.T) {
				dir := t.TempDir()
				file := writeFile(t, dir, "release.bin", blob)
				sig := filepath.Join(dir, "release.bin.jws.sig")
				if err := os.WriteFile(sig, notationSignBlob(t, key, cert, blob, v.mediaType, v.metadata), 0o644); err != nil {
					t.Fatal(err)
				}
				r := c.must(0, variantArgs([]string{"blob", "verify", "--cert", ca, "--signature", sig}, v.mediaType, v.metadata, file)...)
				if !strings.Contains(r.stdout, "Verified "+file+"@") {
					t.Fatalf("verify output:\n%s", r.stdout)
				}
				c.must(exitNotVerified, "blob", "verify", "--cert", ca, "--signature", sig, writeFile(t, dir, "other.bin", blob[1:]))
				if v.mediaType != "" {
					c.must(exitNotVerified, "blob", "verify", "--cert", ca, "--signature", sig, "--media-type", "application/octet-stream", file)
				}
			})
		}
	}
}

// variantArgs adds --media-type and -a flags for a variant, then file.
func variantArgs(args []string, mediaType string, metadata map[string]string, file string) []string {
	if mediaType != "" {
		args = append(args, "--media-type", mediaType)
	}
	for k, v := range metadata {
		args = append(args, "-a", k+"="+v)
	}
	return append(args, file)
}

func loadCerts(t *testing.T, path string) []*x509.Certificate {
	t.Helper()
	certs, err := nvcrypto.LoadCertificates(path)
	if err != nil {
		t.Fatal(err)
	}
	return certs
}

// notationSignBlob signs blob as notation's blob signing does, with
// notation-core-go: the payload's digest algorithm is the signing key's hash.
func notationSignBlob(t *testing.T, keyFile, certFile string, blob []byte, mediaType string, metadata map[string]string) []byte {
	t.Helper()
	key, err := nvcrypto.LoadPrivateKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	chain := loadCerts(t, certFile)
	ls, err := notation.NewLocalSigner(chain, key)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ls.KeySpec()
	if err != nil {
		t.Fatal(err)
	}
	alg := digestAlgorithmOf(spec.SignatureAlgorithm())
	if mediaType == "" {
		mediaType = "application/octet-stream"
	}
	desc := ocispec.Descriptor{MediaType: mediaType, Digest: alg.FromBytes(blob), Size: int64(len(blob)), Annotations: metadata}
	payload, err := json.Marshal(map[string]any{"targetArtifact": desc})
	if err != nil {
		t.Fatal(err)
	}
	env, err := notation.NewEnvelope("application/jose+json")
	if err != nil {
		t.Fatal(err)
	}
	out, err := env.Sign(&notation.SignRequest{
		Payload:       notation.Payload{ContentType: "application/vnd.cncf.notary.payload.v1+json", Content: payload},
		Signer:        ls,
		SigningTime:   time.Now(),
		SigningScheme: notation.SigningSchemeX509,
		SigningAgent:  "notation-core-go",
	})
	if err != nil {
		t.Fatalf("notation-core-go Sign: %v", err)
	}
	return out
}

// notationVerifyBlob verifies a blob signature as notation's blob
// verification does, with notation-core-go.
func notationVerifyBlob(envelope, blob []byte, roots []*x509.Certificate, mediaType string, metadata map[string]string) error {
	env, err := notation.ParseEnvelope("application/jose+json", envelope)
	if err != nil {
		return fmt.Errorf("notation-core-go ParseEnvelope: %w", err)
	}
	content, err := env.Verify()
	if err != nil {
		return fmt.Errorf("notation-core-go Verify: %w", err)
	}
	if _, err := notation.VerifyAuthenticity(&content.SignerInfo, roots); err != nil {
		return fmt.Errorf("notation-core-go VerifyAuthenticity: %w", err)
	}
	if content.Payload.ContentType != "application/vnd.cncf.notary.payload.v1+json" {
		return fmt.Errorf("payload content type %q", content.Payload.ContentType)
	}
	var payload struct {
		TargetArtifact ocispec.Descriptor `json:"targetArtifact"`
	}
	if err := json.Unmarshal(content.Payload.Content, &payload); err != nil {
		return err
	}
	got := payload.TargetArtifact
	alg := digestAlgorithmOf(content.SignerInfo.SignatureAlgorithm)
	if got.Digest != alg.FromBytes(blob) || got.Size != int64(len(blob)) || got.MediaType != mediaType {
		return fmt.Errorf("the payload %+v does not describe the %d bytes as %s with %s", got, len(blob), mediaType, alg)
	}
	for k, v := range metadata {
		if got.Annotations[k] != v {
			return fmt.Errorf("metadata %s=%q, want %q", k, got.Annotations[k], v)
		}
	}
	return nil
}

// digestAlgorithmOf is the digest algorithm of a signature algorithm's hash,
// as notation-go maps them.
func digestAlgorithmOf(a notation.Algorithm) digest.Algorithm {
	switch a.Hash().String() {
	case "SHA-384":
		return digest.SHA384
	case "SHA-512":
		return digest.SHA512
	}
	return digest.SHA256
}
