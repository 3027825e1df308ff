package flows_test

import (
	"context"
	"crypto/x509"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	notation "github.com/notaryproject/notation-core-go/signature"
	_ "github.com/notaryproject/notation-core-go/signature/jws" // registers application/jose+json
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/nv2-signing/nv2/internal/testregistry"
	"github.com/nv2-signing/nv2/internal/testsign"
	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/flows"
	"github.com/nv2-signing/nv2/pkg/registry"
	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/spec"
	"github.com/nv2-signing/nv2/pkg/trust"
)

// place is where a multi-platform image lives: a registry of one kind, or
// an OCI image layout.
type place struct {
	name   string
	reg    *testregistry.Registry // nil for a layout
	dir    string
	client *flows.Client
}

func places(t *testing.T) []*place {
	var out []*place
	for _, kind := range testregistry.Kinds {
		out = append(out, &place{name: string(kind), reg: testregistry.Start(t, kind)})
	}
	out = append(out, &place{name: "oci-layout", dir: t.TempDir()})
	for _, p := range out {
		rc, err := registry.NewClient(registry.Options{})
		if err != nil {
			t.Fatal(err)
		}
		p.client = &flows.Client{Registry: rc}
	}
	return out
}

// put stores x as repo:tag and returns its location.
func (p *place) put(t *testing.T, x *testregistry.Index, repo, tag string) flows.Location {
	t.Helper()
	if p.reg != nil {
		x.Push(t, p.reg.Host, repo, tag)
		return flows.Location{Ref: p.reg.Host + "/" + repo + ":" + tag}
	}
	dir := filepath.Join(p.dir, repo)
	if _, err := x.WriteLayout(dir, tag); err != nil {
		t.Fatal(err)
	}
	return flows.Location{Ref: dir + ":" + tag, Layout: true}
}

