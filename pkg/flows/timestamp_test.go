package flows_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nv2-signing/nv2/internal/testregistry"
	"github.com/nv2-signing/nv2/internal/testsign"
	"github.com/nv2-signing/nv2/internal/testtsa"
	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/flows"
	"github.com/nv2-signing/nv2/pkg/registry"
	"github.com/nv2-signing/nv2/pkg/spec"
	"github.com/nv2-signing/nv2/pkg/timestamp"
	"github.com/nv2-signing/nv2/pkg/trust"
)

// withTSA serves the TSA's RFC 3161 endpoint on the registry's own port, so
// that the registry's Counter sees the TSA request beside the registry's
// and its Levels count the round trips of a whole sign.
func withTSA(tsa *testtsa.TSA) func(http.Handler) http.Handler {
	u, _ := url.Parse(tsa.BaseURL)
	proxy := httputil.NewSingleHostReverseProxy(u)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == testtsa.TimestampPath {
				proxy.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func newFlowsClient(t *testing.T) *flows.Client {
	t.Helper()
	rc, err := registry.NewClient(registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &flows.Client{Registry: rc}
}

// A timestamped signature, in every signing mode, verifies after its signing
// certificate has expired when the TSA is trusted, and not without it; the
// TSA request adds one round-trip level to a sign.
func TestSignWithTimestamp(t *testing.T) {
	tsa := testtsa.New(t)
	for _, kind := range testregistry.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			reg := testregistry.Start(t, kind, testregistry.Options{Wrap: withTSA(tsa)})
			ctx := context.Background()
			client := newFlowsClient(t)
			signer, creds := testsign.Signer(t, nvcrypto.GenerateOptions{CommonName: "signer", NotBefore: time.Now().Add(-time.Hour), Validity: 2 * time.Hour})
			root := creds.Chain[len(creds.Chain)-1]
			ts := &timestamp.Client{URL: reg.URL + testtsa.TimestampPath, Roots: []*x509.Certificate{tsa.Root()}}
			testregistry.PushImage(t, reg, "plain", "v1", "plain")
			testregistry.PushImage(t, reg, "stamped", "v1", "stamped")

			// A registry a little further away, so that requests sent in
			// parallel share a level however busy the machine is.
			reg.SetDelay(80 * time.Millisecond)
			reg.Reset()
			if _, err := client.Sign(ctx, flows.SignOptions{Signer: signer, Artifact: flows.Location{Ref: reg.Host + "/plain:v1"}}); err != nil {
				t.Fatal(err)
			}
			plainLevels := reg.Levels()
			reg.Reset()
			if _, err := client.Sign(ctx, flows.SignOptions{Signer: signer, Artifact: flows.Location{Ref: reg.Host + "/stamped:v1"}, Timestamp: ts}); err != nil {
				t.Fatal(err)
			}
			stampedLevels, tsaRequests := reg.Levels(), 0
			reg.SetDelay(0)
			for _, r := range reg.Requests() {
				if r.Path == testtsa.TimestampPath {
					tsaRequests++
				}
			}
			if tsaRequests != 1 || stampedLevels > plainLevels+1 {
				t.Errorf("a timestamped sign took %d levels with %d TSA requests; without a timestamp %d levels: want at most one more, with one TSA request\n%v",
					stampedLevels, tsaRequests, plainLevels, reg.Requests())
			}

			later := func() time.Time { return time.Now().Add(3 * time.Hour) } // the certificate has expired
			trusting := trust.NewCertVerifier([]*x509.Certificate{root}, tsa.Root())
			trusting.Now = later
			res := client.Verify(ctx, trusting, flows.Location{Ref: reg.Host + "/stamped:v1"})[0]
			if res.Err != nil || res.Signature.Timestamp == nil {
				t.Fatalf("timestamped, certificate expired since, TSA trusted: %v %+v", res.Err, res.Result)
			}
			notTrusting := trust.NewCertVerifier([]*x509.Certificate{root})
			notTrusting.Now = later
			if res := client.Verify(ctx, notTrusting, flows.Location{Ref: reg.Host + "/stamped:v1"})[0]; !errors.Is(res.Err, flows.ErrNotVerified) {
				t.Fatalf("expired certificate, no TSA trusted: %v", res.Err)
			}
			if res := client.Verify(ctx, trusting, flows.Location{Ref: reg.Host + "/plain:v1"})[0]; !errors.Is(res.Err, flows.ErrNotVerified) ||
				!strings.Contains(res.Rejected[0].Err.Error(), "no timestamp") {
				t.Fatalf("expired certificate, no timestamp: %v", res.Err)
			}

			// Offline modes: an OCI layout and a manifest file.
			dir := t.TempDir()
			layout := filepath.Join(dir, "layout")
			img := testregistry.NewImage("layout")
			if _, err := img.WriteLayout(layout, "v1"); err != nil {
				t.Fatal(err)
			}
			if _, err := client.Sign(ctx, flows.SignOptions{Signer: signer, Artifact: flows.Location{Ref: layout + ":v1", Layout: true}, Timestamp: ts}); err != nil {
				t.Fatal(err)
			}
			if res := client.Verify(ctx, trusting, flows.Location{Ref: layout + ":v1", Layout: true})[0]; res.Err != nil || res.Signature.Timestamp == nil {
				t.Fatalf("OCI layout: %v", res.Err)
			}
			manifest, sig := filepath.Join(dir, "manifest.json"), filepath.Join(dir, "sig.jws")
			if err := os.WriteFile(manifest, img.Manifest, 0o644); err != nil {
				t.Fatal(err)
			}
			subject, err := flows.ManifestFile(manifest, "")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := client.Sign(ctx, flows.SignOptions{Signer: signer, Manifest: &subject, SignatureOut: sig, Timestamp: ts}); err != nil {
				t.Fatal(err)
			}
			if res := flows.VerifyDetached(trusting, sig, manifest, ""); res.Err != nil || res.Signature.Timestamp == nil {
				t.Fatalf("manifest file: %v", res.Err)
			}
		})
	}
}

