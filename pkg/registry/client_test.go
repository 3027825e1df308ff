package registry

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"

	"github.com/nv2-signing/nv2/internal/testregistry"
	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/spec"
)

const user, password = "alice", "s3cret-pa55"

// writeDockerConfig writes a docker config.json with basic credentials for
// host into a new folder and returns the folder.
func writeDockerConfig(t *testing.T, host, username, pass string) string {
	t.Helper()
	dir := t.TempDir()
	authField := base64.StdEncoding.EncodeToString([]byte(username + ":" + pass))
	cfg := `{"auths":{"` + host + `":{"auth":"` + authField + `"}}}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestBasicAuth(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Distribution, testregistry.Options{Username: user, Password: password})
	subject := testregistry.NewImage("a")
	// Push the image with nv2's own copy (authenticated) from a layout.
	dir := t.TempDir()
	if _, err := subject.WriteLayout(dir, "v1"); err != nil {
		t.Fatal(err)
	}
	good := writeDockerConfig(t, reg.Host, user, password)
	bad := writeDockerConfig(t, reg.Host, user, "wrong")
	tests := []struct {
		name     string
		env      string // DOCKER_CONFIG
		opts     Options
		wantKind Kind // of the *Error; 0 means success
		username bool // the *Error's UsernameGiven
	}{
		{name: "docker config from $DOCKER_CONFIG", env: good},
		{name: "docker config from Options.DockerConfig", opts: Options{DockerConfig: good}},
		{name: "username and password override a wrong docker config", env: bad, opts: Options{Username: user, Password: password}},
		{name: "wrong docker config", env: bad, wantKind: Unauthorized},
		{name: "no credentials", env: t.TempDir(), wantKind: CredentialsRequired},
		{name: "wrong override", env: good, opts: Options{Username: user, Password: "nope"}, wantKind: Unauthorized, username: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			t.Setenv("DOCKER_CONFIG", tt.env)
			c, err := NewClient(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			ref, _ := ParseReference(reg.Host+"/net-monitor", "")
			dst, err := c.Repository(ref)
			if err != nil {
				t.Fatal(err)
			}
			src, err := OpenLayout(dir)
			if err != nil {
				t.Fatal(err)
			}
			desc, err := Copy(ctx, src, "v1", dst, "v1")
			if tt.wantKind != 0 {
				t.Log(err)
				if e := (*Error)(nil); !errors.As(err, &e) || e.Kind != tt.wantKind || e.UsernameGiven != tt.username || e.Registry != reg.Host {
					t.Fatalf("got %v, want an *Error of kind %d", err, tt.wantKind)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := pushSignature(ctx, dst, desc, testEnvelope("auth"), signature.ArtifactOptions{}); err != nil {
				t.Fatal(err)
			}
			refs, err := dst.Referrers(ctx, desc, spec.ArtifactTypeSignature)
			if err != nil || len(refs) != 1 {
				t.Fatalf("referrers %d, %v", len(refs), err)
			}
		})
	}
}

func TestNewClientRefusesBadOptions(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "config.json")
	if err := os.WriteFile(broken, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"password without username", Options{Password: "x", DockerConfig: dir}, "without a username"},
		{"broken docker config", Options{DockerConfig: dir}, "docker config"},
		{"missing CA file", Options{CAFile: filepath.Join(dir, "none.pem")}, "CA file"},
		{"CA file without certificates", Options{CAFile: notPEM}, "no PEM certificate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewClient(tt.opts); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewClient: %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestDebugRedactsCredentials logs every request of an authenticated push
// and checks that no credential appears.
func TestDebugRedactsCredentials(t *testing.T) {
	ctx := testCtx(t)
	reg := testregistry.Start(t, testregistry.Distribution, testregistry.Options{Username: user, Password: password})
	dir := t.TempDir()
	if _, err := testregistry.NewImage("a").WriteLayout(dir, "v1"); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	c := newTestClient(t, Options{Username: user, Password: password, Debug: &log, UserAgent: "nv2/test"})
	ref, _ := ParseReference(reg.Host+"/net-monitor:v1", "")
	dst, err := c.Repository(ref)
	if err != nil {
		t.Fatal(err)
	}
	src, _ := OpenLayout(dir)
	desc, err := Copy(ctx, src, "v1", dst, "v1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pushSignature(ctx, dst, desc, testEnvelope("debug"), signature.ArtifactOptions{}); err != nil {
		t.Fatal(err)
	}
	out := log.String()
	for _, secret := range []string{password, base64.StdEncoding.EncodeToString([]byte(user + ":" + password)), "_state="} {
		if strings.Contains(out, secret) && !strings.Contains(out, secret+"redacted") {
			t.Fatalf("debug output leaks %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{"> PUT http://" + reg.Host + "/v2/net-monitor/manifests/", "< 201 Created PUT", "(auth: Basic <redacted>)", "_state=redacted"} {
		if !strings.Contains(out, want) {
			t.Fatalf("debug output lacks %q:\n%s", want, out)
		}
	}
}

// TestErrorKinds checks that common mistakes come back as an *Error of the
// right Kind, with what the CLI needs to name their fix (cmd/nv2 words it).
func TestErrorKinds(t *testing.T) {
	ctx := testCtx(t)
	// A closed port: connection refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ref, _ := ParseReference(addr+"/x:v1", "")
	tg, err := newTestClient(t).Repository(ref)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tg.Resolve(ctx, "v1")
	t.Log(err)
	if e := (*Error)(nil); !errors.As(err, &e) || e.Kind != ConnectionRefused || e.Registry != addr || !e.PlainHTTP {
		t.Fatalf("connection refused: %v", err)
	}
	// HTTPS to an HTTP registry.
	reg := testregistry.Start(t, testregistry.Distribution)
	ref, _ = ParseReference(reg.Host+"/x:v1", "")
	tg, err = newTestClient(t).Repository(ref)
	if err != nil {
		t.Fatal(err)
	}
	tg.repo.PlainHTTP = false
	_, err = tg.Resolve(ctx, "v1")
	t.Log(err)
	if e := (*Error)(nil); !errors.As(err, &e) || e.Kind != PlainHTTPServer || e.Registry != reg.Host {
		t.Fatalf("HTTPS to an HTTP registry: %v", err)
	}
}

// TestTLS reaches a registry over HTTPS with a private CA: refused without
// the CA (with a hint), accepted with CAFile or Insecure.
func TestTLS(t *testing.T) {
	ctx := testCtx(t)
	srv := httptest.NewUnstartedServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "https://")
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	ref, _ := ParseReference(host+"/x:v1", "")
	for _, tt := range []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{name: "CA file", opts: Options{CAFile: caFile}},
		{name: "insecure", opts: Options{Insecure: true}},
		{name: "untrusted", wantErr: "certificate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tg, err := newTestClient(t, tt.opts).Repository(ref)
			if err != nil {
				t.Fatal(err)
			}
			// A loopback host defaults to plain HTTP unless CAFile or
			// Insecure is set; the untrusted case must use TLS too.
			tg.repo.PlainHTTP = false
			_, err = tg.Resolve(ctx, "v1")
			t.Log(err)
			if tt.wantErr != "" {
				if e := (*Error)(nil); !errors.As(err, &e) || e.Kind != UntrustedCertificate || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an UntrustedCertificate error containing %q", err, tt.wantErr)
				}
				return
			}
			if !errors.Is(err, ErrNotFound) { // reached the registry over TLS
				t.Fatalf("got %v, want ErrNotFound from the registry", err)
			}
		})
	}
}

// TestRetriesAndTimeout: a registry that answers 503 twice is retried; one
// slower than Options.Timeout fails with the timeout named.
func TestRetriesAndTimeout(t *testing.T) {
	ctx := testCtx(t)
	var mu sync.Mutex
	failures := 2
	flaky := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			fail := r.Method == http.MethodHead && failures > 0
			if fail {
				failures--
			}
			mu.Unlock()
			if fail {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	reg := testregistry.Start(t, testregistry.Distribution, testregistry.Options{Wrap: flaky})
	want := testregistry.PushImage(t, reg, "net-monitor", "v1", "a")
	got, err := remoteTarget(t, reg, "net-monitor").Resolve(ctx, "v1")
	if err != nil || got.Digest != want.Digest {
		t.Fatalf("resolve through two 503s: %v", err)
	}
	reg.SetDelay(300 * time.Millisecond)
	_, err = remoteTarget(t, reg, "net-monitor", Options{Timeout: 50 * time.Millisecond}).Resolve(ctx, "v1")
	if e := (*Error)(nil); !errors.As(err, &e) || e.Kind != Timeout {
		t.Fatalf("resolve on a slow registry with a 50ms timeout: %v", err)
	}
}

// TestUserAgent: every request, the resolve and the signature push alike,
// names nv2 and its version, so registry operators can tell clients apart.
func TestUserAgent(t *testing.T) {
	var mu sync.Mutex
	agents := map[string]int{}
	reg := testregistry.Start(t, testregistry.GGCR, testregistry.Options{Wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			agents[r.UserAgent()]++
			mu.Unlock()
			h.ServeHTTP(w, r)
		})
	}})
	img := testregistry.PushImage(t, reg, "app", "v1", "ua")
	mu.Lock()
	clear(agents) // the image was pushed by plain oras-go
	mu.Unlock()
	tg := remoteTarget(t, reg, "app", Options{UserAgent: "nv2/1.2.3"})
	ctx := context.Background()
	if _, err := tg.Resolve(ctx, "v1"); err != nil {
		t.Fatal(err)
	}
	if _, err := pushSignature(ctx, tg, img, []byte(`{"payload":"","protected":"","header":{},"signature":""}`), signature.ArtifactOptions{Created: time.Unix(0, 0)}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(agents) != 1 || agents["nv2/1.2.3"] == 0 {
		t.Fatalf("User-Agent headers seen: %v, want only nv2/1.2.3", agents)
	}
}
