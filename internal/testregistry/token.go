package testregistry

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/auth/token" // bearer token auth
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/sirupsen/logrus"
)

// TokenIssuer is the token server of a registry started by
// StartWithTokenAuth: it issues bearer tokens to a user who authenticates
// with HTTP basic auth, as Docker Hub and most registries do.
type TokenIssuer struct {
	URL string

	key      *ecdsa.PrivateKey
	kid      string
	user     string
	password string

	mu     sync.Mutex
	issued []string
}

// Issued returns every token issued so far.
func (ti *TokenIssuer) Issued() []string {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	return append([]string(nil), ti.issued...)
}

const (
	tokenService = "nv2-test-registry"
	tokenIssuer  = "nv2-test-token-issuer"
)

// StartWithTokenAuth starts CNCF distribution with its "token" auth: every
// request needs a bearer token that the returned TokenIssuer signs for
// username and password. Both stop when the test ends.
func StartWithTokenAuth(t testing.TB, username, password string) (*Registry, *TokenIssuer) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: tokenIssuer},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(t.TempDir(), "token-issuer.pem")
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	ti := &TokenIssuer{key: key, kid: token.GetJWKThumbprint(&key.PublicKey), user: username, password: password}
	ts := httptest.NewServer(http.HandlerFunc(ti.serve))
	t.Cleanup(ts.Close)
	ti.URL = ts.URL

	quietOnce.Do(func() { logrus.SetLevel(logrus.ErrorLevel); logrus.SetOutput(io.Discard) })
	cfg := &configuration.Configuration{}
	cfg.Log.Level = "error"
	cfg.Log.AccessLog.Disabled = true
	cfg.Storage = configuration.Storage{
		"inmemory": configuration.Parameters{},
		"maintenance": configuration.Parameters{
			"uploadpurging": map[interface{}]interface{}{"enabled": false},
		},
	}
	cfg.HTTP.Secret = "nv2-test-secret"
	cfg.Auth = configuration.Auth{"token": configuration.Parameters{
		"realm": ts.URL + "/token", "service": tokenService, "issuer": tokenIssuer, "rootcertbundle": bundle,
	}}
	c := &Counter{next: handlers.NewApp(context.Background(), cfg)}
	s := httptest.NewServer(c)
	t.Cleanup(s.Close)
	return &Registry{Kind: Distribution, Host: strings.TrimPrefix(s.URL, "http://"), URL: s.URL, Counter: c, server: s}, ti
}

// serve answers GET /token?service=...&scope=... (the docker token
// protocol) for the user's basic credentials, granting what is asked.
func (ti *TokenIssuer) serve(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || user != ti.user || pass != ti.password {
		w.Header().Set("WWW-Authenticate", `Basic realm="nv2-test-token"`)
		http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"wrong username or password"}]}`, http.StatusUnauthorized)
		return
	}
	var access []*token.ResourceActions
	for _, scope := range r.URL.Query()["scope"] {
		for _, s := range strings.Split(scope, " ") {
			parts := strings.Split(s, ":")
			if len(parts) < 3 {
				continue
			}
			access = append(access, &token.ResourceActions{Type: parts[0], Name: strings.Join(parts[1:len(parts)-1], ":"), Actions: strings.Split(parts[len(parts)-1], ",")})
		}
	}
	now := time.Now()
	claims := token.ClaimSet{
		Issuer: tokenIssuer, Subject: user, Audience: token.AudienceList{tokenService},
		Expiration: now.Add(5 * time.Minute).Unix(), NotBefore: now.Add(-time.Minute).Unix(), IssuedAt: now.Unix(),
		JWTID: base64.RawURLEncoding.EncodeToString(randomBytes(12)), Access: access,
	}
	tok, err := ti.sign(claims)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	ti.mu.Lock()
	ti.issued = append(ti.issued, tok)
	ti.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"token": tok, "access_token": tok, "expires_in": 300, "issued_at": now.Format(time.RFC3339)})
}

// sign makes a compact ES256 JWT of claims.
func (ti *TokenIssuer) sign(claims token.ClaimSet) (string, error) {
	header, err := json.Marshal(map[string]string{"typ": "JWT", "alg": "ES256", "kid": ti.kid})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, ti.key, sum[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
