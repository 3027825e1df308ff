package trust

import (
	"github.com/nv2-signing/nv2/internal/testsign"

	"context"
	"crypto/x509"
	"fmt"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/nv2-signing/nv2/internal/testregistry"
	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/registry"
	"github.com/nv2-signing/nv2/pkg/signature"
)

// The performance targets of verification, as request counts and round-trip
// levels counted at real registries (go-containerregistry's with the
// referrers API, CNCF distribution without it). Each verification uses a
// new Client, as a new nv2 process would.

// perfSigner is a test signing identity.
type perfSigner struct {
	signer *signature.Signer
	chain  []*x509.Certificate
}

func newPerfSigner(t testing.TB, name string) *perfSigner {
	t.Helper()
	s, creds := testsign.Signer(t, nvcrypto.GenerateOptions{CommonName: name})
	return &perfSigner{signer: s, chain: creds.Chain}
}

// envelope signs subject; seq varies the signing time so that every
// envelope differs.
func (s *perfSigner) envelope(t testing.TB, subject ocispec.Descriptor, seq int) []byte {
	t.Helper()
	return testsign.Sign(t, s.signer, signature.SignRequest{Target: subject, SigningTime: time.Now().Add(-time.Duration(seq+1) * time.Second)})
}

// junk returns envelopes of subject from untrusted signers: a few keys, each
// signing several times. With forgedHint their manifests claim the chain
// thumbprints of claimed (a lie the verifier must survive).
func junk(t testing.TB, subject ocispec.Descriptor, envelopes int, forgedHint []*x509.Certificate) []testregistry.Envelope {
	t.Helper()
	signers := []*perfSigner{newPerfSigner(t, "junk-a"), newPerfSigner(t, "junk-b"), newPerfSigner(t, "junk-c")}
	out := make([]testregistry.Envelope, envelopes)
	for i := range out {
		s := signers[i%len(signers)]
		tps := nvcrypto.Thumbprints(s.chain)
		if forgedHint != nil {
			tps = nvcrypto.Thumbprints(forgedHint)
		}
		out[i] = testregistry.Envelope{Data: s.envelope(t, subject, i), Thumbprints: tps}
	}
	return out
}

// perfTarget opens reg/repo with a new Client.
func perfTarget(t testing.TB, reg *testregistry.Registry, repo string) *registry.Remote {
	t.Helper()
	c, err := registry.NewClient(registry.Options{DockerConfig: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := registry.ParseReference(reg.Host+"/"+repo, "")
	if err != nil {
		t.Fatal(err)
	}
	tg, err := c.Repository(ref)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// pushSigned signs subject as s and pushes the signature with nv2.
func (s *perfSigner) push(t testing.TB, reg *testregistry.Registry, repo string, subject ocispec.Descriptor, seq int) ocispec.Descriptor {
	t.Helper()
	a, err := signature.NewArtifact(subject, s.envelope(t, subject, seq), signature.ArtifactOptions{Thumbprints: nvcrypto.Thumbprints(s.chain)})
	if err != nil {
		t.Fatal(err)
	}
	blobs := []registry.Blob{{Descriptor: a.Manifest.Config, Data: signature.EmptyConfig}, {Descriptor: a.EnvelopeDescriptor, Data: a.Envelope}}
	if err := perfTarget(t, reg, repo).PushReferrer(context.Background(), subject, registry.Referrer{Descriptor: a.Descriptor, Manifest: a.Raw, Blobs: blobs}); err != nil {
		t.Fatal(err)
	}
	return a.Descriptor
}

func perfCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// verifyCount verifies reference with a new Client and returns the result
// and the requests it took.
func verifyCount(t testing.TB, reg *testregistry.Registry, v *Verifier, src Source, reference string) (*Result, int) {
	t.Helper()
	reg.Reset()
	res := v.Verify(perfCtx(t), src, reg.Host+"/net-monitor", reference)
	n := reg.Count()
	if res.Status != Verified {
		t.Fatalf("verify %s: %s: %v (requests: %v)", reference, res.Status, res.Err, reg.Requests())
	}
	return res, n
}

// TestVerifyRequestCounts holds one-signature verification to its request
// targets: by tag 4 with the referrers API (resolve, list, manifest,
// envelope), 5 without (the list is a referrers GET and the index), by
// digest as many but one level fewer: the artifact's descriptor, which the
// payload's must match, is read beside the list.
func TestVerifyRequestCounts(t *testing.T) {
	limits := map[testregistry.Kind]struct{ byTag, byDigest, digestLevels int }{
		testregistry.GGCR:         {byTag: 4, byDigest: 4, digestLevels: 3},
		testregistry.Distribution: {byTag: 5, byDigest: 5, digestLevels: 4},
	}
	signer := newPerfSigner(t, "wabbit-networks.io")
	v := NewCertVerifier(signer.chain)
	for _, kind := range testregistry.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			reg := testregistry.Start(t, kind)
			subject := testregistry.PushImage(t, reg, "net-monitor", "v1", "a")
			signer.push(t, reg, "net-monitor", subject, 0)
			lim := limits[kind]
			// Parallel requests must arrive within the delay to share a level.
			reg.SetDelay(20 * time.Millisecond)
			for _, tt := range []struct {
				ref   string
				limit int
			}{{"v1", lim.byTag}, {subject.Digest.String(), lim.byDigest}} {
				_, n := verifyCount(t, reg, v, perfTarget(t, reg, "net-monitor"), tt.ref)
				t.Logf("verify %s: %d requests (limit %d): %v", tt.ref, n, tt.limit, reg.Requests())
				if n > tt.limit {
					t.Errorf("verify %s took %d requests, limit %d: %v", tt.ref, n, tt.limit, reg.Requests())
				}
				if l := reg.Levels(); tt.ref != "v1" && l > lim.digestLevels {
					t.Errorf("verify %s took %d round-trip levels, limit %d: %v", tt.ref, l, lim.digestLevels, reg.Requests())
				}
			}
		})
	}
}

