package flows

// Image indexes: the manifests they list (nested indexes included), and
// platforms named os/arch[/variant] matched against them.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/containerd/platforms"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/nv2-signing/nv2/pkg/registry"
	"github.com/nv2-signing/nv2/pkg/spec"
)

// Limits of an index walk: nested indexes deeper than maxIndexDepth, or more
// than maxIndexEntries manifests in all, are refused.
const (
	maxIndexDepth   = 4
	maxIndexEntries = 1000
)

// ParsePlatform parses a platform named os/arch[/variant] ("linux/amd64",
// "linux/arm/v7"). It is normalized as containerd does (aarch64 is arm64,
// arm64 is arm64/v8), and matched that way. A malformed name is a
// *UsageError.
func ParsePlatform(s string) (*ocispec.Platform, error) {
	if s == "" {
		return nil, nil
	}
	if n := strings.Count(s, "/"); n < 1 || n > 2 {
		return nil, usagef("platform %q: name it os/arch[/variant], e.g. linux/amd64 or linux/arm/v7", s)
	}
	p, err := platforms.Parse(s)
	if err != nil {
		return nil, usagef("platform %q: %w", s, err)
	}
	p = platforms.Normalize(p)
	return &p, nil
}

// FormatPlatform names p as os/arch[/variant]; "" for nil.
func FormatPlatform(p *ocispec.Platform) string {
	if p == nil {
		return ""
	}
	return platforms.Format(*p)
}

// IsIndex reports whether mediaType is an OCI image index or a Docker
// manifest list.
func IsIndex(mediaType string) bool {
	return mediaType == ocispec.MediaTypeImageIndex || mediaType == spec.MediaTypeDockerManifestList
}

// PlatformNotFoundError: the image index lists no manifest for the
// platform asked for.
type PlatformNotFoundError struct {
	// Index is repo@digest of the index; Platform the platform asked for.
	Index, Platform string
	// Available are the platforms the index lists.
	Available []string
}

func (e *PlatformNotFoundError) Error() string {
	have := "none"
	if len(e.Available) > 0 {
		have = strings.Join(e.Available, ", ")
	}
	return fmt.Sprintf("%s lists no manifest for the platform %s (it lists: %s)", e.Index, e.Platform, have)
}

// IndexChild is a manifest an image index lists, nested indexes included.
type IndexChild struct {
	ocispec.Descriptor
	// Parent is the digest of the index that lists it.
	Parent digest.Digest
}

// parseIndex decodes an image index and checks the descriptors it lists.
func parseIndex(raw []byte, d ocispec.Descriptor) (*ocispec.Index, error) {
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

// indexChildren lists every manifest the index root (raw) lists, and what
// its nested indexes list, level by level: the nested indexes of one level
// are fetched in parallel. Each is listed once.
func indexChildren(ctx context.Context, s registry.Storage, root ocispec.Descriptor, raw []byte) ([]IndexChild, error) {
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
			idx, err := parseIndex(raws[i], d)
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
func fetchManifests(ctx context.Context, s registry.Storage, descs []ocispec.Descriptor) ([][]byte, error) {
	out := make([][]byte, len(descs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
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

// pickPlatform returns the manifest of index (raw, named by pinned) for
// platform p: the first one an image index lists whose platform matches.
func pickPlatform(raw []byte, index ocispec.Descriptor, pinned string, p *ocispec.Platform) (ocispec.Descriptor, error) {
	idx, err := parseIndex(raw, index)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	m := platforms.NewMatcher(*p)
	var have []string
	for _, d := range idx.Manifests {
		if d.Platform == nil || IsIndex(d.MediaType) {
			continue
		}
		if m.Match(*d.Platform) {
			return d, nil
		}
		have = append(have, FormatPlatform(d.Platform))
	}
	return ocispec.Descriptor{}, &PlatformNotFoundError{Index: pinned, Platform: FormatPlatform(p), Available: have}
}

// DefaultPlatform is the platform of this machine, normalized.
func DefaultPlatform() *ocispec.Platform {
	p := platforms.Normalize(platforms.DefaultSpec())
	return &p
}
