package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
	"oras.land/oras-go/v2/content"

	"github.com/nv2-signing/nv2/pkg/registry/internal/distribution"
	"github.com/nv2-signing/nv2/pkg/spec"
)

// Storage holds artifacts and their referrers: a remote repository
// (*Remote) or an OCI image layout (*Layout), its only implementations.
// Copy and CopyToLayout work between any two. A Storage is safe for
// concurrent use.
type Storage interface {
	// String names the storage: "host/repository" or the layout path.
	String() string
	// Resolve returns the descriptor of the manifest that reference (a tag
	// or a digest) names. Errors wrap ErrNotFound when there is no such
	// manifest.
	Resolve(ctx context.Context, reference string) (ocispec.Descriptor, error)
	// FetchManifest is Fetch with the limit spec.MaxManifestSize.
	FetchManifest(ctx context.Context, desc ocispec.Descriptor) ([]byte, error)
	// Fetch returns the content desc describes, refusing it when desc.Size
	// is above limit, and checking that size and digest match what arrives.
	Fetch(ctx context.Context, desc ocispec.Descriptor, limit int64) ([]byte, error)
	// Referrers lists the manifests whose subject is subject. With
	// artifactType set, only referrers of that type are returned; ""
	// returns all, as the storage describes them.
	//
	// The type is decided correctly even when a registry misreports it: a
	// descriptor of the wanted type counts; one whose reported type is
	// empty or the empty-config type (what go-containerregistry reports for
	// a manifest with artifactType and an empty config) is decided from its
	// manifest, fetched in parallel. Returned descriptors keep their
	// annotations. At most spec.MaxReferrers are read; more is an error.
	Referrers(ctx context.Context, subject ocispec.Descriptor, artifactType string) ([]ocispec.Descriptor, error)
	// ReferrersTree returns subject with its referrers, their referrers,
	// and so on, down to depth levels (depth <= 0: all levels).
	// artifactType filters every level as in Referrers. An artifact reached
	// twice is listed once, which also stops cycles a misbehaving registry
	// could report; at most spec.MaxReferrers nodes are read.
	ReferrersTree(ctx context.Context, subject ocispec.Descriptor, artifactType string, depth int) (*Node, error)
	// PushReferrer stores r, whose manifest has subject as its subject, and
	// makes it discoverable as a referrer of subject. Pushing the same
	// referrer again is harmless: subject keeps one referrer for it.
	PushReferrer(ctx context.Context, subject ocispec.Descriptor, r Referrer) error

	// What the shared code and Copy need from a backend.
	list(ctx context.Context, subject ocispec.Descriptor, artifactType string) ([]ocispec.Descriptor, error)
	fetch(ctx context.Context, desc ocispec.Descriptor, limit int64) ([]byte, error)
	fail(err error, format string, args ...any) error
	contents(write bool) (content.Storage, error)
	indexTags(ctx context.Context, n int) map[string]bool
	scope(ctx context.Context, actions ...string) context.Context
	copyExists(ctx context.Context, desc ocispec.Descriptor, referrer bool) (bool, error)
	copyPush(ctx context.Context, desc ocispec.Descriptor, r io.Reader) error
	tag(ctx context.Context, src Storage, desc ocispec.Descriptor, tag string) error
}

// Referrer is a manifest to store as a referrer, with the blobs it names.
type Referrer struct {
	// Descriptor describes Manifest, with the artifactType and annotations
	// a referrers listing should show.
	Descriptor ocispec.Descriptor
	// Manifest is the manifest's content.
	Manifest []byte
	// Blobs are the config and layers Manifest names, with their content.
	Blobs []Blob
}

// Blob is content with its descriptor.
type Blob struct {
	Descriptor ocispec.Descriptor
	Data       []byte
}

// Node is an artifact in a tree of referrers.
type Node struct {
	ocispec.Descriptor
	// Referrers are the artifacts whose subject is this one.
	Referrers []*Node
	// Manifests, of an image index, are the manifests it lists, each with
	// its own referrers; ReferrersTree leaves it empty.
	Manifests []*Node
}

// checkReference refuses an empty tag or digest.
func checkReference(s Storage, reference string) error {
	if reference == "" {
		return fmt.Errorf("resolve in %s: no tag or digest given; name the artifact as %s:TAG or %s@DIGEST", s, s, s)
	}
	return nil
}

// fetchVerified reads the content of desc from what open returns, refusing
// it when desc.Size is above limit and checking that size and digest match
// what arrives.
func fetchVerified(ctx context.Context, open func() (content.Fetcher, error), desc ocispec.Descriptor, limit int64) ([]byte, error) {
	if desc.Size < 0 || desc.Size > limit {
		return nil, fmt.Errorf("size %d is over the limit of %d bytes", desc.Size, limit)
	}
	if err := desc.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("invalid digest %q: %w", desc.Digest, err)
	}
	f, err := open()
	if err != nil {
		return nil, err
	}
	rc, err := f.Fetch(ctx, desc)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := content.ReadAll(rc, desc) // checks size and digest
	switch {
	case errors.Is(err, content.ErrTrailingData):
		return nil, fmt.Errorf("the registry sent more than the %d bytes listed: %w", desc.Size, err)
	case errors.Is(err, content.ErrMismatchedDigest):
		return nil, fmt.Errorf("the content does not match its digest: %w", err)
	}
	return b, err
}

