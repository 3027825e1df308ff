package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/oci"
	"oras.land/oras-go/v2/errdef"
	orasregistry "oras.land/oras-go/v2/registry"

	"github.com/nv2-signing/nv2/pkg/spec"
)

// Layout is an OCI image layout: a folder holding blobs and an index.json.
// It is safe for concurrent use, and several processes may write one
// layout at once: every write of index.json happens under a lock file in the
// layout (see layout_index.go) and replaces the file atomically, so each
// writer's manifests and tags are kept and a reader never sees half a file.
type Layout struct {
	path    string
	mu      sync.Mutex
	store   *oci.ReadOnlyStore // the index as last read; nil until read, and after each write
	created bool               // the layout's files exist (this Layout made sure)
}

var _ Storage = (*Layout)(nil)

// OpenLayout returns the OCI image layout at path. A missing or empty
// folder is not an error: reading it finds nothing (ErrNotFound), and the
// first write creates the layout. A folder with other content must be an OCI
// image layout.
func OpenLayout(path string) (*Layout, error) {
	if path == "" {
		return nil, errors.New("OCI layout path is empty")
	}
	l := &Layout{path: path}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return l, nil
	case err != nil:
		return nil, fmt.Errorf("open OCI layout %s: %w", path, err)
	case !fi.IsDir():
		return nil, fmt.Errorf("open OCI layout %s: not a directory", path)
	}
	if !l.exists() {
		if !emptyOrCreating(path) {
			return nil, fmt.Errorf("open OCI layout %s: no %s file: the folder is not an OCI image layout", path, ocispec.ImageLayoutFile)
		}
		return l, nil
	}
	if _, err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

// String names the layout: its path.
func (l *Layout) String() string { return l.path }

// exists reports whether the layout folder has its oci-layout file.
func (l *Layout) exists() bool {
	_, err := os.Stat(filepath.Join(l.path, ocispec.ImageLayoutFile))
	return err == nil
}

// open returns the layout's index as last read, reading it when no write
// since has changed it. A missing layout yields ErrNotFound.
func (l *Layout) open() (*oci.ReadOnlyStore, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.store != nil {
		return l.store, nil
	}
	if !l.exists() {
		return nil, fmt.Errorf("no OCI layout at %s: %w", l.path, ErrNotFound)
	}
	s, err := oci.NewFromFS(context.Background(), os.DirFS(l.path))
	if err != nil {
		return nil, fmt.Errorf("open OCI layout %s: %w", l.path, err)
	}
	l.store = s
	return s, nil
}

// blobs returns the layout's content-addressed files, for reading and for
// storing blobs; with create, the layout is created first when missing.
func (l *Layout) blobs(create bool) (*oci.Storage, error) {
	if create {
		if err := l.create(); err != nil {
			return nil, err
		}
	} else if !l.exists() {
		return nil, fmt.Errorf("no OCI layout at %s: %w", l.path, ErrNotFound)
	}
	return oci.NewStorage(l.path)
}

// Resolve returns the descriptor of the manifest that reference (a tag or a
// digest) names. Errors wrap ErrNotFound when there is no such manifest.
func (l *Layout) Resolve(ctx context.Context, reference string) (ocispec.Descriptor, error) {
	if err := checkReference(l, reference); err != nil {
		return ocispec.Descriptor{}, err
	}
	s, err := l.open()
	if err != nil {
		return ocispec.Descriptor{}, wrapf(err, "resolve %s in %s", reference, l)
	}
	desc, err := resolveManifest(ctx, s, reference)
	if err != nil {
		return ocispec.Descriptor{}, wrapf(err, "resolve %s in %s", reference, l)
	}
	return desc, nil
}

// resolveManifest resolves reference in s. oras-go knows the manifests that
// index.json lists; one it does not list (the platform manifests of an
// index, as most image builders write a layout) it resolves as a plain blob,
// so the media type is read from the manifest itself.
func resolveManifest(ctx context.Context, s oras.ReadOnlyTarget, reference string) (ocispec.Descriptor, error) {
	desc, err := s.Resolve(ctx, reference)
	if err != nil || desc.MediaType != "application/octet-stream" || desc.Size > spec.MaxManifestSize {
		return desc, err
	}
	b, err := content.FetchAll(ctx, s, desc)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	var m struct {
		MediaType string `json:"mediaType"`
	}
	if json.Unmarshal(b, &m) == nil && spec.IsManifestType(m.MediaType) {
		desc.MediaType = m.MediaType
	}
	return desc, nil
}

