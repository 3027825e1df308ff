package flows

import (
	"context"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/nv2-signing/nv2/pkg/registry"
	"github.com/nv2-signing/nv2/pkg/trust"
)

// Which signature verified a platform's manifest.
const (
	// SignedByManifest: the platform manifest's own signature.
	SignedByManifest = "manifest"
	// SignedByIndex: the signature of the index that lists it; the index's
	// digest covers the digests of what it lists.
	SignedByIndex = "index"
)

// PlatformVerdict is how the manifest of one platform of an image index
// verified.
type PlatformVerdict struct {
	// Platform is Manifest's platform as the index lists it,
	// os/arch[/variant] (the one asked for when there is no index).
	Platform string
	// Index is the image index the reference names; its digest is empty
	// when the reference names a single manifest, which is then Manifest.
	Index ocispec.Descriptor
	// Manifest is the platform's manifest: what to pull.
	Manifest ocispec.Descriptor
	// SignedBy is SignedByManifest or SignedByIndex when one verified.
	SignedBy string
	// ManifestResult and IndexResult are the two verdicts; IndexResult is
	// nil when the platform's own signature is required, or when there is
	// no index.
	ManifestResult, IndexResult *trust.Result
}

// verifyPlatform verifies the manifest the index loc names lists for
// loc.Platform. The index is fetched where a tag would only be resolved (one
// GET), then the signatures of the index and of the platform manifest are
// listed and checked in parallel, with the descriptors the index gave: the
// platform adds no round trip. The platform manifest passes with its own
// trusted signature, or, unless loc.RequirePlatformSignature, with the
// index's. VerifyResult.Verified names the platform manifest either way.
func (c *Client) verifyPlatform(ctx context.Context, v *trust.Verifier, loc Location) VerifyResult {
	r := VerifyResult{Reference: loc.Ref}
	t, err := c.openNamed(loc)
	if err != nil {
		r.Err = err
		return r
	}
	desc, raw, err := registry.FetchManifestReference(ctx, t.Storage, t.Ref.Reference())
	if err != nil {
		r.Err = err
		return r
	}
	pv := &PlatformVerdict{Platform: FormatPlatform(loc.Platform), Manifest: desc}
	src := knownSource{Storage: t.Storage, known: map[digest.Digest]ocispec.Descriptor{desc.Digest: desc}}
	if registry.IsIndex(desc.MediaType) {
		if pv.Manifest, r.Err = pickPlatform(raw, desc, t.Pinned(desc.Digest), loc.Platform); r.Err != nil {
			return r
		}
		pv.Index, pv.Platform = desc, FormatPlatform(pv.Manifest.Platform)
		src.known[pv.Manifest.Digest] = pv.Manifest
	}
	var wg sync.WaitGroup
	wg.Go(func() { pv.ManifestResult = v.Verify(ctx, src, t.Scope(), pv.Manifest.Digest.String()) })
	if pv.Index.Digest != "" && !loc.RequirePlatformSignature {
		wg.Go(func() { pv.IndexResult = v.Verify(ctx, src, t.Scope(), desc.Digest.String()) })
	}
	wg.Wait()
	r.Platform = pv
	pin := func(digest.Digest) string { return t.Pinned(pv.Manifest.Digest) }
	switch m, i := pv.ManifestResult, pv.IndexResult; {
	case passed(m):
		pv.SignedBy = SignedByManifest
		r.verdict(m, pin)
	case passed(i):
		pv.SignedBy = SignedByIndex
		r.verdict(i, pin)
	case i != nil && rank(i.Status) > rank(m.Status):
		r.verdict(i, pin)
	default:
		r.verdict(m, pin)
	}
	return r
}

// passed reports whether res lets the artifact through.
func passed(res *trust.Result) bool {
	return res != nil && (res.Status == trust.Verified || res.Status == trust.Skipped)
}

// rank orders failed verdicts by what they tell a user: an error that kept
// verification from completing over signatures that did not verify over
// no signature at all.
func rank(s trust.Status) int {
	switch s {
	case trust.NoSignature:
		return 1
	case trust.NotVerified:
		return 2
	default:
		return 3
	}
}

// knownSource answers Resolve from descriptors already read (an index and
// what it lists) and everything else from the storage.
type knownSource struct {
	registry.Storage
	known map[digest.Digest]ocispec.Descriptor
}

// Resolve returns the known descriptor of a digest without a request.
func (k knownSource) Resolve(ctx context.Context, reference string) (ocispec.Descriptor, error) {
	if d, ok := k.known[digest.Digest(reference)]; ok {
		return d, nil
	}
	return k.Storage.Resolve(ctx, reference)
}

// VerifiedDigest is the digest of what verified and what a pull should
// fetch: the platform's manifest for a platform verdict, else the subject.
func (r *VerifyResult) VerifiedDigest() digest.Digest {
	if r.Platform != nil {
		return r.Platform.Manifest.Digest
	}
	if r.Result == nil {
		return ""
	}
	return r.Subject.Digest
}