func platform(t *testing.T, s string) *ocispec.Platform {
	t.Helper()
	p, err := flows.ParsePlatform(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newSigner(t *testing.T, cn string) (*signature.Signer, *trust.Verifier) {
	t.Helper()
	s, creds := testsign.Signer(t, nvcrypto.GenerateOptions{CommonName: cn, CA: true})
	return s, trust.NewCertVerifier([]*x509.Certificate{creds.Chain[len(creds.Chain)-1]})
}

// verifyAs verifies loc for plat and checks who vouched for it; want "" means
// verification must fail with wantErr.
func verifyAs(t *testing.T, c *flows.Client, v *trust.Verifier, loc flows.Location, plat string, require bool, want string, wantErr error, manifest ocispec.Descriptor) {
	t.Helper()
	loc.Platform, loc.RequirePlatformSignature = platform(t, plat), require
	r := c.Verify(context.Background(), v, loc)[0]
	if want == "" {
		if !errors.Is(r.Err, wantErr) {
			t.Fatalf("verify %s --platform %s: err %v, want %v", loc.Ref, plat, r.Err, wantErr)
		}
		return
	}
	if r.Err != nil {
		t.Fatalf("verify %s --platform %s: %v", loc.Ref, plat, r.Err)
	}
	if r.Platform.SignedBy != want || r.VerifiedDigest() != manifest.Digest {
		t.Fatalf("verify %s --platform %s: signed by %q, pull %s; want %q, %s", loc.Ref, plat, r.Platform.SignedBy, r.VerifiedDigest(), want, manifest.Digest)
	}
}

func TestMultiPlatformSignAndVerify(t *testing.T) {
	ctx := context.Background()
	signer, v := newSigner(t, "wabbit-networks.io")
	other, _ := newSigner(t, "someone-else")
	for _, p := range places(t) {
		t.Run(p.name, func(t *testing.T) {
			c := p.client
			x := testregistry.NewIndex(p.name, "linux/amd64", "linux/arm64/v8")
			amd, arm := x.Images[0].Descriptor, x.Images[1].Descriptor

			t.Run("recursive signs every level, each verifies by itself", func(t *testing.T) {
				loc := p.put(t, x, "recursive", "v1")
				res, err := c.Sign(ctx, flows.SignOptions{Signer: signer, Artifact: loc, Recursive: true})
				if err != nil {
					t.Fatal(err)
				}
				if res.Subject.Digest != x.Descriptor.Digest || len(res.Children) != 2 || res.Children[1].Subject.Digest != arm.Digest || flows.FormatPlatform(res.Children[1].Platform) != "linux/arm64/v8" {
					t.Fatalf("recursive sign: %+v", res)
				}
				verifyAs(t, c, v, loc, "linux/amd64", true, flows.SignedByManifest, nil, amd)
				verifyAs(t, c, v, loc, "linux/arm64", true, flows.SignedByManifest, nil, arm)
				notationVerifiesEach(t, c, loc, x.Descriptor, amd, arm)
			})
			t.Run("only the index signed vouches for its platforms", func(t *testing.T) {
				loc := p.put(t, x, "index-only", "v1")
				if _, err := c.Sign(ctx, flows.SignOptions{Signer: signer, Artifact: loc}); err != nil {
					t.Fatal(err)
				}
				verifyAs(t, c, v, loc, "linux/amd64", false, flows.SignedByIndex, nil, amd)
				verifyAs(t, c, v, loc, "linux/amd64", true, "", flows.ErrNoSignature, amd)
			})
			t.Run("one platform signed", func(t *testing.T) {
				loc := p.put(t, x, "one-platform", "v1")
				res, err := c.Sign(ctx, flows.SignOptions{Signer: signer, Artifact: loc, Platform: platform(t, "linux/arm64")})
				if err != nil || res.Subject.Digest != arm.Digest {
					t.Fatalf("sign --platform linux/arm64 signed %v: %v", res, err)
				}
				verifyAs(t, c, v, loc, "linux/arm64/v8", false, flows.SignedByManifest, nil, arm)
				verifyAs(t, c, v, loc, "linux/amd64", false, "", flows.ErrNoSignature, amd)
			})
			t.Run("a platform the index does not list", func(t *testing.T) {
				loc := p.put(t, x, "missing-platform", "v1")
				loc.Platform = platform(t, "linux/s390x")
				r := c.Verify(ctx, v, loc)[0]
				var nf *flows.PlatformNotFoundError
				if !errors.As(r.Err, &nf) || nf.Platform != "linux/s390x" || len(nf.Available) != 2 {
					t.Fatalf("verify --platform linux/s390x: %v", r.Err)
				}
				if _, err := c.Sign(ctx, flows.SignOptions{Signer: signer, Artifact: loc, Platform: loc.Platform}); !errors.As(err, &nf) {
					t.Fatalf("sign --platform linux/s390x: %v", err)
				}
			})
			t.Run("a tampered child is not covered", func(t *testing.T) {
				loc := p.put(t, x, "tampered", "v1")
				if _, err := c.Sign(ctx, flows.SignOptions{Signer: signer, Artifact: loc, Recursive: true}); err != nil {
					t.Fatal(err)
				}
				evil := testregistry.NewIndex("evil "+p.name, "linux/amd64").Images[0]
				loc2 := p.put(t, testregistry.IndexOf(evil, x.Images[1]), "tampered", "v2")
				verifyAs(t, c, v, loc2, "linux/amd64", false, "", flows.ErrNoSignature, evil.Descriptor)
				verifyAs(t, c, v, loc2, "linux/arm64", false, flows.SignedByManifest, nil, arm)
			})
			t.Run("an untrusted index, a trusted child", func(t *testing.T) {
				loc := p.put(t, x, "untrusted-index", "v1")
				if _, err := c.Sign(ctx, flows.SignOptions{Signer: other, Artifact: loc}); err != nil {
					t.Fatal(err)
				}
				if _, err := c.Sign(ctx, flows.SignOptions{Signer: signer, Artifact: loc, Platform: platform(t, "linux/amd64")}); err != nil {
					t.Fatal(err)
				}
				verifyAs(t, c, v, loc, "linux/amd64", false, flows.SignedByManifest, nil, amd)
				verifyAs(t, c, v, loc, "linux/arm64", false, "", flows.ErrNotVerified, arm)
			})
			t.Run("nested indexes are signed too", func(t *testing.T) {
				inner := testregistry.NewIndex("inner "+p.name, "windows/amd64")
				loc := p.put(t, x.Nest(inner), "nested", "v1")
				res, err := c.Sign(ctx, flows.SignOptions{Signer: signer, Artifact: loc, Recursive: true})
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Children) != 4 || res.Children[3].Subject.Digest != inner.Images[0].Descriptor.Digest {
					t.Fatalf("recursive sign of a nested index signed %d manifests: %+v", len(res.Children), res.Children)
				}
			})
		})
	}
}

// notationVerifiesEach checks with notation-core-go that every subject has
// a signature nv2 made whose envelope verifies and names that subject.
func notationVerifiesEach(t *testing.T, c *flows.Client, loc flows.Location, subjects ...ocispec.Descriptor) {
	t.Helper()
	ctx := context.Background()
	tgt, err := c.Open(loc)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range subjects {
		refs, err := tgt.Referrers(ctx, s, spec.ArtifactTypeSignature)
		if err != nil || len(refs) != 1 {
			t.Fatalf("signatures of %s: %v %v", s.Digest, refs, err)
		}
		a, err := trust.FetchSignature(ctx, tgt, refs[0])
		if err != nil {
			t.Fatal(err)
		}
		env, err := notation.ParseEnvelope(spec.MediaTypeEnvelope, a.Envelope)
		if err != nil {
			t.Fatalf("notation-core-go ParseEnvelope: %v", err)
		}
		content, err := env.Verify()
		if err != nil {
			t.Fatalf("notation-core-go Verify of the signature of %s: %v", s.Digest, err)
		}
		if got := string(content.Payload.Content); !containsDigest(got, s.Digest.String()) {
			t.Fatalf("the signature of %s signs %s", s.Digest, got)
		}
	}
}

func containsDigest(payload, d string) bool {
	return len(payload) > 0 && strings.Contains(payload, `"digest":"`+d+`"`)
}

// TestPlatformVerifyRoundTrips: verify --platform by tag fetches the index
// (one GET where a tag would be resolved with a HEAD), then lists the
// signatures of the index and of the platform manifest in parallel: no more
// round-trip levels than verify by tag without a platform.
func TestPlatformVerifyRoundTrips(t *testing.T) {
	limits := map[testregistry.Kind]int{testregistry.GGCR: 4, testregistry.Distribution: 5}
	signer, v := newSigner(t, "wabbit-networks.io")
	for _, kind := range testregistry.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			reg := testregistry.Start(t, kind)
			x := testregistry.NewIndex("levels", "linux/amd64", "linux/arm64")
			x.Push(t, reg.Host, "net-monitor", "v1")
			loc := flows.Location{Ref: reg.Host + "/net-monitor:v1"}
			sign, err := registry.NewClient(registry.Options{})
			if err != nil {
				t.Fatal(err)
			}
			reg.SetDelay(20 * time.Millisecond) // parallel requests must arrive within it to share a level
			reg.Reset()
			if _, err := (&flows.Client{Registry: sign}).Sign(context.Background(), flows.SignOptions{Signer: signer, Artifact: loc, Recursive: true}); err != nil {
				t.Fatal(err)
			}
			// One resolve for the whole index: a GET of the tag, nothing
			// else asked about a manifest nv2 did not push.
			for _, q := range reg.Requests() {
				if q.Method == "HEAD" || (q.Method == "GET" && strings.Contains(q.Path, "/manifests/") && !strings.HasSuffix(q.Path, "/manifests/v1") && !strings.Contains(q.Path, "sha256-")) {
					t.Errorf("sign --recursive sent %v after fetching the index once", q)
				}
			}
			// With the referrers API the three signatures are pushed side
			// by side: no more levels than signing one manifest with a new
			// client (the index; the referrers API probe, which a busy
			// machine may finish before the uploads start; the uploads; the
			// manifest). One after the other they take 7.
			if l := reg.Levels(); kind == testregistry.GGCR && l > 4 {
				t.Errorf("sign --recursive took %d round-trip levels, limit 4: %v", l, reg.Requests())
			}
			rc, err := registry.NewClient(registry.Options{})
			if err != nil {
				t.Fatal(err)
			}
			reg.Reset()
			loc.Platform = platform(t, "linux/arm64")
			r := (&flows.Client{Registry: rc}).Verify(context.Background(), v, loc)[0]
			if r.Err != nil || r.Platform.SignedBy != flows.SignedByManifest {
				t.Fatalf("verify: %v", r.Err)
			}
			if l := reg.Levels(); l > limits[kind] {
				t.Errorf("verify --platform took %d round-trip levels, limit %d: %v", l, limits[kind], reg.Requests())
			}
			for _, q := range reg.Requests() {
				if q.Method == "HEAD" {
					t.Errorf("verify --platform sent %v: the index is fetched, its children are known from it", q)
				}
			}
		})
	}
}

