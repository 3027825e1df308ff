package crypto_test

import (
	stdcrypto "crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
)

// Keys are slow to make (RSA especially): each test key type is made once.
var (
	keyMu    sync.Mutex
	keyCache = map[string]stdcrypto.Signer{}
)

func testKey(t testing.TB, kind string) stdcrypto.Signer {
	t.Helper()
	keyMu.Lock()
	defer keyMu.Unlock()
	if k, ok := keyCache[kind]; ok {
		return k
	}
	var k stdcrypto.Signer
	var err error
	switch kind {
	case "p224":
		k, err = ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	case "p256":
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "p384":
		k, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "p521":
		k, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "rsa1024":
		k, err = rsa.GenerateKey(rand.Reader, 1024)
	case "rsa2048":
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ed25519":
		_, k, err = ed25519.GenerateKey(rand.Reader)
	default:
		t.Fatalf("unknown test key %q", kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	keyCache[kind] = k
	return k
}

// rsaPublicKey returns an RSA public key with a modulus of exactly bits bits;
// AlgorithmFor looks only at the size, so no slow key generation is needed.
func rsaPublicKey(bits int) *rsa.PublicKey {
	n := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
	return &rsa.PublicKey{N: n.Add(n, big.NewInt(1)), E: 65537}
}

func TestAlgorithmFor(t *testing.T) {
	tests := []struct {
		name    string
		pub     stdcrypto.PublicKey
		want    nvcrypto.Algorithm
		wantErr string // substring of the error; empty: no error
	}{
		{"RSA 2048 signs with PS256", rsaPublicKey(2048), nvcrypto.PS256, ""},
		{"RSA 3072 signs with PS384", rsaPublicKey(3072), nvcrypto.PS384, ""},
		{"RSA 4096 signs with PS512", rsaPublicKey(4096), nvcrypto.PS512, ""},
		{"ECDSA P-256 signs with ES256", testKey(t, "p256").Public(), nvcrypto.ES256, ""},
		{"ECDSA P-384 signs with ES384", testKey(t, "p384").Public(), nvcrypto.ES384, ""},
		{"ECDSA P-521 signs with ES512", testKey(t, "p521").Public(), nvcrypto.ES512, ""},
		{"RSA 1024 is too short", rsaPublicKey(1024), "", "too short"},
		{"RSA 2047 is too short", rsaPublicKey(2047), "", "too short"},
		{"RSA 3000 is not a Notary size", rsaPublicKey(3000), "", "only 2048, 3072 or 4096"},
		{"RSA 8192 is not a Notary size", rsaPublicKey(8192), "", "only 2048, 3072 or 4096"},
		{"ECDSA P-224 is refused", testKey(t, "p224").Public(), "", "curve P-224"},
		{"Ed25519 is refused", testKey(t, "ed25519").Public(), "", "Ed25519"},
		{"nil is refused", nil, "", "no public key"},
		{"a symmetric key is refused", []byte("secret"), "", "[]uint8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := nvcrypto.AlgorithmFor(tt.pub)
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Fatalf("AlgorithmFor = %q, %v; want %q", got, err, tt.want)
				}
				if got.Hash() == 0 {
					t.Errorf("%s has no hash", got)
				}
				return
			}
			if !errors.Is(err, nvcrypto.ErrUnsupportedKey) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("AlgorithmFor error = %v; want ErrUnsupportedKey mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseAlgorithm(t *testing.T) {
	for _, a := range nvcrypto.Algorithms {
		if got, err := nvcrypto.ParseAlgorithm(string(a)); err != nil || got != a {
			t.Errorf("ParseAlgorithm(%q) = %q, %v", a, got, err)
		}
	}
	for _, s := range []string{"", "none", "HS256", "RS256", "EdDSA", "es256"} {
		if _, err := nvcrypto.ParseAlgorithm(s); err == nil {
			t.Errorf("ParseAlgorithm(%q) succeeded; want an error", s)
		}
	}
}

func pemBlock(typ string, der []byte, headers map[string]string) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Headers: headers, Bytes: der})
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func TestParsePrivateKey(t *testing.T) {
	p256 := testKey(t, "p256").(*ecdsa.PrivateKey)
	rsa2048 := testKey(t, "rsa2048").(*rsa.PrivateKey)
	pkcs8 := func(k any) []byte {
		return pemBlock("PRIVATE KEY", must[[]byte](t)(x509.MarshalPKCS8PrivateKey(k)), nil)
	}
	sec1 := func(k *ecdsa.PrivateKey) []byte {
		return pemBlock("EC PRIVATE KEY", must[[]byte](t)(x509.MarshalECPrivateKey(k)), nil)
	}
	ecParams := pemBlock("EC PARAMETERS", []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}, nil)
	cert := pemBlock("CERTIFICATE", generate(t, nvcrypto.GenerateOptions{CommonName: "c"}).Chain[0].Raw, nil)

	tests := []struct {
		name    string
		pem     []byte
		want    stdcrypto.PublicKey // nil: an error is wanted
		wantErr string
	}{
		{"PKCS#8 ECDSA", pkcs8(p256), p256.Public(), ""},
		{"PKCS#8 RSA", pkcs8(rsa2048), rsa2048.Public(), ""},
		{"PKCS#1 RSA", pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsa2048), nil), rsa2048.Public(), ""},
		{"SEC1 EC", sec1(p256), p256.Public(), ""},
		{"SEC1 EC after EC PARAMETERS (openssl ecparam -genkey)", append(ecParams, sec1(p256)...), p256.Public(), ""},
		{"key after a certificate", append(cert, pkcs8(p256)...), p256.Public(), ""},
		{"encrypted PKCS#8", pemBlock("ENCRYPTED PRIVATE KEY", []byte{1, 2, 3}, nil), nil, "encrypted"},
		{"encrypted legacy PEM", pemBlock("RSA PRIVATE KEY", []byte{1, 2, 3}, map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}), nil, "encrypted"},
		{"garbage", []byte("not a key"), nil, "no private key found"},
		{"empty", nil, nil, "no private key found"},
		{"certificate only", cert, nil, "no private key found"},
		{"corrupt PKCS#8", pemBlock("PRIVATE KEY", []byte{0x30, 0x03, 1, 2, 3}, nil), nil, "parse PRIVATE KEY"},
		{"SEC1 label on an RSA key", pemBlock("EC PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsa2048), nil), nil, "parse EC PRIVATE KEY"},
		{"Ed25519 is refused", pkcs8(testKey(t, "ed25519")), nil, "Ed25519"},
		{"ECDSA P-224 is refused", sec1(testKey(t, "p224").(*ecdsa.PrivateKey)), nil, "P-224"},
		{"RSA 1024 is refused", pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(testKey(t, "rsa1024").(*rsa.PrivateKey)), nil), nil, "too short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := nvcrypto.ParsePrivateKey(tt.pem)
			if tt.want != nil {
				if err != nil {
					t.Fatalf("ParsePrivateKey: %v", err)
				}
				if !key.Public().(interface {
					Equal(stdcrypto.PublicKey) bool
				}).Equal(tt.want) {
					t.Fatal("ParsePrivateKey returned another key")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParsePrivateKey error = %v; want one mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestEncodePrivateKeyRoundTrip(t *testing.T) {
	for _, kind := range []string{"p256", "p384", "p521", "rsa2048"} {
		key := testKey(t, kind)
		b, err := nvcrypto.EncodePrivateKey(key)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if !strings.HasPrefix(string(b), "-----BEGIN PRIVATE KEY-----") {
			t.Errorf("%s: not PKCS#8 PEM: %.40s", kind, b)
		}
		back, err := nvcrypto.ParsePrivateKey(b)
		if err != nil || !back.Public().(interface {
			Equal(stdcrypto.PublicKey) bool
		}).Equal(key.Public()) {
			t.Errorf("%s: round trip failed: %v", kind, err)
		}
	}
}

func TestLoadPrivateKey(t *testing.T) {
	b, err := nvcrypto.EncodePrivateKey(testKey(t, "p256"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, mode os.FileMode) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil { // umask may have masked bits
			t.Fatal(err)
		}
		return path
	}

	if _, err := nvcrypto.LoadPrivateKey(write("ok.key", 0o600)); err != nil {
		t.Errorf("0600 key refused: %v", err)
	}
	if _, err := nvcrypto.LoadPrivateKey(write("owner-only.key", 0o400)); err != nil {
		t.Errorf("0400 key refused: %v", err)
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		path := write("open.key", mode)
		_, err := nvcrypto.LoadPrivateKey(path)
		if err == nil || !strings.Contains(err.Error(), "chmod 600 "+path) {
			t.Errorf("mode %04o: error = %v; want one telling to run chmod 600 %s", mode, err, path)
		}
	}
	missing := filepath.Join(dir, "missing.key")
	if _, err := nvcrypto.LoadPrivateKey(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: error = %v; want os.ErrNotExist", err)
	}
	garbage := filepath.Join(dir, "garbage.key")
	if err := os.WriteFile(garbage, []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := nvcrypto.LoadPrivateKey(garbage); err == nil || !strings.Contains(err.Error(), garbage) {
		t.Errorf("garbage file: error = %v; want one naming the file", err)
	}
}

func TestCheckKeyMatchesCertificate(t *testing.T) {
	c := generate(t, nvcrypto.GenerateOptions{CommonName: "signer"})
	if err := nvcrypto.CheckKeyMatchesCertificate(c.Key, c.Chain[0]); err != nil {
		t.Fatalf("own key refused: %v", err)
	}
	for name, key := range map[string]stdcrypto.Signer{
		"another P-256 key": testKey(t, "p256"),
		"an RSA key":        testKey(t, "rsa2048"),
		"nil":               nil,
	} {
		err := nvcrypto.CheckKeyMatchesCertificate(key, c.Chain[0])
		if !errors.Is(err, nvcrypto.ErrKeyMismatch) || !strings.Contains(err.Error(), "does not match the certificate") {
			t.Errorf("%s: error = %v; want ErrKeyMismatch", name, err)
		}
	}
}
