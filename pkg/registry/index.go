package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/nv2-signing/nv2/pkg/spec"
)

// Limits of an index walk: nested indexes deeper than maxIndexDepth, or more
// than maxIndexEntries manifests in all, are refused.
const (
	maxIndexDepth   = 4
	maxIndexEntries = 1000
)

// IsIndex reports whether mediaType is an OCI image index or a Docker
// manifest list.
func IsIndex(mediaType string) bool {
	return mediaType == ocispec.MediaTypeImageIndex || mediaType == spec.MediaTypeDockerManifestList
}

// IndexChild is a manifest an image index lists, nested indexes included.
type IndexChild struct {
	ocispec.Descriptor
	// Parent is the digest of the index that lists it.
	Parent digest.Digest
}

// ParseIndex decodes an image index and checks the descriptors it lists.
func ParseIndex(raw []byte, d ocispec.Descriptor) (*ocispec.Index, error) {
	var idx ocispec.Index
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, fmt.Errorf("index %s: %w", d.Digest, err)
	}
	for _, m := range idx.Manifests {
		if err := m.Digest.Validate(); err != nil {
			return nil, fmt.Errorf("index %s lists an invalid digest %q: %w", d.Digest, m.Digest, err)
		}
		if !spec.IsManifestType(m.MediaType) || m.Size <= 0 || m.Size > spec.MaxManifestSize {
			return nil, fmt.Errorf("index %s lists %s as %q of %d bytes: not a manifest nv2 reads", d.Digest, m.Digest, m.MediaType, m.Size)
		}
	}
	return &idx, nil
}

// IndexChildren lists every manifest the index root (raw) lists, and what
// its nested indexes list, level by level: the nested indexes of one level
// are fetched in parallel. Each is listed once.
func IndexChildren(ctx context.Context, s Storage, root ocispec.Descriptor, raw []byte) ([]IndexChild, error) {
	var out []IndexChild
	seen := map[digest.Digest]bool{root.Digest: true}
	level := []ocispec.Descriptor{root}
	raws := [][]byte{raw}
	for depth := 0; len(level) > 0; depth++ {
		if depth >= maxIndexDepth {
			return nil, fmt.Errorf("index %s nests indexes deeper than %d levels", root.Digest, maxIndexDepth)
		}
		var next []ocispec.Descriptor
		for i, d := range level {
			idx, err := ParseIndex(raws[i], d)
			if err != nil {
				return nil, err
			}
			for _, m := range idx.Manifests {
				if seen[m.Digest] {
					continue
				}
				seen[m.Digest] = true
				if out = append(out, IndexChild{Descriptor: m, Parent: d.Digest}); len(out) > maxIndexEntries {
					return nil, fmt.Errorf("index %s lists more than %d manifests", root.Digest, maxIndexEntries)
				}
				if IsIndex(m.MediaType) {
					next = append(next, m)
				}
			}
		}
		var err error
		if raws, err = fetchManifests(ctx, s, next); err != nil {
			return nil, err
		}
		level = next
	}
	return out, nil
}

// fetchManifests fetches the manifests descs describe, in parallel.
func fetchManifests(ctx context.Context, s Storage, descs []ocispec.Descriptor) ([][]byte, error) {
	out := make([][]byte, len(descs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxParallel)
	var mu sync.Mutex
	for i, d := range descs {
		g.Go(func() error {
			b, err := s.FetchManifest(gctx, d)
			mu.Lock()
			out[i] = b
			mu.Unlock()
			return err
		})
	}
	return out, g.Wait()
}
