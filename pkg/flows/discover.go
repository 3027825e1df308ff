package flows

import (
	"context"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/nv2-signing/nv2/pkg/registry"
)

// DiscoverOptions say whose referrers to list and how deep.
type DiscoverOptions struct {
	Artifact Location
	// ArtifactType, when set, keeps only referrers of that type.
	ArtifactType string
	// Depth is how many levels of referrers to follow; 0 follows all.
	Depth int
}

// DiscoverResult is the tree of what refers to an artifact.
type DiscoverResult struct {
	// Reference is repo@digest (or PATH@digest) of the artifact.
	Reference string
	// Tree's root is the artifact; its Referrers are the first level.
	Tree *registry.Node
}

// Discover lists the referrers of an artifact (referrers API, or the
// referrers tag schema), and theirs in turn down to opts.Depth. Of an image
// index, it lists those of every manifest the index lists as well (in
// Node.Manifests).
func (c *Client) Discover(ctx context.Context, opts DiscoverOptions) (*DiscoverResult, error) {
	if opts.Depth < 0 {
		return nil, usagef("depth %d: use 0 for all levels or a positive number", opts.Depth)
	}
	t, subject, err := c.Resolve(ctx, opts.Artifact)
	if err != nil {
		return nil, err
	}
	// Of an image index, the trees of every manifest it lists too (index.go).
	trees, parents, err := overIndex(ctx, t, subject, func(ctx context.Context, d ocispec.Descriptor) (*registry.Node, error) {
		return t.ReferrersTree(ctx, d, opts.ArtifactType, opts.Depth)
	})
	if err != nil {
		return nil, err
	}
	for i := 1; i < len(trees); i++ {
		trees[parents[i]].Manifests = append(trees[parents[i]].Manifests, trees[i])
	}
	return &DiscoverResult{Reference: t.Pinned(subject.Digest), Tree: trees[0]}, nil
}