// referrers is Storage.Referrers for either backend.
func referrers(ctx context.Context, s Storage, subject ocispec.Descriptor, artifactType string) ([]ocispec.Descriptor, error) {
	if err := subject.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("list referrers in %s: invalid subject digest %q: %w", s, subject.Digest, err)
	}
	refs, err := s.list(ctx, subject, artifactType)
	if err == nil {
		refs, err = filterReferrers(ctx, s, refs, artifactType)
	}
	if err != nil {
		return nil, s.fail(err, "list referrers of %s in %s", subject.Digest, s)
	}
	return refs, nil
}

// filterReferrers keeps the referrers of artifactType, in order, deciding
// ambiguous ones from their manifests (see Storage.Referrers).
func filterReferrers(ctx context.Context, s Storage, refs []ocispec.Descriptor, artifactType string) ([]ocispec.Descriptor, error) {
	if artifactType == "" {
		return refs, nil
	}
	keep := make([]bool, len(refs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxParallel)
	for i, d := range refs {
		switch {
		case d.ArtifactType == artifactType:
			keep[i] = true
		case (d.ArtifactType == "" || d.ArtifactType == spec.MediaTypeEmptyJSON) && spec.IsManifestType(d.MediaType):
			g.Go(func() error {
				raw, err := s.fetch(gctx, d, spec.MaxManifestSize)
				if errors.Is(err, ErrNotFound) {
					return nil // a dangling index entry: nothing to list
				}
				if err != nil {
					return fmt.Errorf("read referrer %s to learn its type: %w", d.Digest, err)
				}
				at, _, err := artifactTypeOf(raw)
				if err == nil && at == artifactType {
					refs[i].ArtifactType = at
					keep[i] = true
				}
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := make([]ocispec.Descriptor, 0, len(refs))
	for i, d := range refs {
		if keep[i] {
			out = append(out, d)
		}
	}
	return out, nil
}

// artifactTypeOf is the artifact type a manifest declares: its artifactType,
// else its config media type (the OCI 1.1 rule).
func artifactTypeOf(raw []byte) (string, *ocispec.Descriptor, error) {
	var m struct {
		ArtifactType string              `json:"artifactType"`
		Config       *ocispec.Descriptor `json:"config"`
		Subject      *ocispec.Descriptor `json:"subject"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return "", nil, err
	}
	if m.ArtifactType != "" || m.Config == nil {
		return m.ArtifactType, m.Subject, nil
	}
	return m.Config.MediaType, m.Subject, nil
}

// referrersTree is Storage.ReferrersTree for either backend. The
// referrers of one level are listed in parallel; where s.indexTags tells
// which artifacts have a referrers tag schema index, the others are skipped.
func referrersTree(ctx context.Context, s Storage, subject ocispec.Descriptor, artifactType string, depth int) (*Node, error) {
	root := &Node{Descriptor: subject}
	seen := map[string]bool{subject.Digest.String(): true}
	level := []*Node{root}
	total := 0
	for d := 1; len(level) > 0 && (depth <= 0 || d <= depth); d++ {
		lists, err := listLevel(ctx, s, level, artifactType)
		if err != nil {
			return nil, err
		}
		var next []*Node
		for i, n := range level {
			for _, r := range lists[i] {
				if seen[r.Digest.String()] {
					continue
				}
				seen[r.Digest.String()] = true
				total++
				if total > spec.MaxReferrers {
					return nil, fmt.Errorf("referrers tree of %s in %s has more than %d nodes", subject.Digest, s, spec.MaxReferrers)
				}
				c := &Node{Descriptor: r}
				n.Referrers = append(n.Referrers, c)
				next = append(next, c)
			}
		}
		level = next
	}
	return root, nil
}

// listLevel lists the referrers of each node of one tree level, in parallel.
func listLevel(ctx context.Context, s Storage, level []*Node, artifactType string) ([][]ocispec.Descriptor, error) {
	lists := make([][]ocispec.Descriptor, len(level))
	tags := s.indexTags(ctx, len(level)) // nil: ask about every node
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxParallel)
	var mu sync.Mutex
	for i, n := range level {
		if !spec.IsManifestType(n.MediaType) {
			continue
		}
		if tag, err := distribution.ReferrersTag(n.Descriptor); tags != nil && err == nil && !tags[tag] {
			continue // no referrers tag schema index: no referrers
		}
		g.Go(func() error {
			refs, err := s.Referrers(gctx, n.Descriptor, artifactType)
			mu.Lock()
			lists[i] = refs
			mu.Unlock()
			return err
		})
	}
	return lists, g.Wait()
}
