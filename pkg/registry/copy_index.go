package registry

import (
	"context"
	"errors"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
	"oras.land/oras-go/v2"
)

// copyIndexReferrers copies the referrers of every manifest the image index
// root lists (nested indexes too), with what they refer to, once the index
// itself is in dst: oras-go's copy follows the referrers of the root only.
// What dst already has is not sent again.
func copyIndexReferrers(ctx context.Context, gs *graphSource, dst Storage, root ocispec.Descriptor, opts oras.ExtendedCopyGraphOptions) error {
	if !IsIndex(root.MediaType) {
		return nil
	}
	raw, err := gs.s.FetchManifest(ctx, root)
	if err != nil {
		return err
	}
	children, err := IndexChildren(ctx, gs.s, root, raw)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxParallel)
	for _, c := range children {
		g.Go(func() error {
			if err := oras.ExtendedCopyGraph(gctx, gs, &graphDest{s: dst, src: gs}, c.Descriptor, opts); err != nil {
				return blame(err, gs.s, dst).fail(err, "copy the referrers of %s from %s to %s", c.Digest, gs.s, dst)
			}
			return nil
		})
	}
	return g.Wait()
}

// blame is the side of a copy an oras-go copy error comes from.
func blame(err error, src, dst Storage) Storage {
	var ce *oras.CopyError
	if errors.As(err, &ce) && ce.Origin == oras.CopyErrorOriginSource {
		return src
	}
	return dst
}
