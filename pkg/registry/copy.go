package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote/auth"

	"github.com/nv2-signing/nv2/pkg/spec"
)

// Copy copies the artifact srcRef (tag or digest) names in src to dst, with
// all its referrers, their referrers and so on, in any direction between
// registries and layouts, and returns the artifact's descriptor. Digests
// are kept. dstRef tags the artifact in dst; "" reuses srcRef when it is a
// tag. Referrers pushed to a registry without the referrers API are indexed
// with PushSignature's protocol. Content dst already has is not sent again.
func Copy(ctx context.Context, src *Target, srcRef string, dst *Target, dstRef string) (ocispec.Descriptor, error) {
	root, err := src.Resolve(ctx, srcRef)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("copy %s: %w", srcRef, err)
	}
	// Hint the scopes of both sides so that a token-auth registry issues
	// one token for the whole copy.
	if src.repo != nil {
		ctx = auth.AppendRepositoryScope(ctx, src.repo.Reference, auth.ActionPull)
	}
	if dst.repo != nil {
		ctx = auth.AppendRepositoryScope(ctx, dst.repo.Reference, auth.ActionPull, auth.ActionPush)
	}
	gs := &graphSource{t: src, referrers: map[digest.Digest]bool{}}
	opts := oras.ExtendedCopyGraphOptions{
		CopyGraphOptions: oras.CopyGraphOptions{Concurrency: maxParallel},
		FindPredecessors: func(ctx context.Context, _ content.ReadOnlyGraphStorage, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
			return gs.Predecessors(ctx, desc)
		},
	}
	if err := oras.ExtendedCopyGraph(ctx, gs, &graphDest{t: dst, src: gs}, root, opts); err != nil {
		side := dst
		var ce *oras.CopyError
		if errors.As(err, &ce) && ce.Origin == oras.CopyErrorOriginSource {
			side = src
		}
		return ocispec.Descriptor{}, side.fail(err, "copy %s from %s to %s", srcRef, src, dst)
	}
	tag := dstRef
	if tag == "" {
		tag = srcRef
	}
	if _, err := digest.Parse(tag); err == nil || tag == "" {
		return root, nil
	}
	if err := dst.tag(ctx, src, root, tag); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("copy %s from %s to %s: %w", srcRef, src, dst, err)
	}
	return root, nil
}

// tag points tag at desc in t; src has desc's content.
func (t *Target) tag(ctx context.Context, src *Target, desc ocispec.Descriptor, tag string) error {
	if !isTag(tag) {
		return fmt.Errorf("invalid tag %q", tag)
	}
	if t.layout != "" {
		s, err := t.layoutStore(true)
		if err != nil {
			return err
		}
		return s.Tag(ctx, desc, tag)
	}
	raw, err := src.FetchManifest(ctx, desc)
	if err != nil {
		return err
	}
	if _, err := t.putManifest(ctx, desc, raw, tag); err != nil {
		return t.fail(err, "tag %s as %s in %s", desc.Digest, tag, t)
	}
	return nil
}

// graphSource presents a Target to oras-go's copy: predecessors are the
// referrers (never the indexes that contain a manifest). It records which
// digests it listed as referrers.
type graphSource struct {
	t         *Target
	mu        sync.Mutex
	referrers map[digest.Digest]bool
}

// isReferrer reports whether d was listed as a referrer of something copied.
func (g *graphSource) isReferrer(d digest.Digest) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.referrers[d]
}

func (g *graphSource) Fetch(ctx context.Context, desc ocispec.Descriptor) (io.ReadCloser, error) {
	s, err := g.t.storage(false)
	if err != nil {
		return nil, err
	}
	return s.Fetch(ctx, desc)
}

func (g *graphSource) Exists(ctx context.Context, desc ocispec.Descriptor) (bool, error) {
	s, err := g.t.storage(false)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return s.Exists(ctx, desc)
}

func (g *graphSource) Predecessors(ctx context.Context, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
	if !isManifestType(desc.MediaType) {
		return nil, nil
	}
	refs, err := g.t.Referrers(ctx, desc, "")
	g.mu.Lock()
	for _, r := range refs {
		g.referrers[r.Digest] = true
	}
	g.mu.Unlock()
	return refs, err
}

// maxBufferedBlob is the largest blob Copy reads into memory before
// uploading it, so that the upload can be retried.
const maxBufferedBlob = 4 << 20

// graphDest receives oras-go's copy: manifests with a subject go through
// pushReferrer so that registries without the referrers API index them.
type graphDest struct {
	t   *Target
	src *graphSource
}

func (g *graphDest) Fetch(ctx context.Context, desc ocispec.Descriptor) (io.ReadCloser, error) {
	s, err := g.t.storage(false)
	if err != nil {
		return nil, err
	}
	return s.Fetch(ctx, desc)
}

func (g *graphDest) Exists(ctx context.Context, desc ocispec.Descriptor) (bool, error) {
	if g.t.layout == "" && g.t.cap.load() != capSupported && g.src.isReferrer(desc.Digest) {
		// On a registry that may lack the referrers API, a referrer that is
		// stored is not necessarily indexed (an earlier copy may have been
		// cut off between the two): push it again, which costs a manifest
		// PUT and an index read, and indexes it if needed.
		return false, nil
	}
	s, err := g.t.storage(false)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return s.Exists(ctx, desc)
}

func (g *graphDest) Push(ctx context.Context, desc ocispec.Descriptor, r io.Reader) error {
	t := g.t
	if t.layout != "" || (desc.MediaType != ocispec.MediaTypeImageManifest && desc.MediaType != ocispec.MediaTypeImageIndex) {
		s, err := t.storage(true)
		if err != nil {
			return err
		}
		if t.layout == "" && desc.Size <= maxBufferedBlob {
			// Read a small blob first: an upload from memory can be sent
			// again, so a 429 or 5xx answer to it is retried; a stream
			// from the source cannot be.
			b, err := content.ReadAll(r, desc)
			if err != nil {
				return err
			}
			r = bytes.NewReader(b)
		}
		if err := s.Push(ctx, desc, r); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
			return err
		}
		return nil
	}
	if desc.Size > spec.MaxManifestSize {
		return fmt.Errorf("manifest %s is %d bytes, over the limit of %d", desc.Digest, desc.Size, spec.MaxManifestSize)
	}
	raw, err := content.ReadAll(r, desc)
	if err != nil {
		return err
	}
	var m struct {
		ArtifactType string              `json:"artifactType"`
		Config       *ocispec.Descriptor `json:"config"`
		Subject      *ocispec.Descriptor `json:"subject"`
		Annotations  map[string]string   `json:"annotations"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("decode manifest %s: %w", desc.Digest, err)
	}
	if m.Subject == nil {
		return t.repo.Push(ctx, desc, bytes.NewReader(raw))
	}
	entry := ocispec.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size, ArtifactType: m.ArtifactType, Annotations: m.Annotations}
	if entry.ArtifactType == "" && m.Config != nil {
		entry.ArtifactType = m.Config.MediaType
	}
	return t.pushReferrer(ctx, entry, raw, *m.Subject)
}
