package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"

	"github.com/nv2-signing/nv2/pkg/registry/internal/distribution"
	"github.com/nv2-signing/nv2/pkg/spec"
)

// Remote is a repository in a remote registry, reached through a Client.
// It is safe for concurrent use.
type Remote struct {
	client *Client
	ref    Reference // registry and repository only
	repo   *remote.Repository
	dist   *distribution.Repository
}

var _ Storage = (*Remote)(nil)

// Repository returns the remote repository of ref (its tag and digest are
// ignored). It sends no request. A layout reference is refused: open it
// with OpenLayout, or with Open for either kind.
func (c *Client) Repository(ref Reference) (*Remote, error) {
	if ref.Registry == "" || ref.Repository == "" {
		return nil, fmt.Errorf("reference %q has no registry or repository; use host[:port]/repository", ref)
	}
	oref := ref.orasReference("")
	if err := oref.ValidateRepository(); err != nil {
		return nil, fmt.Errorf("repository %s/%s: %w", ref.Registry, ref.Repository, err)
	}
	repo := &remote.Repository{
		Client:           c.auth,
		Reference:        oref,
		PlainHTTP:        c.plainHTTP(oref.Host()),
		MaxMetadataBytes: spec.MaxManifestSize,
		SkipReferrersGC:  true,
	}
	// oras-go must never write the referrers tag itself: its update is not
	// safe across processes and deletes the index it replaced. Declaring the
	// API "supported" makes oras push manifests as they are; nv2 learns the
	// real capability itself (see distribution.Capability) and keeps the
	// fallback index.
	if err := repo.SetReferrersCapability(true); err != nil {
		return nil, err
	}
	name := ref.Registry + "/" + ref.Repository
	if w := c.opts.Debug; w != nil {
		repo.HandleWarning = func(warning remote.Warning) {
			fmt.Fprintf(w, "nv2 http: warning from %s: %s\n", name, warning.Text)
		}
	}
	dist := &distribution.Repository{Repo: repo, Cap: c.capabilityFor(oref.Host() + "/" + ref.Repository), Settle: distribution.DefaultSettle()}
	return &Remote{client: c, ref: Reference{Registry: ref.Registry, Repository: ref.Repository}, repo: repo, dist: dist}, nil
}

// Open returns the storage ref names: the OCI image layout ref.Layout when
// it is set, else the remote repository of ref.
func (c *Client) Open(ref Reference) (Storage, error) {
	if ref.Layout != "" {
		return OpenLayout(ref.Layout)
	}
	return c.Repository(ref)
}

// String names the repository: "host/repository".
func (r *Remote) String() string { return r.dist.String() }

// Resolve returns the descriptor of the manifest that reference (a tag or a
// digest) names. Errors wrap ErrNotFound when there is no such manifest.
func (r *Remote) Resolve(ctx context.Context, reference string) (ocispec.Descriptor, error) {
	if err := checkReference(r, reference); err != nil {
		return ocispec.Descriptor{}, err
	}
	desc, err := r.repo.Resolve(ctx, reference)
	if err != nil {
		return ocispec.Descriptor{}, r.fail(err, "resolve %s in %s", reference, r)
	}
	return desc, nil
}

// FetchManifest is Fetch with the limit spec.MaxManifestSize.
func (r *Remote) FetchManifest(ctx context.Context, desc ocispec.Descriptor) ([]byte, error) {
	b, err := r.fetch(ctx, desc, spec.MaxManifestSize)
	if err != nil {
		return nil, r.fail(err, "fetch manifest %s from %s", desc.Digest, r)
	}
	return b, nil
}

// Fetch returns the content desc describes, refusing it when desc.Size is
// above limit, and checking that size and digest match what arrives.
func (r *Remote) Fetch(ctx context.Context, desc ocispec.Descriptor, limit int64) ([]byte, error) {
	b, err := r.fetch(ctx, desc, limit)
	if err != nil {
		return nil, r.fail(err, "")
	}
	return b, nil
}