// FetchManifest is Fetch with the limit spec.MaxManifestSize.
func (l *Layout) FetchManifest(ctx context.Context, desc ocispec.Descriptor) ([]byte, error) {
	b, err := l.fetch(ctx, desc, spec.MaxManifestSize)
	if err != nil {
		return nil, wrapf(err, "fetch manifest %s from %s", desc.Digest, l)
	}
	return b, nil
}

// Fetch returns the content desc describes, refusing it when desc.Size is
// above limit, and checking that size and digest match what is read.
func (l *Layout) Fetch(ctx context.Context, desc ocispec.Descriptor, limit int64) ([]byte, error) {
	return l.fetch(ctx, desc, limit)
}

func (l *Layout) fetch(ctx context.Context, desc ocispec.Descriptor, limit int64) ([]byte, error) {
	return fetchVerified(ctx, func() (content.Fetcher, error) { return l.blobs(false) }, desc, limit)
}

// Referrers lists the referrers of subject (see Storage): the manifests
// the layout holds whose subject is subject.
func (l *Layout) Referrers(ctx context.Context, subject ocispec.Descriptor, artifactType string) ([]ocispec.Descriptor, error) {
	return referrers(ctx, l, subject, artifactType)
}

func (l *Layout) list(ctx context.Context, subject ocispec.Descriptor, _ string) ([]ocispec.Descriptor, error) {
	s, err := l.open()
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if subject.MediaType == "" {
		// Named by digest alone: the layout knows what it is, at no cost.
		if subject, err = resolveManifest(ctx, s, subject.Digest.String()); err != nil {
			return nil, err
		}
	}
	if !spec.IsManifestType(subject.MediaType) {
		return nil, fmt.Errorf("subject %s has media type %q, not a manifest's", subject.Digest, subject.MediaType)
	}
	return orasregistry.Referrers(ctx, s, subject, "")
}

// ReferrersTree returns the tree of referrers of subject (see Storage).
func (l *Layout) ReferrersTree(ctx context.Context, subject ocispec.Descriptor, artifactType string, depth int) (*Node, error) {
	return referrersTree(ctx, l, subject, artifactType, depth)
}

// PushReferrer stores rf's blobs and manifest as a referrer of subject
// (see Storage); the layout's index.json records the manifest, and oras-go's
// layout store derives referrers from the manifests it holds.
func (l *Layout) PushReferrer(ctx context.Context, _ ocispec.Descriptor, rf Referrer) error {
	for _, b := range append(append([]Blob{}, rf.Blobs...), Blob{rf.Descriptor, rf.Manifest}) {
		if err := l.copyPush(ctx, b.Descriptor, bytes.NewReader(b.Data)); err != nil {
			return fmt.Errorf("push %s to OCI layout %s: %w", b.Descriptor.Digest, l, err)
		}
	}
	return nil
}

func (l *Layout) fail(err error, format string, args ...any) error {
	return wrapf(err, format, args...)
}

func (l *Layout) contents(write bool) (content.Storage, error) { return l.blobs(write) }

func (l *Layout) indexTags(context.Context, int) map[string]bool { return nil }

func (l *Layout) scope(ctx context.Context, _ ...string) context.Context { return ctx }

// copyExists reports whether the layout holds desc; a missing layout holds
// nothing.
func (l *Layout) copyExists(ctx context.Context, desc ocispec.Descriptor, _ bool) (bool, error) {
	s, err := l.blobs(false)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return s.Exists(ctx, desc)
}

// copyPush stores content, creating the layout if needed; content the
// layout already has is not an error. A manifest is also listed in
// index.json (untagged), which is how a layout's referrers are found.
func (l *Layout) copyPush(ctx context.Context, desc ocispec.Descriptor, r io.Reader) error {
	s, err := l.blobs(true)
	if err != nil {
		return err
	}
	if err := s.Push(ctx, desc, r); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
		return err
	}
	if !spec.IsManifestType(desc.MediaType) {
		return nil
	}
	return l.updateIndex(func(idx *ocispec.Index) { addManifest(idx, desc, "") })
}

// tag points tag at desc, which the layout holds.
func (l *Layout) tag(ctx context.Context, _ Storage, desc ocispec.Descriptor, tag string) error {
	s, err := l.blobs(true)
	if err != nil {
		return err
	}
	if ok, err := s.Exists(ctx, desc); err != nil || !ok {
		return fmt.Errorf("tag %s: %s is not in the layout: %w", tag, desc.Digest, errors.Join(err, ErrNotFound))
	}
	return l.updateIndex(func(idx *ocispec.Index) { addManifest(idx, desc, tag) })
}