// When the TSA cannot be reached or its token does not verify, Sign fails
// with an error that says so, and the artifact has no signature.
func TestSignTimestampFailuresPushNothing(t *testing.T) {
	tsa := testtsa.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String() + testtsa.TimestampPath
	ln.Close()
	for _, kind := range testregistry.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			reg := testregistry.Start(t, kind)
			ctx := context.Background()
			client := newFlowsClient(t)
			signer, _ := testsign.Signer(t, nvcrypto.GenerateOptions{CommonName: "signer"})
			subject := testregistry.PushImage(t, reg, "app", "v1", "app")
			for _, tc := range []struct {
				name string
				ts   *timestamp.Client
				want error
			}{
				{"TSA down", &timestamp.Client{URL: down, Roots: []*x509.Certificate{tsa.Root()}}, timestamp.ErrUnreachable},
				{"untrusted TSA", &timestamp.Client{URL: tsa.URL, Roots: []*x509.Certificate{testsign.NewPKI(t, "other").Root}}, timestamp.ErrUntrusted},
			} {
				_, err := client.Sign(ctx, flows.SignOptions{Signer: signer, Artifact: flows.Location{Ref: reg.Host + "/app:v1"}, Timestamp: tc.ts})
				var tsErr *flows.TimestampError
				if !errors.As(err, &tsErr) || !errors.Is(err, tc.want) {
					t.Fatalf("%s: %v, want a TimestampError wrapping %v", tc.name, err, tc.want)
				}
				target, err := client.Open(flows.Location{Ref: reg.Host + "/app:v1"})
				if err != nil {
					t.Fatal(err)
				}
				refs, err := target.Referrers(ctx, subject, spec.ArtifactTypeSignature)
				if err != nil || len(refs) != 0 {
					t.Fatalf("%s: the artifact has signatures %v (%v); nothing should have been pushed", tc.name, refs, err)
				}
			}
		})
	}
}

// A signature whose push failed is pushed again by the same Sign, but not
// by a Sign that asks for a timestamp the pending envelope lacks.
func TestResumeKeepsTheTimestampAsked(t *testing.T) {
	tsa := testtsa.New(t)
	var failing atomic.Bool
	reg := testregistry.Start(t, testregistry.GGCR, testregistry.Options{Wrap: func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if failing.Load() && r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
				http.Error(w, "refused", http.StatusBadRequest)
				return
			}
			next.ServeHTTP(w, r)
		})
	}})
	ctx := context.Background()
	client := newFlowsClient(t)
	signer, creds := testsign.Signer(t, nvcrypto.GenerateOptions{CommonName: "signer"})
	testregistry.PushImage(t, reg, "app", "v1", "resume")
	opts := flows.SignOptions{Signer: signer, Artifact: flows.Location{Ref: reg.Host + "/app:v1"}, JournalDir: t.TempDir()}

	failing.Store(true)
	var pushErr *flows.PushError
	if _, err := client.Sign(ctx, opts); !errors.As(err, &pushErr) || !pushErr.Resumable {
		t.Fatalf("the failed push should be resumable: %v", err)
	}
	failing.Store(false)
	opts.Timestamp = &timestamp.Client{URL: tsa.URL, Roots: []*x509.Certificate{tsa.Root()}}
	res, err := client.Sign(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed.IsZero() {
		t.Fatal("pushed the pending envelope without a timestamp although a timestamp was asked for")
	}
	v := trust.NewCertVerifier(creds.Chain[len(creds.Chain)-1:], tsa.Root())
	if r := client.Verify(ctx, v, flows.Location{Ref: reg.Host + "/app:v1"})[0]; r.Err != nil || r.Signature.Timestamp == nil {
		t.Fatalf("the pushed signature has no trusted timestamp: %v", r.Err)
	}
}
