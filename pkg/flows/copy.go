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
	// Sent is what the copy stored.
	Sent CopyStats
}

// CopyStats counts what a copy stored at its destination.
type CopyStats struct {
	// Blobs counts the blobs and manifests stored, Bytes their size.
	Blobs int
	Bytes int64
	// Referrers counts the referrer manifests stored (signatures among
	// them), Existing what the destination had already.
	Referrers, Existing int
}

// observers returns the progress functions of a copy: one that counts into
// s, then those of progress that are set.
func (s *CopyStats) observers(progress ...func(registry.CopyEvent)) []func(registry.CopyEvent) {
	fns := []func(registry.CopyEvent){s.observe}
	for _, f := range progress {
		if f != nil {
			fns = append(fns, f)
		}
	}
	return fns
}

func (s *CopyStats) observe(e registry.CopyEvent) {
	switch e.Kind {
	case registry.CopyDone:
		s.Blobs++
		s.Bytes += e.Descriptor.Size
		if e.Referrer {
			s.Referrers++
		}
	case registry.CopySkipped:
		s.Existing++
	}
}

// Copy copies src with everything that refers to it (signatures included)
// to dst, between registries and OCI layouts in any direction. A dst
// without tag or digest takes src's tag. Each progress function given
// observes the copy; the result counts what was stored.
func (c *Client) Copy(ctx context.Context, src, dst Location, progress ...func(registry.CopyEvent)) (*CopyResult, error) {
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
	var sent CopyStats
	desc, err := registry.Copy(ctx, from.Storage, from.Ref.Reference(), to.Storage, dstRef, sent.observers(progress...)...)
	if err != nil {
		return nil, err
	}
	return &CopyResult{Source: from.Ref.String(), Destination: to.Pinned(desc.Digest), Descriptor: desc, Sent: sent}, nil
}
