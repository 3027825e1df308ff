package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote/retry"

	"github.com/nv2-signing/nv2/internal/testregistry"
	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/spec"
	"github.com/nv2-signing/nv2/pkg/trust"
)

// A registry's answers are untrusted. These tests put a proxy in front of a
// real registry that rewrites its answers, and check that each hostile
// answer is refused with its cause, in bounded time, requests and memory.

// hostileSetup starts a registry of kind behind a Hostile proxy, pushes an
// image and one signature through it, and returns them.
func hostileSetup(t *testing.T, kind testregistry.Kind) (*testregistry.Registry, *testregistry.Hostile, ocispec.Descriptor, ocispec.Descriptor) {
	t.Helper()
	h := &testregistry.Hostile{}
	reg := testregistry.Start(t, kind, testregistry.Options{Wrap: h.Wrap})
	subject := testregistry.PushImage(t, reg, "net-monitor", "v1", "hostile")
	sig, err := pushSignature(testCtx(t), remoteTarget(t, reg, "net-monitor"), subject, testEnvelope("hostile"), signature.ArtifactOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return reg, h, subject, sig
}

// manyReferrers is an image index listing n signature descriptors.
func manyReferrers(n, from int) ocispec.Index {
	idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: make([]ocispec.Descriptor, 0, n)}
	for i := range n {
		idx.Manifests = append(idx.Manifests, ocispec.Descriptor{
			MediaType: ocispec.MediaTypeImageManifest, ArtifactType: spec.ArtifactTypeSignature,
			Digest: digest.FromString(fmt.Sprint("junk-", from+i)), Size: 700,
		})
	}
	return idx
}

func jsonBytes(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// countReferrerGETs counts the referrers API requests the registry answered.
func countReferrerGETs(reg *testregistry.Registry) int {
	n := 0
	for _, r := range reg.Requests() {
		if strings.Contains(r.Path, "/referrers/") {
			n++
		}
	}
	return n
}

func TestHostileReferrersListing(t *testing.T) {
	// A second origin: a next-page link must never lead there.
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	t.Cleanup(other.Close)
	const page = 1000
	tests := []struct {
		name    string
		rule    testregistry.Rule
		wantErr string
		// maxListings bounds the referrers requests nv2 may send.
		maxListings int
	}{{
		name: "next link to the same page",
		rule: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !testregistry.IsReferrers(r) {
				return false
			}
			rec := testregistry.Record(next, r)
			rec.Header().Set("Link", "<"+r.URL.RequestURI()+`>; rel="next"`)
			testregistry.Reply(w, rec, rec.Code, rec.Body.Bytes())
			return true
		},
		wantErr: "loop", maxListings: 1,
	}, {
		name: "next links that loop over two pages, spelled differently",
		rule: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !testregistry.IsReferrers(r) {
				return false
			}
			rec := testregistry.Record(next, r)
			link := r.URL.Path + "?page=1&artifactType=" + spec.ArtifactTypeSignature // unescaped, other order
			if r.URL.Query().Get("page") == "1" {
				link = r.URL.Path + "?artifactType=" + spec.ArtifactTypeSignature
			}
			rec.Header().Set("Link", "<"+link+`>; rel="next"`)
			testregistry.Reply(w, rec, rec.Code, rec.Body.Bytes())
			return true
		},
		wantErr: "loop", maxListings: 2,
	}, {
		name: "next link to another host",
		rule: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !testregistry.IsReferrers(r) {
				return false
			}
			rec := testregistry.Record(next, r)
			rec.Header().Set("Link", "<"+other.URL+r.URL.RequestURI()+`&page=2>; rel="next"`)
			testregistry.Reply(w, rec, rec.Code, rec.Body.Bytes())
			return true
		},
		wantErr: "leaves", maxListings: 1,
	}, {
		name: "100,000 referrers in one answer",
		rule: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !testregistry.IsReferrers(r) {
				return false
			}
			w.Header().Set("Content-Type", ocispec.MediaTypeImageIndex)
			testregistry.Reply(w, nil, http.StatusOK, jsonBytes(t, manyReferrers(100000, 0)))
			return true
		},
		wantErr: "(Content-Length 20800087)", maxListings: 1, // refused before reading
	}, {
		name: "100,000 referrers in one answer, no Content-Length",
		rule: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !testregistry.IsReferrers(r) {
				return false
			}
			w.Header().Set("Content-Type", ocispec.MediaTypeImageIndex)
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(jsonBytes(t, manyReferrers(100000, 0)))
			return true
		},
		wantErr: "over 4194304 bytes", maxListings: 1,
	}, {
		name: "100,000 referrers in pages of 1,000",
		rule: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !testregistry.IsReferrers(r) {
				return false
			}
			var n int
			fmt.Sscan(r.URL.Query().Get("page"), &n)
			w.Header().Set("Content-Type", ocispec.MediaTypeImageIndex)
			w.Header().Set("Link", fmt.Sprintf(`<%s?page=%d>; rel="next"`, r.URL.Path, n+1))
			testregistry.Reply(w, nil, http.StatusOK, jsonBytes(t, manyReferrers(page, n*page)))
			return true
		},
		wantErr: "more than 10000 referrers", maxListings: spec.MaxReferrers/page + 1,
	}, {
		name: "invalid JSON",
		rule: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !testregistry.IsReferrers(r) {
				return false
			}
			rec := testregistry.Record(next, r)
			testregistry.Reply(w, rec, http.StatusOK, []byte(`{"manifests": [{"digest": `))
			return true
		},
		wantErr: "decode referrers page", maxListings: 1,
	}, {
		name: "truncated answer",
		rule: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !testregistry.IsReferrers(r) {
				return false
			}
			testregistry.Truncate(w, testregistry.Record(next, r))
			return true
		},
		wantErr: "referrers", maxListings: 6, // a cut connection is retried, a few times
	}, {
		name: "endless answer",
		rule: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !testregistry.IsReferrers(r) {
				return false
			}
			testregistry.Endless(w, r, testregistry.Record(next, r), []byte(`{"manifests":[`))
			return true
		},
		wantErr: "over 4194304 bytes", maxListings: 1,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, h, subject, _ := hostileSetup(t, testregistry.GGCR)
			h.Set(tt.rule)
			reg.Reset()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			refs, err := remoteTarget(t, reg, "net-monitor").Referrers(ctx, subject, spec.ArtifactTypeSignature)
			t.Logf("%v after %s, %d requests, %d bytes sent", err, time.Since(start).Round(time.Millisecond), reg.Count(), h.BytesWritten())
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("listed %d referrers, error %v; want an error containing %q", len(refs), err, tt.wantErr)
			}
			if n := countReferrerGETs(reg); n > tt.maxListings {
				t.Errorf("%d referrers requests, want at most %d", n, tt.maxListings)
			}
			if elsewhere.Load() != 0 {
				t.Errorf("nv2 followed a link to another host")
			}
			if b := h.BytesWritten(); b > 64<<20 {
				t.Errorf("nv2 read up to %d bytes of a hostile answer", b)
			}
		})
	}
}