// TestVerifyThousandJunkSignatures: 1,000 signatures from untrusted signers
// and one trusted, on one image. The thumbprint hints put the trusted one
// first, so the junk costs no request: verification takes what it takes
// with one signature (plus one request per extra page of the listing).
func TestVerifyThousandJunkSignatures(t *testing.T) {
	const junkCount, pageSize = 1000, 100
	trusted := newPerfSigner(t, "wabbit-networks.io")
	v := NewCertVerifier(trusted.chain)
	for _, tt := range []struct {
		name  string
		kind  testregistry.Kind
		opts  testregistry.Options
		limit int
	}{
		{name: "referrers API", kind: testregistry.GGCR, limit: 4},
		{name: "referrers API, pages of 100", kind: testregistry.GGCR, opts: testregistry.Options{Wrap: testregistry.PageReferrers(pageSize)}, limit: 4 + (junkCount+1)/pageSize},
		{name: "referrers tag schema", kind: testregistry.Distribution, limit: 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := perfCtx(t)
			reg := testregistry.Start(t, tt.kind, tt.opts)
			subject := testregistry.PushImage(t, reg, "net-monitor", "v1", "a")
			if _, err := testregistry.PushSignatures(ctx, reg.Host, "net-monitor", subject, junk(t, subject, 12, nil), junkCount); err != nil {
				t.Fatal(err)
			}
			good := trusted.push(t, reg, "net-monitor", subject, 0) // listed last on distribution
			res, n := verifyCount(t, reg, v, perfTarget(t, reg, "net-monitor"), "v1")
			t.Logf("%d signatures: %d requests (limit %d), %d tried", res.Found, n, tt.limit, res.Tried)
			if res.Found != junkCount+1 || res.Signature.Digest != good.Digest || res.Tried != 1 {
				t.Errorf("found %d, tried %d, verified %s; want %d found, 1 tried, %s", res.Found, res.Tried, res.Signature.Digest, junkCount+1, good.Digest)
			}
			if n > tt.limit {
				t.Errorf("verify took %d requests with %d junk signatures, limit %d", n, junkCount, tt.limit)
			}
		})
	}
}

// reordered lists a Remote's referrers with one signature moved to the
// front or the back: the test decides where the trusted signature is
// listed, whatever order the registry answers in.
type reordered struct {
	*registry.Remote
	digest digest.Digest
	last   bool
}

func (r *reordered) Referrers(ctx context.Context, subject ocispec.Descriptor, artifactType string) ([]ocispec.Descriptor, error) {
	refs, err := r.Remote.Referrers(ctx, subject, artifactType)
	var moved *ocispec.Descriptor
	var rest []ocispec.Descriptor
	for _, d := range refs {
		if d.Digest == r.digest {
			moved = &d
		} else {
			rest = append(rest, d)
		}
	}
	if moved == nil {
		return refs, err
	}
	if r.last {
		return append(rest, *moved), err
	}
	return append([]ocispec.Descriptor{*moved}, rest...), err
}

