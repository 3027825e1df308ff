package registry

import (
	"context"
	"errors"
)

// maxTagsForTree bounds the tags read to learn which referrers tag schema
// indexes exist (see indexTags); a repository with more falls back to one
// index read per artifact.
const maxTagsForTree = 100_000

// errTooManyTags stops a tag listing past maxTagsForTree.
var errTooManyTags = errors.New("too many tags")

// indexTags returns the set of tags of the repository when that is cheaper
// than reading the referrers tag schema index of each of n artifacts: on a
// registry known to lack the referrers API, for more artifacts than one
// round of parallel requests covers. An artifact whose "<alg>-<hex>" tag is
// not in the set has no referrers there, so its index needs no request:
// listing the referrers of 1,000 signatures takes one tag listing instead
// of 1,000 reads. It returns nil (read every index) otherwise, or when the
// listing fails or is too long.
func (r *Remote) indexTags(ctx context.Context, n int) map[string]bool {
	if n <= maxParallel || !r.dist.Cap.Unsupported() {
		return nil
	}
	tags := map[string]bool{}
	err := r.repo.Tags(ctx, "", func(page []string) error {
		for _, tag := range page {
			tags[tag] = true
		}
		if len(tags) > maxTagsForTree {
			return errTooManyTags
		}
		return nil
	})
	if err != nil {
		return nil
	}
	return tags
}
