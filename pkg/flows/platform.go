package flows

// Multi-platform images: platforms named os/arch[/variant] matched against
// what an image index lists, and flows run over every manifest of an index.

import (
	"context"
	"fmt"
	"strings"

	"github.com/containerd/platforms"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/nv2-signing/nv2/pkg/registry"
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

// pickPlatform returns the manifest of index (raw, named by pinned) for
// platform p: the first one an image index lists whose platform matches.
func pickPlatform(raw []byte, index ocispec.Descriptor, pinned string, p *ocispec.Platform) (ocispec.Descriptor, error) {
	idx, err := registry.ParseIndex(raw, index)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	m := platforms.NewMatcher(*p)
	var have []string
	for _, d := range idx.Manifests {
		if d.Platform == nil || registry.IsIndex(d.MediaType) {
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

// overIndex runs f for subject and, when subject is an image index, for
// every manifest it lists (nested indexes too), in parallel. out[0] is
// subject's result, then the manifests' in index order; parents[i] is the
// position in out of the index that lists out[i] (parents[0] is -1).
func overIndex[T any](ctx context.Context, t *Target, subject ocispec.Descriptor, f func(context.Context, ocispec.Descriptor) (T, error)) (out []T, parents []int, err error) {
	descs, parents := []ocispec.Descriptor{subject}, []int{-1}
	if registry.IsIndex(subject.MediaType) {
		raw, err := t.FetchManifest(ctx, subject)
		if err != nil {
			return nil, nil, err
		}
		children, err := registry.IndexChildren(ctx, t.Storage, subject, raw)
		if err != nil {
			return nil, nil, err
		}
		at := map[digest.Digest]int{subject.Digest: 0}
		for i, c := range children {
			at[c.Digest] = i + 1
			descs, parents = append(descs, c.Descriptor), append(parents, at[c.Parent])
		}
	}
	out = make([]T, len(descs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(VerifyParallel)
	for i, d := range descs {
		g.Go(func() (err error) {
			out[i], err = f(gctx, d)
			return err
		})
	}
	return out, parents, g.Wait()
}