// TestVerifyFetchesSignaturesInParallel: five signatures whose hints all
// name the trusted certificate (four of them lie), the trusted one listed
// last. The verifier tries the first alone (the likely one), then the other
// four side by side (Concurrency 4): the registry sees four fetches in
// flight at once, and verification by tag takes 6 sequential round trips:
// resolve, list, manifest and envelope of the first, then of the four.
func TestVerifyFetchesSignaturesInParallel(t *testing.T) {
	// The delay only widens the window in which parallel requests must
	// arrive; levels are counted from the order of events (see
	// testregistry.Levels), never from durations.
	const delay = 50 * time.Millisecond
	trusted := newPerfSigner(t, "wabbit-networks.io")
	v := NewCertVerifier(trusted.chain)
	ctx := perfCtx(t)
	reg := testregistry.Start(t, testregistry.GGCR)
	subject := testregistry.PushImage(t, reg, "net-monitor", "v1", "a")
	if _, err := testregistry.PushSignatures(ctx, reg.Host, "net-monitor", subject, junk(t, subject, 4, trusted.chain), 4); err != nil {
		t.Fatal(err)
	}
	good := trusted.push(t, reg, "net-monitor", subject, 0)
	reg.SetDelay(delay)
	src := &reordered{Remote: perfTarget(t, reg, "net-monitor"), digest: good.Digest, last: true}
	res, n := verifyCount(t, reg, v, src, "v1")
	levels, inFlight := reg.Levels(), reg.MaxInFlight()
	t.Logf("%d requests, %d levels, %d in flight at most, %d tried: %v", n, levels, inFlight, res.Tried, reg.Requests())
	// The four of the second group race; once the trusted one verifies the
	// others are cancelled, so some may end untried.
	if res.Tried < 2 || res.Signature.Digest != good.Digest {
		t.Errorf("tried %d, verified %s; want at least 2 tried and %s verified", res.Tried, res.Signature.Digest, good.Digest)
	}
	if inFlight < 4 {
		t.Errorf("at most %d requests in flight: the signature fetches should overlap, 4 at once", inFlight)
	}
	if levels > 6 {
		t.Errorf("verification took %d sequential round trips, want at most 6", levels)
	}
	if n > 2+5*2 {
		t.Errorf("%d requests, want at most 12: resolve, list, and a manifest and an envelope for each of 5", n)
	}
}

// TestVerifyStopsAtTheFirstVerified: once a signature verifies, no other
// one is fetched, however many are listed (here 20 more, all claiming a
// trusted chain).
func TestVerifyStopsAtTheFirstVerified(t *testing.T) {
	const liars = 20
	trusted := newPerfSigner(t, "wabbit-networks.io")
	v := NewCertVerifier(trusted.chain)
	ctx := perfCtx(t)
	reg := testregistry.Start(t, testregistry.GGCR)
	subject := testregistry.PushImage(t, reg, "net-monitor", "v1", "a")
	if _, err := testregistry.PushSignatures(ctx, reg.Host, "net-monitor", subject, junk(t, subject, 3, trusted.chain), liars); err != nil {
		t.Fatal(err)
	}
	good := trusted.push(t, reg, "net-monitor", subject, 0)
	// One request at a time: the trusted signature, listed first, is the
	// only one fetched.
	v.Concurrency = 1
	src := &reordered{Remote: perfTarget(t, reg, "net-monitor"), digest: good.Digest}
	res, n := verifyCount(t, reg, v, src, subject.Digest.String())
	if res.Tried != 1 || n != 4 {
		t.Errorf("concurrency 1: tried %d signatures in %d requests, want 1 in 4 (descriptor and list, manifest, envelope): %v", res.Tried, n, reg.Requests())
	}
	// Four at a time: the first candidate is still tried alone, and
	// nothing more starts once it verifies.
	v.Concurrency = 4
	res, n = verifyCount(t, reg, v, src, subject.Digest.String())
	if res.Signature.Digest != good.Digest || res.Tried != 1 || n != 4 {
		t.Errorf("concurrency 4: verified %s after %d tries in %d requests, want %s after 1 in 4: %v", res.Signature.Digest, res.Tried, n, good.Digest, reg.Requests())
	}
}

// BenchmarkVerifyManySignatures verifies, by digest and with a new Client
// each time, an image with n junk signatures and one trusted on the
// referrers-API registry.
func BenchmarkVerifyManySignatures(b *testing.B) {
	for _, n := range []int{0, 1000} {
		b.Run(fmt.Sprintf("junk=%d", n), func(b *testing.B) {
			trusted := newPerfSigner(b, "wabbit-networks.io")
			v := NewCertVerifier(trusted.chain)
			ctx := context.Background()
			reg := testregistry.Start(b, testregistry.GGCR)
			subject := testregistry.PushImage(b, reg, "net-monitor", "v1", "a")
			if n > 0 {
				if _, err := testregistry.PushSignatures(ctx, reg.Host, "net-monitor", subject, junk(b, subject, 12, nil), n); err != nil {
					b.Fatal(err)
				}
			}
			trusted.push(b, reg, "net-monitor", subject, 0)
			b.ResetTimer()
			for b.Loop() {
				if res := v.Verify(ctx, perfTarget(b, reg, "net-monitor"), reg.Host+"/net-monitor", subject.Digest.String()); res.Status != Verified {
					b.Fatal(res.Err)
				}
			}
		})
	}
}
