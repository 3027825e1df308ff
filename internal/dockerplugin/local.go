package dockerplugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/nv2-signing/nv2/internal/dockerarchive"
	"github.com/nv2-signing/nv2/pkg/flows"
	"github.com/nv2-signing/nv2/pkg/registry"
	"github.com/nv2-signing/nv2/pkg/spec"
)

// Signing before push (docs/architecture.md): a local image is exported
// with docker save and converted by dockerarchive into an OCI image whose
// manifest digest depends only on the image ID. Its signatures wait in the
// store, one OCI image layout per image ID holding the manifest, the config
// and the signatures (no layers), until PushLocal puts image and signatures
// into the registry together.

// DefaultStoreDir is where signatures of local images wait for their push:
// nv2/docker in the user's cache folder, or "" when there is none.
func DefaultStoreDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "nv2", "docker")
}

// NotLocalError: the engine has no image by that name, or cannot be asked.
type NotLocalError struct {
	Name string
	// Engine is what docker said.
	Engine string
}

func (e *NotLocalError) Error() string {
	return fmt.Sprintf("no local image %s in the docker engine (%s)", e.Name, e.Engine)
}

// ErrChanged: the image the engine exported is not the one it named, as when
// the name moved to another image meanwhile.
var ErrChanged = errors.New("the exported image is not the image the name pointed at; try again")

// ImageID returns the ID of the local image name in the engine.
func (d *Docker) ImageID(name string) (digest.Digest, error) {
	out, err := d.query("image", "inspect", "--format", "{{.Id}}", name)
	var exit *ExitError
	if errors.As(err, &exit) {
		return "", &NotLocalError{Name: name, Engine: exit.Stderr}
	}
	if err != nil {
		return "", err
	}
	id, err := digest.Parse(out)
	if err != nil {
		return "", fmt.Errorf("docker image inspect %s gave %q, not an image ID", name, out)
	}
	return id, nil
}

// LocalImage is a local image as nv2 signs and pushes it.
type LocalImage struct {
	Name ImageName
	// ID is the engine's image ID: the digest of the image config.
	ID digest.Digest
	// Layout is the store's OCI image layout of the image.
	Layout string
	Image  *dockerarchive.Image
}

// Pinned is NAME@DIGEST of the image as it will be in the registry.
func (l *LocalImage) Pinned() string { return l.Name.Raw + "@" + l.Image.Descriptor.Digest.String() }

// Location is the image in its store layout, by digest.
func (l *LocalImage) Location() flows.Location {
	return flows.Location{Ref: l.Layout + "@" + l.Image.Descriptor.Digest.String(), Layout: true}
}

// Export converts the local image name into its layout in storeDir, with the
// layers when layers is set (see dockerarchive.Convert).
func (d *Docker) Export(name, storeDir string, layers bool) (*LocalImage, error) {
	img, err := ParseImageName(name)
	if err != nil {
		return nil, &flows.UsageError{Err: err}
	}
	if img.Ref.Digest != "" {
		return nil, &flows.UsageError{Err: errors.New("a local image to push is named NAME[:TAG], not by digest")}
	}
	id, err := d.ImageID(name)
	if err != nil {
		return nil, err
	}
	if storeDir == "" {
		return nil, errors.New("no folder to keep signatures of local images in: set XDG_CACHE_HOME or HOME")
	}
	l := &LocalImage{Name: img, ID: id, Layout: filepath.Join(storeDir, id.Encoded())}
	err = d.stream(func(r io.Reader) error {
		l.Image, err = dockerarchive.Convert(r, l.Layout, dockerarchive.Options{Layers: layers})
		return err
	}, "save", name)
	if err != nil {
		return nil, fmt.Errorf("exporting %s from the docker engine: %w", name, err)
	}
	if l.Image.Config.Digest != id {
		_ = dockerarchive.RemoveBlobs(l.Layout, l.Image.AddedLayers)
		return nil, fmt.Errorf("%s: %w", name, ErrChanged)
	}
	return l, nil
}

// SignLocalOptions say which local image SignLocal signs, and how.
type SignLocalOptions struct {
	// Name is NAME[:TAG] of an image in the engine.
	Name string
	// Sign is how to sign; its Artifact is set by SignLocal.
	Sign flows.SignOptions
	// StoreDir keeps the signatures until the push (DefaultStoreDir).
	StoreDir string
}

// SignLocal signs the digest the local image will have in the registry once
// PushLocal pushes it, with no registry involved, and keeps the signature in
// the store.
func SignLocal(ctx context.Context, d *Docker, client *flows.Client, opts SignLocalOptions) (*LocalImage, *flows.SignResult, error) {
	l, err := d.Export(opts.Name, opts.StoreDir, false)
	if err != nil {
		return nil, nil, err
	}
	sign := opts.Sign
	sign.Artifact = l.Location()
	res, err := client.Sign(ctx, sign)
	if err != nil {
		return l, nil, err
	}
	return l, res, nil
}

// ErrUnsigned: a local image has no signature waiting and no signer was
// given to sign it at push.
var ErrUnsigned = errors.New("the image has no signature to push with it")

// PushLocalResult is what PushLocal did.
type PushLocalResult struct {
	*LocalImage
	// Tagged is NAME:TAG in the registry.
	Tagged string
	// Signed is set when PushLocal signed the image itself.
	Signed *flows.SignResult
	// Signatures are the signature manifests pushed with the image.
	Signatures []ocispec.Descriptor
}

// PushLocal pushes the local image opts.Name (NAME[:TAG]) with its
// signatures: the image converted as SignLocal converts it, so the digest
// stored is the digest signed. An image without a signature waiting is
// signed first with opts.Sign.Signer, or refused (ErrUnsigned) when none is
// given. Nothing is pushed unless the image has a signature.
func PushLocal(ctx context.Context, d *Docker, client *flows.Client, opts PushOptions) (*PushLocalResult, error) {
	if opts.AllTags || opts.Platform != "" {
		return nil, &flows.UsageError{Err: errors.New("pushing all tags or one platform is docker push's: push with docker, then sign what it pushed")}
	}
	l, err := d.Export(opts.Name, opts.StoreDir, true)
	if err != nil {
		return nil, err
	}
	defer dockerarchive.RemoveBlobs(l.Layout, l.Image.AddedLayers) //nolint:errcheck // the layers are a copy
	res := &PushLocalResult{LocalImage: l}
	layout, err := registry.OpenLayout(l.Layout)
	if err != nil {
		return nil, err
	}
	sigs, err := layout.Referrers(ctx, l.Image.Descriptor, spec.ArtifactTypeSignature)
	if err != nil {
		return nil, err
	}
	if len(sigs) == 0 {
		if opts.Sign.Signer == nil {
			return nil, ErrUnsigned
		}
		sign := opts.Sign
		sign.Artifact = l.Location()
		if res.Signed, err = client.Sign(ctx, sign); err != nil {
			return nil, err
		}
		sigs = []ocispec.Descriptor{*res.Signed.Signature}
	}
	dst := l.Name.Ref
	if dst.Tag == "" {
		dst.Tag = "latest" // what docker pushes
	}
	if _, err := client.Copy(ctx, l.Location(), flows.Location{Ref: dst.String()}); err != nil {
		return nil, err
	}
	res.Tagged = l.Name.Raw + ":" + dst.Tag
	res.Signatures = sigs
	return res, nil
}

// IsNotLocal reports whether err says the engine has no such image.
func IsNotLocal(err error) bool {
	var nl *NotLocalError
	return errors.As(err, &nl) && strings.Contains(strings.ToLower(nl.Engine), "no such image")
}