func (r *Remote) fetch(ctx context.Context, desc ocispec.Descriptor, limit int64) ([]byte, error) {
	return fetchVerified(ctx, func() (content.Fetcher, error) { return r.repo, nil }, desc, limit)
}

// Referrers lists the referrers of subject (see Storage): every page of
// the registry's referrers API, or, on a registry without it, the
// referrers tag schema index.
func (r *Remote) Referrers(ctx context.Context, subject ocispec.Descriptor, artifactType string) ([]ocispec.Descriptor, error) {
	return referrers(ctx, r, subject, artifactType)
}

func (r *Remote) list(ctx context.Context, subject ocispec.Descriptor, artifactType string) ([]ocispec.Descriptor, error) {
	return r.dist.Referrers(ctx, subject, artifactType)
}

// ReferrersTree returns the tree of referrers of subject (see Storage). On
// a registry without the referrers API, one tag listing tells which
// artifacts of a large level have any (see indexTags).
func (r *Remote) ReferrersTree(ctx context.Context, subject ocispec.Descriptor, artifactType string, depth int) (*Node, error) {
	return referrersTree(ctx, r, subject, artifactType, depth)
}

// PushReferrer stores rf as a referrer of subject (see Storage).
//
// On a registry with the referrers API nothing else is written: no tag.
// The blobs (small ones as single-POST uploads: no existence check first)
// and, the first time a Client meets the repository, one referrers GET
// that tells whether the API exists run in parallel, then the manifest is
// PUT. Blobs this Client stored in the repository before are skipped (and
// pushed again should the registry have lost them). Without the referrers
// API the manifest is also added to the referrers tag schema index, the
// "<alg>-<hex>" tag of subject, with a read-merge-verify protocol that is
// safe across processes with no lock: when the index does not settle, the
// manifest is stored and the error says so.
func (r *Remote) PushReferrer(ctx context.Context, subject ocispec.Descriptor, rf Referrer) error {
	// One token (on token-auth registries) for every request of the push.
	ctx = auth.AppendRepositoryScope(ctx, r.repo.Reference, auth.ActionPull, auth.ActionPush)
	skipped, err := r.pushBlobs(ctx, subject, rf)
	if err != nil {
		return err
	}
	err = r.dist.PushReferrer(ctx, rf.Descriptor, rf.Manifest, subject)
	if err != nil && len(skipped) > 0 && distribution.IsBlobUnknown(err) {
		// This Client pushed these blobs before, but the registry lost them
		// since (garbage collection): push them and the manifest again.
		if err = r.pushAll(ctx, skipped); err == nil {
			err = r.dist.PushReferrer(ctx, rf.Descriptor, rf.Manifest, subject)
		}
	}
	if err != nil {
		return r.fail(err, "")
	}
	return nil
}

// pushBlobs uploads the blobs of rf this Client has not stored before, in
// parallel with the referrers API probe when the capability is unknown,
// and returns the blobs it skipped.
func (r *Remote) pushBlobs(ctx context.Context, subject ocispec.Descriptor, rf Referrer) ([]Blob, error) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxParallel)
	var skipped []Blob
	for _, b := range rf.Blobs {
		if r.dist.Cap.Stored(b.Descriptor.Digest.String()) {
			skipped = append(skipped, b)
			continue
		}
		g.Go(func() error { return r.pushBlob(gctx, b) })
	}
	if r.dist.Cap.Unknown() {
		// The referrers GET a listing would send; it tells whether to
		// maintain the fallback index, without a request more.
		g.Go(func() error { return r.fail(r.dist.Probe(gctx, subject, rf.Descriptor.ArtifactType), "") })
	}
	return skipped, g.Wait()
}