// TestHostileReferrersIndex: on a registry without the referrers API, the
// referrers tag can be written by anyone who can push.
func TestHostileReferrersIndex(t *testing.T) {
	reg, h, subject, _ := hostileSetup(t, testregistry.Distribution)
	tag := "sha256-" + subject.Digest.Encoded()
	serve := func(idx ocispec.Index) testregistry.Rule {
		body := jsonBytes(t, idx)
		return func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !testregistry.IsManifest(r, tag) {
				return false
			}
			w.Header().Set("Content-Type", ocispec.MediaTypeImageIndex)
			w.Header().Set("Docker-Content-Digest", digest.FromBytes(body).String())
			testregistry.Reply(w, nil, http.StatusOK, body)
			return true
		}
	}
	for _, tt := range []struct {
		name    string
		rule    testregistry.Rule
		wantErr string
	}{
		{"100,000 entries", serve(manyReferrers(100000, 0)), "is 20800087 bytes, over the limit"}, // refused before reading
		{"10,001 entries in 4 MiB", serve(manyReferrers(spec.MaxReferrers+1, 0)), "more than 10000"},
		{"invalid JSON", func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !testregistry.IsManifest(r, tag) {
				return false
			}
			body := []byte(`{"manifests":[`)
			w.Header().Set("Content-Type", ocispec.MediaTypeImageIndex)
			testregistry.Reply(w, nil, http.StatusOK, body)
			return true
		}, "decode"},
		{"endless index", func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !testregistry.IsManifest(r, tag) || r.Method != http.MethodGet {
				return false
			}
			testregistry.Endless(w, r, testregistry.Record(next, r), nil)
			return true
		}, "referrers index"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h.Set(tt.rule)
			defer h.Set(nil)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			refs, err := remoteTarget(t, reg, "net-monitor").Referrers(ctx, subject, spec.ArtifactTypeSignature)
			t.Log(err)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("listed %d referrers, error %v; want an error containing %q", len(refs), err, tt.wantErr)
			}
		})
	}
	if b := h.BytesWritten(); b > 128<<20 {
		t.Errorf("nv2 read up to %d bytes of hostile answers", b)
	}
}

