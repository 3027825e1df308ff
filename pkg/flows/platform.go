package flows

// Image indexes: the manifests they list (nested indexes included), and
// platforms named os/arch[/variant] matched against them.

import (
	"fmt"
	"strings"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

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
