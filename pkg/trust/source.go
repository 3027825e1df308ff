package trust

import (
	"context"
	"fmt"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/spec"
)

// Source is where signatures are found: a remote repository or an OCI image
// layout (any registry.Storage satisfies it). String names it in errors.
type Source interface {
	String() string
	// Resolve returns the descriptor of the manifest a tag or digest names.
	Resolve(ctx context.Context, reference string) (ocispec.Descriptor, error)
	// Referrers lists the manifests of artifactType whose subject is subject.
	Referrers(ctx context.Context, subject ocispec.Descriptor, artifactType string) ([]ocispec.Descriptor, error)
	// Fetch returns the content desc describes, refusing it when desc.Size
	// is above limit, and checking its size and digest.
	Fetch(ctx context.Context, desc ocispec.Descriptor, limit int64) ([]byte, error)
}

// FetchSignature reads the signature manifest desc describes (at most
// spec.MaxManifestSize bytes) from src, checks it with
// signature.ParseManifest, and reads its envelope (at most
// spec.MaxEnvelopeSize bytes). It refuses, with the reason, a media type
// other than an OCI image manifest, content that does not match its
// digest, and every manifest ParseManifest refuses. It does not check
// which subject the signature names, nor the envelope: Verify does.
func FetchSignature(ctx context.Context, src Source, desc ocispec.Descriptor) (*signature.Artifact, error) {
	m, raw, err := fetchSignatureManifest(ctx, src, desc)
	if err != nil {
		return nil, err
	}
	return fetchEnvelope(ctx, src, desc, m, raw)
}

// fetchSignatureManifest is the first half of FetchSignature: the checked
// signature manifest desc describes, and its bytes.
func fetchSignatureManifest(ctx context.Context, src Source, desc ocispec.Descriptor) (*ocispec.Manifest, []byte, error) {
	if desc.MediaType != ocispec.MediaTypeImageManifest {
		return nil, nil, fmt.Errorf("signature %s in %s: media type %q is not %s", desc.Digest, src, desc.MediaType, ocispec.MediaTypeImageManifest)
	}
	raw, err := src.Fetch(ctx, desc, spec.MaxManifestSize)
	if err != nil {
		return nil, nil, fmt.Errorf("fetch signature manifest %s from %s: %w", desc.Digest, src, err)
	}
	m, err := signature.ParseManifest(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("signature manifest %s in %s: %w", desc.Digest, src, err)
	}
	return m, raw, nil
}

// fetchEnvelope is the second half of FetchSignature: the envelope of the
// signature manifest m (raw, described by desc).
func fetchEnvelope(ctx context.Context, src Source, desc ocispec.Descriptor, m *ocispec.Manifest, raw []byte) (*signature.Artifact, error) {
	layer := m.Layers[0]
	env, err := src.Fetch(ctx, layer, spec.MaxEnvelopeSize)
	if err != nil {
		return nil, fmt.Errorf("fetch signature envelope %s of %s from %s: %w", layer.Digest, desc.Digest, src, err)
	}
	d := ocispec.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size, ArtifactType: spec.ArtifactTypeSignature, Annotations: m.Annotations}
	return &signature.Artifact{Descriptor: d, Manifest: *m, Raw: raw, Envelope: env, EnvelopeDescriptor: layer}, nil
}
