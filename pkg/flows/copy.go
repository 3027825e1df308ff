package flows

import (
	"context"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/nv2-signing/nv2/pkg/registry"
)

// CopyResult is what Copy copied.
type CopyResult struct {
	// Source is the source as parsed; Destination is repo@digest (or
	// PATH@digest) at the destination.
	Source, Destination string
	Descriptor          ocispec.Descriptor
}

// Copy copies src with everything that refers to it (signatures included)
// to dst, between registries and OCI layouts in any direction. A dst
// without tag or digest takes src's tag.
func (c *Client) Copy(ctx context.Context, src, dst Location) (*CopyResult, error) {
	from, err := c.openNamed(src)
	if err != nil {
		return nil, err
	}
	to, err := c.Open(dst)
	if err != nil {
		return nil, err
	}
	dstRef := to.Ref.Reference()
	if dstRef == "" {
		dstRef = from.Ref.Tag
	}
	desc, err := registry.Copy(ctx, from.Storage, from.Ref.Reference(), to.Storage, dstRef)
	if err != nil {
		return nil, err
	}
	return &CopyResult{Source: from.Ref.String(), Destination: to.Pinned(desc.Digest), Descriptor: desc}, nil
}
