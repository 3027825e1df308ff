package flows

import (
	"context"
	"fmt"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/nv2-signing/nv2/pkg/registry"
	"github.com/nv2-signing/nv2/pkg/signature"
)

// Client runs nv2's flows. Every flow of one Client shares its registry
// connection pool and token cache. A Client is safe for concurrent use.
type Client struct {
	// Registry reaches remote registries. Nil is fine for flows that only
	// touch OCI layouts and files; a registry reference then fails.
	Registry *registry.Client
	// DefaultRegistry is the registry of a name without a host
	// ("net-monitor:v1"); empty, docker.io's rules apply.
	DefaultRegistry string
}

// Location names an artifact: a registry reference
// (host[:port]/repository[:tag|@digest]), or with Layout set, a local OCI
// image layout reference (PATH[:tag|@digest]).
type Location struct {
	Ref    string
	Layout bool

	// Platform, when set, makes Verify and Pull about the manifest an image
	// index lists for that platform (see verify_platform.go); with
	// RequirePlatformSignature, that manifest's own signature is required,
	// the index's is not enough.
	Platform                 *ocispec.Platform
	RequirePlatformSignature bool
}

// Target is an opened Location: where the artifact lives and what names it.
type Target struct {
	Ref registry.Reference
	registry.Storage
}

// Scope is the repository a trust policy's registryScopes match, or "" for
// an OCI image layout (covered only by the scope "*").
func (t *Target) Scope() string {
	if t.Ref.IsLayout() {
		return ""
	}
	return t.Ref.Registry + "/" + t.Ref.Repository
}

// Pinned names the artifact of t with digest d: repo@digest or PATH@digest.
func (t *Target) Pinned(d digest.Digest) string { return t.Ref.WithDigest(d).String() }

// ParseLocation parses loc without opening anything. A malformed reference
// is a *UsageError.
func (c *Client) ParseLocation(loc Location) (registry.Reference, error) {
	var ref registry.Reference
	var err error
	if loc.Layout {
		ref, err = registry.ParseLayoutReference(loc.Ref)
	} else {
		ref, err = registry.ParseReference(loc.Ref, c.DefaultRegistry)
	}
	if err != nil {
		return registry.Reference{}, &UsageError{Err: err}
	}
	return ref, nil
}

// Open parses loc and opens its repository or layout. It sends no request.
func (c *Client) Open(loc Location) (*Target, error) {
	ref, err := c.ParseLocation(loc)
	if err != nil {
		return nil, err
	}
	if loc.Layout {
		t, err := registry.OpenLayout(ref.Layout)
		if err != nil {
			return nil, err
		}
		return &Target{Ref: ref, Storage: t}, nil
	}
	if c.Registry == nil {
		return nil, fmt.Errorf("%s: no registry client to reach it", loc.Ref)
	}
	t, err := c.Registry.Repository(ref)
	if err != nil {
		return nil, err
	}
	return &Target{Ref: ref, Storage: t}, nil
}

// openNamed opens loc, which must name a tag or a digest.
func (c *Client) openNamed(loc Location) (*Target, error) {
	t, err := c.Open(loc)
	if err != nil {
		return nil, err
	}
	if t.Ref.Reference() == "" {
		return nil, usagef("%q names no tag or digest: add :TAG or @sha256:...", loc.Ref)
	}
	return t, nil
}

// Resolve opens loc, which must name a tag or a digest, and resolves it
// once: what follows works on the returned descriptor's digest.
func (c *Client) Resolve(ctx context.Context, loc Location) (*Target, ocispec.Descriptor, error) {
	t, err := c.openNamed(loc)
	if err != nil {
		return nil, ocispec.Descriptor{}, err
	}
	subject, err := t.Resolve(ctx, t.Ref.Reference())
	if err != nil {
		return nil, ocispec.Descriptor{}, err
	}
	return t, subject, nil
}

// pushSignature stores envelope in t as a signature of subject: the
// signature manifest pkg/signature builds, pushed as a referrer. It returns
// the signature manifest's descriptor.
func pushSignature(ctx context.Context, t *Target, subject ocispec.Descriptor, envelope []byte, opts signature.ArtifactOptions) (ocispec.Descriptor, error) {
	a, err := signature.NewArtifact(subject, envelope, opts)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("push signature of %s to %s: %w", subject.Digest, t, err)
	}
	blobs := []registry.Blob{{Descriptor: a.Manifest.Config, Data: signature.EmptyConfig}, {Descriptor: a.EnvelopeDescriptor, Data: a.Envelope}}
	if err := t.PushReferrer(ctx, subject, registry.Referrer{Descriptor: a.Descriptor, Manifest: a.Raw, Blobs: blobs}); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("push signature of %s: %w", subject.Digest, err)
	}
	return a.Descriptor, nil
}
