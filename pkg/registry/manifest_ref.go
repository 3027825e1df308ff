package registry

import (
	"context"
	"fmt"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/nv2-signing/nv2/pkg/spec"
)

// FetchManifestReference returns the descriptor and the content of the
// manifest (or index) that reference, a tag or a digest, names in s. A
// remote repository answers it with one GET where Resolve and FetchManifest
// take two round trips. The content is at most spec.MaxManifestSize bytes
// and matches its descriptor's size and digest. Errors wrap ErrNotFound when
// there is no such manifest.
func FetchManifestReference(ctx context.Context, s Storage, reference string) (ocispec.Descriptor, []byte, error) {
	if r, ok := s.(*Remote); ok {
		return r.fetchReference(ctx, reference)
	}
	desc, err := s.Resolve(ctx, reference)
	if err != nil {
		return ocispec.Descriptor{}, nil, err
	}
	b, err := s.FetchManifest(ctx, desc)
	return desc, b, err
}

// fetchReference is FetchManifestReference in one request.
func (r *Remote) fetchReference(ctx context.Context, reference string) (ocispec.Descriptor, []byte, error) {
	if err := checkReference(r, reference); err != nil {
		return ocispec.Descriptor{}, nil, err
	}
	desc, rc, err := r.repo.FetchReference(ctx, reference)
	if err != nil {
		return ocispec.Descriptor{}, nil, r.fail(err, "fetch manifest %s from %s", reference, r)
	}
	defer rc.Close()
	if desc.Size < 0 || desc.Size > spec.MaxManifestSize {
		return ocispec.Descriptor{}, nil, fmt.Errorf("fetch manifest %s from %s: size %d is over the limit of %d bytes", reference, r, desc.Size, spec.MaxManifestSize)
	}
	b, err := content.ReadAll(rc, desc) // checks size and digest
	if err != nil {
		return ocispec.Descriptor{}, nil, r.fail(err, "fetch manifest %s from %s", reference, r)
	}
	return desc, b, nil
}