// pushAll uploads blobs one after the other.
func (r *Remote) pushAll(ctx context.Context, blobs []Blob) error {
	for _, b := range blobs {
		r.dist.Cap.Forget(b.Descriptor.Digest.String())
		if err := r.pushBlob(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

// pushBlob uploads b (a small one in a single POST) and remembers, for the
// Client's later pushes to this repository, that it is there.
func (r *Remote) pushBlob(ctx context.Context, b Blob) error {
	var err error
	if len(b.Data) <= distribution.MaxSinglePost {
		err = r.dist.PushBlob(ctx, b.Descriptor, b.Data)
	} else {
		err = r.repo.Blobs().Push(ctx, b.Descriptor, bytes.NewReader(b.Data))
	}
	if err != nil {
		return r.fail(err, "push blob %s to %s", b.Descriptor.Digest, r)
	}
	r.dist.Cap.MarkStored(b.Descriptor.Digest.String())
	return nil
}

// fail wraps err with what failed (when format is not ""), and as an *Error
// when it is of a Kind the user can fix (once, however often the error is
// wrapped). A nil err stays nil.
func (r *Remote) fail(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	var e *Error
	if !errors.As(err, &e) {
		if k := classify(err, r.repo.PlainHTTP); k != 0 {
			err = &Error{Kind: k, Registry: r.ref.Registry, Repository: r.ref.Repository,
				PlainHTTP: r.repo.PlainHTTP, UsernameGiven: r.client.opts.Username != "", Err: err}
		}
	}
	if format == "" {
		return err
	}
	return wrapf(err, format, args...)
}

func (r *Remote) contents(bool) (content.Storage, error) { return r.repo, nil }

func (r *Remote) scope(ctx context.Context, actions ...string) context.Context {
	return auth.AppendRepositoryScope(ctx, r.repo.Reference, actions...)
}

// copyExists reports whether the repository has desc. A referrer counts as
// missing on a registry that may lack the referrers API: stored is not
// necessarily indexed (an earlier copy may have been cut off between the
// two), and pushing it again costs a manifest PUT and an index read.
func (r *Remote) copyExists(ctx context.Context, desc ocispec.Descriptor, referrer bool) (bool, error) {
	if referrer && !r.dist.Cap.Supported() {
		return false, nil
	}
	return r.repo.Exists(ctx, desc)
}

// maxBufferedBlob is the largest blob Copy reads into memory before
// uploading it, so that the upload can be retried.
const maxBufferedBlob = 4 << 20

// copyPush stores what Copy sends: manifests with a subject go through the
// distribution PushReferrer so that registries without the referrers API
// index them.
func (r *Remote) copyPush(ctx context.Context, desc ocispec.Descriptor, rd io.Reader) error {
	if desc.MediaType != ocispec.MediaTypeImageManifest && desc.MediaType != ocispec.MediaTypeImageIndex {
		return r.copyBlob(ctx, desc, rd)
	}
	if desc.Size > spec.MaxManifestSize {
		return fmt.Errorf("manifest %s is %d bytes, over the limit of %d", desc.Digest, desc.Size, spec.MaxManifestSize)
	}
	raw, err := content.ReadAll(rd, desc)
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
		return r.repo.Push(ctx, desc, bytes.NewReader(raw))
	}
	entry := ocispec.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size, ArtifactType: m.ArtifactType, Annotations: m.Annotations}
	if entry.ArtifactType == "" && m.Config != nil {
		entry.ArtifactType = m.Config.MediaType
	}
	return r.dist.PushReferrer(ctx, entry, raw, *m.Subject)
}

// copyBlob uploads a blob Copy sends. A small blob is read first: an
// upload from memory can be sent again, so a 429 or 5xx answer to it is
// retried; a stream from the source cannot be.
func (r *Remote) copyBlob(ctx context.Context, desc ocispec.Descriptor, rd io.Reader) error {
	if desc.Size <= maxBufferedBlob {
		b, err := content.ReadAll(rd, desc)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	if err := r.repo.Push(ctx, desc, rd); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
		return err
	}
	return nil
}

// tag points tag at desc, whose manifest src holds.
func (r *Remote) tag(ctx context.Context, src Storage, desc ocispec.Descriptor, tag string) error {
	raw, err := src.FetchManifest(ctx, desc)
	if err != nil {
		return err
	}
	if _, err := r.dist.PutManifest(ctx, desc, raw, tag); err != nil {
		return r.fail(err, "tag %s as %s in %s", desc.Digest, tag, r)
	}
	return nil
}
