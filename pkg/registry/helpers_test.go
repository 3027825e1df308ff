package registry

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/nv2-signing/nv2/internal/testregistry"
	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/spec"
)

// signingTimeForTests is the signing time of every test envelope.
const signingTimeForTests = "2026-01-02T03:04:05Z"

// testEnvelope returns bytes shaped like a JWS JSON envelope, different for
// each seed. The registry package never verifies envelopes, so no key is
// needed; the signing time makes the signature manifest deterministic.
func testEnvelope(seed string) []byte {
	hdr, _ := json.Marshal(map[string]any{"alg": "ES256", spec.HeaderSigningTime: signingTimeForTests})
	env, _ := json.Marshal(map[string]any{
		"payload":   base64.RawURLEncoding.EncodeToString([]byte(`{"seed":"` + seed + `"}`)),
		"protected": base64.RawURLEncoding.EncodeToString(hdr),
		"header":    map[string]any{},
		"signature": base64.RawURLEncoding.EncodeToString([]byte("sig-" + seed)),
	})
	return env
}

// newTestClient returns a Client with an empty docker config.
func newTestClient(t testing.TB, opts ...Options) *Client {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.DockerConfig == "" {
		o.DockerConfig = t.TempDir()
	}
	c, err := NewClient(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// remoteTarget returns the Remote of reg/repo with a fresh Client.
func remoteTarget(t testing.TB, reg *testregistry.Registry, repo string, opts ...Options) *Remote {
	t.Helper()
	ref, err := ParseReference(reg.Host+"/"+repo, "")
	if err != nil {
		t.Fatal(err)
	}
	tg, err := newTestClient(t, opts...).Repository(ref)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// orasRepo is a plain oras-go repository, as other tools would use.
func orasRepo(t testing.TB, reg *testregistry.Registry, repo string) *remote.Repository {
	t.Helper()
	r, err := remote.NewRepository(reg.Host + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	r.PlainHTTP = true
	return r
}

// tagsOf lists the tags of a repository with plain oras-go.
func tagsOf(t testing.TB, reg *testregistry.Registry, repo string) []string {
	t.Helper()
	var tags []string
	if err := orasRepo(t, reg, repo).Tags(context.Background(), "", func(ts []string) error {
		tags = append(tags, ts...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return tags
}

// digests returns the digests of ds, for comparisons.
func digests(ds []ocispec.Descriptor) map[string]bool {
	m := map[string]bool{}
	for _, d := range ds {
		m[d.Digest.String()] = true
	}
	return m
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// pushSignature stores envelope as a signature of subject in st, as the
// CLI does: the signature manifest built by pkg/signature, pushed as a
// referrer.
func pushSignature(ctx context.Context, st Storage, subject ocispec.Descriptor, envelope []byte, opts signature.ArtifactOptions) (ocispec.Descriptor, error) {
	a, err := signature.NewArtifact(subject, envelope, opts)
	if err == nil {
		err = st.PushReferrer(ctx, subject, Referrer{Descriptor: a.Descriptor, Manifest: a.Raw, Blobs: []Blob{{a.Manifest.Config, signature.EmptyConfig}, {a.EnvelopeDescriptor, a.Envelope}}})
	}
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("push signature of %s: %w", subject.Digest, err)
	}
	return a.Descriptor, nil
}
