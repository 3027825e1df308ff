package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry/remote/auth"

	"github.com/nv2-signing/nv2/pkg/spec"
)

// Copy copies the artifact srcRef (tag or digest) names in src to dst, with
// all its referrers, their referrers and so on (of an image index, those of
// every manifest it lists too), in any direction between
// registries and layouts, and returns the artifact's descriptor. Digests
// are kept. dstRef tags the artifact in dst; "" reuses srcRef when it is a
// tag. Referrers pushed to a registry without the referrers API are indexed
// with PushReferrer's protocol. Content dst already has is not sent again.
// Each progress function given observes the copy (see CopyEvent).
func Copy(ctx context.Context, src Storage, srcRef string, dst Storage, dstRef string, progress ...func(CopyEvent)) (ocispec.Descriptor, error) {
	root, err := src.Resolve(ctx, srcRef)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("copy %s: %w", srcRef, err)
	}
	// Hint the scopes of both sides so that a token-auth registry issues
	// one token for the whole copy.
	ctx = dst.scope(src.scope(ctx, auth.ActionPull), auth.ActionPull, auth.ActionPush)
	gs := &graphSource{s: src, referrers: map[digest.Digest]bool{}}
	obs := &observer{fns: progress, src: gs}
	opts := oras.ExtendedCopyGraphOptions{
		CopyGraphOptions: oras.CopyGraphOptions{Concurrency: maxParallel,
			PreCopy:       obs.hook(CopyStarted),
			PostCopy:      obs.hook(CopyDone),
			OnCopySkipped: obs.hook(CopySkipped),
		},
		FindPredecessors: func(ctx context.Context, _ content.ReadOnlyGraphStorage, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
			return gs.Predecessors(ctx, desc)
		},
	}
	if err := oras.ExtendedCopyGraph(ctx, gs, &graphDest{s: dst, src: gs, obs: obs}, root, opts); err != nil {
		return ocispec.Descriptor{}, blame(err, src, dst).fail(err, "copy %s from %s to %s", srcRef, src, dst)
	}
	if err := copyIndexReferrers(ctx, gs, dst, root, opts); err != nil { // copy_index.go
		return ocispec.Descriptor{}, fmt.Errorf("copy %s from %s to %s: %w", srcRef, src, dst, err)
	}
	tag := dstRef
	if tag == "" {
		tag = srcRef
	}
	if _, err := digest.Parse(tag); err == nil || tag == "" {
		return root, nil
	}
	if !isTag(tag) {
		return ocispec.Descriptor{}, fmt.Errorf("copy %s from %s to %s: invalid tag %q", srcRef, src, dst, tag)
	}
	if err := dst.tag(ctx, src, root, tag); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("copy %s from %s to %s: %w", srcRef, src, dst, err)
	}
	return root, nil
}

// graphSource presents a Storage to oras-go's copy: predecessors are the
// referrers (never the indexes that contain a manifest). It records which
// digests it listed as referrers.
type graphSource struct {
	s         Storage
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
	return fetchContent(ctx, g.s, desc)
}

func (g *graphSource) Exists(ctx context.Context, desc ocispec.Descriptor) (bool, error) {
	s, err := g.s.contents(false)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return s.Exists(ctx, desc)
}

func (g *graphSource) Predecessors(ctx context.Context, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
	if !spec.IsManifestType(desc.MediaType) {
		return nil, nil
	}
	refs, err := g.s.Referrers(ctx, desc, "")
	g.mu.Lock()
	for _, r := range refs {
		g.referrers[r.Digest] = true
	}
	g.mu.Unlock()
	return refs, err
}

// graphDest receives oras-go's copy into a Storage.
type graphDest struct {
	s   Storage
	src *graphSource
	obs *observer
}

func (g *graphDest) Fetch(ctx context.Context, desc ocispec.Descriptor) (io.ReadCloser, error) {
	return fetchContent(ctx, g.s, desc)
}

func (g *graphDest) Exists(ctx context.Context, desc ocispec.Descriptor) (bool, error) {
	return g.s.copyExists(ctx, desc, g.src.isReferrer(desc.Digest))
}

func (g *graphDest) Push(ctx context.Context, desc ocispec.Descriptor, r io.Reader) error {
	if g.obs != nil && len(g.obs.fns) > 0 {
		r = &countingReader{r: r, desc: desc, obs: g.obs}
	}
	return g.s.copyPush(ctx, desc, r)
}

// fetchContent opens the content of desc in s, unchecked: oras-go's copy
// checks what it reads.
func fetchContent(ctx context.Context, s Storage, desc ocispec.Descriptor) (io.ReadCloser, error) {
	c, err := s.contents(false)
	if err != nil {
		return nil, err
	}
	return c.Fetch(ctx, desc)
}

var _ content.ReadOnlyStorage = (*graphSource)(nil)

// CopyEvent is one step of a Copy, for progress and summaries.
type CopyEvent struct {
	Kind CopyEventKind
	// Descriptor is the blob or manifest concerned.
	Descriptor ocispec.Descriptor
	// Bytes is how many more of its bytes were sent (CopyBytes only).
	Bytes int64
	// Referrer is set when Descriptor is a referrer of what is copied.
	Referrer bool
}

// CopyEventKind says what a CopyEvent reports.
type CopyEventKind int

const (
	// CopyStarted: the content is about to be sent.
	CopyStarted CopyEventKind = iota
	// CopyBytes: Bytes more of it were sent.
	CopyBytes
	// CopyDone: it was sent.
	CopyDone
	// CopySkipped: the destination had it already (with everything it
	// names); nothing was sent.
	CopySkipped
)

// observer passes a copy's events to the progress functions, one at a time.
type observer struct {
	mu  sync.Mutex
	fns []func(CopyEvent)
	src *graphSource
}

func (o *observer) emit(e CopyEvent) {
	if o == nil || len(o.fns) == 0 {
		return
	}
	e.Referrer = o.src.isReferrer(e.Descriptor.Digest)
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, f := range o.fns {
		f(e)
	}
}

// hook is an oras-go copy hook that emits kind.
func (o *observer) hook(kind CopyEventKind) func(context.Context, ocispec.Descriptor) error {
	return func(_ context.Context, desc ocispec.Descriptor) error {
		o.emit(CopyEvent{Kind: kind, Descriptor: desc})
		return nil
	}
}

// countingReader emits CopyBytes as content is read.
type countingReader struct {
	r    io.Reader
	desc ocispec.Descriptor
	obs  *observer
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.obs.emit(CopyEvent{Kind: CopyBytes, Descriptor: c.desc, Bytes: int64(n)})
	}
	return n, err
}
