package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/nv2-signing/nv2/pkg/spec"
)

// ErrMediaType is matched (errors.Is) by ManifestDescriptor's errors that
// are about the media type given: none where one is needed, or one the
// manifest contradicts.
var ErrMediaType = errors.New("the manifest's media type is missing or contradicted")

// mediaTypeError is an error about the given media type; it matches
// ErrMediaType.
type mediaTypeError string

func (e mediaTypeError) Error() string        { return string(e) }
func (e mediaTypeError) Is(target error) bool { return target == ErrMediaType }

// ManifestDescriptor describes the manifest raw, as read from a file, so it
// can be signed or verified with no registry: its digest and size are those
// of raw, its media type the manifest's own mediaType field, else mediaType.
// It refuses raw when it is over spec.MaxManifestSize or not a JSON object,
// when the media type is not a manifest's or index's, when neither source
// gives one, and when both are given and differ.
func ManifestDescriptor(raw []byte, mediaType string) (ocispec.Descriptor, error) {
	if len(raw) > spec.MaxManifestSize {
		return ocispec.Descriptor{}, fmt.Errorf("the manifest is %d bytes, over the limit of %d", len(raw), spec.MaxManifestSize)
	}
	var m struct {
		MediaType string `json:"mediaType"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("the manifest is not a JSON object: %w", err)
	}
	mt, given := m.MediaType, false
	switch {
	case mt == "" && mediaType == "":
		return ocispec.Descriptor{}, mediaTypeError("the manifest has no mediaType field, and no media type was given (e.g. " + ocispec.MediaTypeImageManifest + ")")
	case mt == "":
		mt, given = mediaType, true
	case mediaType != "" && mediaType != mt:
		return ocispec.Descriptor{}, mediaTypeError(fmt.Sprintf("the manifest's mediaType is %s, not %s as given", mt, mediaType))
	}
	if !spec.IsManifestType(mt) {
		msg := fmt.Sprintf("media type %q is not a manifest's or an index's (%s, %s, %s, %s)",
			mt, ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageIndex, spec.MediaTypeDockerManifest, spec.MediaTypeDockerManifestList)
		if given {
			return ocispec.Descriptor{}, mediaTypeError(msg)
		}
		return ocispec.Descriptor{}, errors.New(msg)
	}
	return content.NewDescriptorFromBytes(mt, raw), nil
}

// CheckLayoutDir reports whether dir can receive an artifact as an OCI image
// layout without being changed first: it is missing, an empty folder, or a
// folder holding an oci-layout file. It writes nothing.
func CheckLayoutDir(dir string) error {
	if dir == "" {
		return errors.New("OCI layout path is empty")
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("OCI layout %s: %w", dir, err)
	case !fi.IsDir():
		return fmt.Errorf("OCI layout %s: not a directory; choose a new folder or an existing OCI image layout", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, ocispec.ImageLayoutFile)); err == nil {
		return nil
	}
	if _, err := os.ReadDir(dir); err != nil {
		return fmt.Errorf("OCI layout %s: %w", dir, err)
	}
	if !emptyOrCreating(dir) {
		return fmt.Errorf("OCI layout %s: the folder is not empty and has no %s file, so it is not an OCI image layout; choose a new folder", dir, ocispec.ImageLayoutFile)
	}
	return nil
}

// CopyToLayout copies the artifact dgst names in src, with all its
// referrers (as Copy does), into the OCI image layout at dir, tagged tag
// when tag is not "". It copies exactly dgst: no tag is resolved in src.
//
// All or nothing: everything is first copied into a staging layout beside
// dir, and only when that has succeeded is dir written: a dir that did not
// exist is the staging layout renamed (one atomic step), an existing layout
// receives the staged content by a local copy. On any error before that
// step, dir is left exactly as it was (a dir that did not exist is not
// created) and the staging layout is removed. The local merge into an
// existing layout can itself fail only on a local I/O error; it may then
// leave some of the new blobs and manifests in dir, never remove any.
//
// Each progress function given observes the copy from src (see CopyEvent).
func CopyToLayout(ctx context.Context, src Storage, dgst digest.Digest, dir, tag string, progress ...func(CopyEvent)) (_ ocispec.Descriptor, err error) {
	if err := dgst.Validate(); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("copy to OCI layout %s: invalid digest %q: %w", dir, dgst, err)
	}
	if tag != "" && !isTag(tag) {
		return ocispec.Descriptor{}, fmt.Errorf("copy to OCI layout %s: invalid tag %q", dir, tag)
	}
	if err := CheckLayoutDir(dir); err != nil {
		return ocispec.Descriptor{}, err
	}
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)
	created, err := mkdirAllTracked(parent)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("copy to OCI layout %s: %w", dir, err)
	}
	stage, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".nv2-staging-")
	if err != nil {
		removeCreated(created)
		return ocispec.Descriptor{}, fmt.Errorf("copy to OCI layout %s: create a staging folder: %w", dir, err)
	}
	// MkdirTemp makes the folder private; the layout it becomes should not be.
	if err := os.Chmod(stage, 0o755); err != nil {
		os.RemoveAll(stage)
		removeCreated(created)
		return ocispec.Descriptor{}, fmt.Errorf("copy to OCI layout %s: %w", dir, err)
	}
	committed := false
	defer func() {
		os.RemoveAll(stage)
		if !committed {
			removeCreated(created)
		}
	}()

	staged, err := OpenLayout(stage)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc, err := Copy(ctx, src, dgst.String(), staged, tag, progress...)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if desc.Digest != dgst {
		return ocispec.Descriptor{}, fmt.Errorf("copy to OCI layout %s: copied %s, not %s", dir, desc.Digest, dgst)
	}
	if err := ctx.Err(); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("copy to OCI layout %s: %w", dir, err)
	}

	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.Rename(stage, dir); err == nil {
			committed = true
			return desc, nil
		} else if _, serr := os.Stat(dir); !errors.Is(serr, os.ErrNotExist) {
			// Someone created dir meanwhile: merge into it below.
		} else {
			return ocispec.Descriptor{}, fmt.Errorf("copy to OCI layout %s: move the staged layout into place: %w", dir, err)
		}
	}
	if err := CheckLayoutDir(dir); err != nil {
		return ocispec.Descriptor{}, err
	}
	dst, err := OpenLayout(dir)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	// From here on dir is written; only local files are read.
	committed = true
	// A fresh context: a deadline or cancellation must not stop the merge
	// halfway now that the content is all here.
	if _, err := Copy(context.WithoutCancel(ctx), staged, dgst.String(), dst, tag); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("merge the staged content into OCI layout %s: %w", dir, err)
	}
	return desc, nil
}

// mkdirAllTracked creates dir and its missing parents, and returns the
// topmost folder it created ("" when dir existed), so that it can be removed.
func mkdirAllTracked(dir string) (string, error) {
	top := ""
	for d := dir; ; {
		if _, err := os.Stat(d); err == nil {
			break
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		top = d
		up := filepath.Dir(d)
		if up == d {
			break
		}
		d = up
	}
	if top == "" {
		return "", nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return top, nil
}

// removeCreated removes the folders mkdirAllTracked created, if it did.
func removeCreated(top string) {
	if top != "" {
		os.RemoveAll(top)
	}
}