// TestHostileSignatureContent: FetchSignature reads at most the limits,
// whatever size the registry claims or sends.
func TestHostileSignatureContent(t *testing.T) {
	reg, h, subject, sig := hostileSetup(t, testregistry.GGCR)
	tg := remoteTarget(t, reg, "net-monitor")
	refs, err := tg.Referrers(testCtx(t), subject, spec.ArtifactTypeSignature)
	if err != nil || len(refs) != 1 {
		t.Fatalf("%d referrers, %v", len(refs), err)
	}
	listed := refs[0]
	for _, tt := range []struct {
		name    string
		desc    func() ocispec.Descriptor
		rule    testregistry.Rule
		wantErr string
		// wantNoFetch: refused from the descriptor alone, before any GET.
		wantNoFetch bool
	}{
		{name: "listed as over 4 MiB", desc: func() ocispec.Descriptor {
			d := listed
			d.Size = spec.MaxManifestSize + 1
			return d
		}, wantErr: "over the limit", wantNoFetch: true},
		{name: "endless manifest", rule: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !testregistry.IsManifest(r, sig.Digest.String()) {
				return false
			}
			rec := testregistry.Record(next, r)
			testregistry.Endless(w, r, rec, rec.Body.Bytes())
			return true
		}, wantErr: "trailing data"},
		{name: "endless envelope", rule: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !testregistry.IsBlob(r) {
				return false
			}
			rec := testregistry.Record(next, r)
			testregistry.Endless(w, r, rec, rec.Body.Bytes())
			return true
		}, wantErr: "envelope"},
		{name: "manifest bytes that are not its digest", rule: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !testregistry.IsManifest(r, sig.Digest.String()) {
				return false
			}
			rec := testregistry.Record(next, r)
			b := rec.Body.Bytes()
			b[len(b)-2] ^= 1
			testregistry.Reply(w, rec, rec.Code, b)
			return true
		}, wantErr: "digest"},
		{name: "envelope bytes that are not its digest", rule: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !testregistry.IsBlob(r) {
				return false
			}
			rec := testregistry.Record(next, r)
			b := rec.Body.Bytes()
			b[0] = ' '
			testregistry.Reply(w, rec, rec.Code, b)
			return true
		}, wantErr: "digest"},
		{name: "manifest served as another media type", rule: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !testregistry.IsManifest(r, sig.Digest.String()) {
				return false
			}
			rec := testregistry.Record(next, r)
			rec.Header().Set("Content-Type", "application/json")
			testregistry.Reply(w, rec, rec.Code, rec.Body.Bytes())
			return true
		}, wantErr: "Content-Type"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h.Set(tt.rule)
			defer h.Set(nil)
			before := h.BytesWritten()
			d := listed
			if tt.desc != nil {
				d = tt.desc()
			}
			reg.Reset()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err := trust.FetchSignature(ctx, remoteTarget(t, reg, "net-monitor"), d)
			t.Log(err)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("FetchSignature: %v; want an error containing %q", err, tt.wantErr)
			}
			if tt.wantNoFetch && reg.Count() != 0 {
				t.Errorf("refused after %d requests, want none: %v", reg.Count(), reg.Requests())
			}
			if b := h.BytesWritten() - before; b > 64<<20 {
				t.Errorf("nv2 read up to %d bytes of a hostile answer", b)
			}
		})
	}
}

// TestPlainHTTPRule: HTTPS with certificate checks is the default; loopback
// hosts alone default to plain HTTP, and not when the user asked for TLS.
func TestPlainHTTPRule(t *testing.T) {
	for _, tt := range []struct {
		host  string
		opts  Options
		plain bool
	}{
		{"registry.example", Options{}, false},
		{"registry.example:5000", Options{}, false},
		{"10.0.0.1:5000", Options{}, false},
		{"localhost.example.com", Options{}, false},
		{"registry.example", Options{Insecure: true}, false},
		{"registry.example", Options{PlainHTTP: true}, true},
		{"localhost:5000", Options{}, true},
		{"127.0.0.1:5000", Options{}, true},
		{"[::1]:5000", Options{}, true},
		{"127.0.0.1:5000", Options{CAFile: "ca.pem"}, false},
		{"127.0.0.1:5000", Options{Insecure: true}, false},
		{"127.0.0.1:5000", Options{Insecure: true, PlainHTTP: true}, true},
	} {
		c := &Client{opts: tt.opts}
		if got := c.plainHTTP(tt.host); got != tt.plain {
			t.Errorf("plainHTTP(%q) with %+v = %v, want %v", tt.host, tt.opts, got, tt.plain)
		}
	}
	// The transport checks certificates unless Insecure says otherwise.
	for _, insecure := range []bool{false, true} {
		c := newTestClient(t, Options{Insecure: insecure})
		rt, ok := c.auth.Client.Transport.(*retry.Transport)
		if !ok {
			t.Fatalf("transport %T", c.auth.Client.Transport)
		}
		base, ok := rt.Base.(*http.Transport)
		if !ok {
			t.Fatalf("base transport %T", rt.Base)
		}
		if base.TLSClientConfig == nil || base.TLSClientConfig.InsecureSkipVerify != insecure {
			t.Errorf("Insecure %v: TLS config %+v", insecure, base.TLSClientConfig)
		}
	}
}
