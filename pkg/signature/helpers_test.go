package signature_test

import (
	"github.com/nv2-signing/nv2/internal/testsign"

	stdcrypto "crypto"
	"encoding/base64"
	"encoding/json"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/signature"
)

// target is the artifact the tests sign.
var target = ocispec.Descriptor{
	MediaType: ocispec.MediaTypeImageManifest,
	Digest:    digest.FromString("net-monitor:v1"),
	Size:      528,
}

// Credentials are slow to make for RSA: each kind is made once per run.
var (
	credMu    sync.Mutex
	credCache = map[string]*nvcrypto.Credentials{}
)

// credentials returns a key and a [leaf, CA] chain of key type kt, or a
// self-signed [leaf] when ca is false.
func credentials(t testing.TB, kt nvcrypto.KeyType, ca bool) *nvcrypto.Credentials {
	t.Helper()
	credMu.Lock()
	defer credMu.Unlock()
	id := string(kt)
	if ca {
		id += "+ca"
	}
	if c, ok := credCache[id]; ok {
		return c
	}
	c, err := nvcrypto.Generate(nvcrypto.GenerateOptions{CommonName: "nv2 test " + id, KeyType: kt, CA: ca})
	if err != nil {
		t.Fatal(err)
	}
	credCache[id] = c
	return c
}

func newSigner(t testing.TB, c *nvcrypto.Credentials) *signature.Signer {
	t.Helper()
	s, err := signature.NewSigner(c.Key, c.Chain)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sign(t testing.TB, s *signature.Signer, req signature.SignRequest) []byte {
	t.Helper()
	return testsign.Sign(t, s, req)
}

// parts is an envelope taken apart, to be changed and put together again.
type parts struct {
	Protected map[string]any // decoded protected header
	Payload   []byte         // decoded payload
	Header    map[string]any // unprotected header
	Signature []byte         // decoded signature
}

func split(t testing.TB, env []byte) parts {
	t.Helper()
	var raw struct {
		Payload, Protected, Signature string
		Header                        map[string]any
	}
	if err := json.Unmarshal(env, &raw); err != nil {
		t.Fatal(err)
	}
	p := parts{Payload: b64decode(t, raw.Payload), Signature: b64decode(t, raw.Signature), Header: raw.Header}
	if err := json.Unmarshal(b64decode(t, raw.Protected), &p.Protected); err != nil {
		t.Fatal(err)
	}
	return p
}

// join encodes p as an envelope; with a key it signs it anew, so that
// only the changes made to p can be wrong with it.
func (p parts) join(t testing.TB, key stdcrypto.Signer) []byte {
	t.Helper()
	protected, err := json.Marshal(p.Protected)
	if err != nil {
		t.Fatal(err)
	}
	protectedB64 := base64.RawURLEncoding.EncodeToString(protected)
	payloadB64 := base64.RawURLEncoding.EncodeToString(p.Payload)
	sig := p.Signature
	if key != nil {
		sig = testsign.JWSSign(t, key, "", protectedB64+"."+payloadB64)
	}
	env, err := json.Marshal(map[string]any{
		"protected": protectedB64,
		"payload":   payloadB64,
		"header":    p.Header,
		"signature": base64.RawURLEncoding.EncodeToString(sig),
	})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func b64decode(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