// TestPullPlatform: pull copies exactly the platform manifest that verified.
func TestPullPlatform(t *testing.T) {
	signer, v := newSigner(t, "wabbit-networks.io")
	reg := testregistry.Start(t, testregistry.Distribution)
	x := testregistry.NewIndex("pull", "linux/amd64", "linux/arm64")
	x.Push(t, reg.Host, "net-monitor", "v1")
	rc, err := registry.NewClient(registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := &flows.Client{Registry: rc}
	loc := flows.Location{Ref: reg.Host + "/net-monitor:v1"}
	if _, err := c.Sign(context.Background(), flows.SignOptions{Signer: signer, Artifact: loc}); err != nil {
		t.Fatal(err)
	}
	loc.Platform = platform(t, "linux/arm64")
	dir := filepath.Join(t.TempDir(), "out")
	res, err := c.Pull(context.Background(), flows.PullOptions{Artifact: loc, Verifier: v, Layout: dir})
	if err != nil {
		t.Fatal(err)
	}
	if res.Copied.Digest != x.Images[1].Descriptor.Digest || res.Platform.SignedBy != flows.SignedByIndex {
		t.Fatalf("pulled %s (signed by %s), want the arm64 manifest %s", res.Copied.Digest, res.Platform.SignedBy, x.Images[1].Descriptor.Digest)
	}
	l, err := registry.OpenLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := l.Resolve(context.Background(), "v1"); err != nil || d.Digest != x.Images[1].Descriptor.Digest {
		t.Fatalf("the layout's v1 is %v (%v), want the arm64 manifest", d.Digest, err)
	}
}

// TestCopyIndexCarriesEveryLevel: a copy of a recursively signed index
// carries the signatures of its platform manifests as well as its own, to a
// registry without the referrers API and to an OCI layout.
func TestCopyIndexCarriesEveryLevel(t *testing.T) {
	ctx := context.Background()
	signer, v := newSigner(t, "wabbit-networks.io")
	ps := places(t)
	from := ps[0] // go-containerregistry's, with the referrers API
	x := testregistry.NewIndex("copy", "linux/amd64", "linux/arm64")
	src := from.put(t, x, "src", "v1")
	if _, err := from.client.Sign(ctx, flows.SignOptions{Signer: signer, Artifact: src, Recursive: true}); err != nil {
		t.Fatal(err)
	}
	for _, p := range ps[1:] {
		t.Run(p.name, func(t *testing.T) {
			dst := flows.Location{Ref: filepath.Join(p.dir, "copied") + ":v1", Layout: true}
			if p.reg != nil {
				dst = flows.Location{Ref: p.reg.Host + "/copied:v1"}
			}
			if _, err := from.client.Copy(ctx, src, dst); err != nil {
				t.Fatal(err)
			}
			verifyAs(t, p.client, v, dst, "linux/arm64", true, flows.SignedByManifest, nil, x.Images[1].Descriptor)
			verifyAs(t, p.client, v, dst, "linux/amd64", true, flows.SignedByManifest, nil, x.Images[0].Descriptor)
			r := p.client.Verify(ctx, v, dst)[0]
			if r.Err != nil || r.Subject.Digest != x.Descriptor.Digest {
				t.Fatalf("the index's own signature did not come along: %v", r.Err)
			}
		})
	}
}
