package testregistry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/oci"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
)

// Image is a small OCI image made in memory: its manifest and blobs.
type Image struct {
	Manifest   []byte
	Descriptor ocispec.Descriptor
	Blobs      map[digest.Digest][]byte
	// Platform is the platform of a platform image of an Index.
	Platform  *ocispec.Platform
	blobDescs []ocispec.Descriptor
}

// NewImage makes a tiny, valid OCI image whose content depends on seed, so
// different seeds give different digests.
func NewImage(seed string) *Image {
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":{"Labels":{"seed":` + quote(seed) + `}}}`)
	layer := []byte("nv2 test layer " + seed + "\n")
	return imageOf(config, layer, ocispec.MediaTypeImageLayer)
}

// imageOf makes the image of one config and one layer of layerType.
func imageOf(config, layer []byte, layerType string) *Image {
	cd := content.NewDescriptorFromBytes(ocispec.MediaTypeImageConfig, config)
	ld := content.NewDescriptorFromBytes(layerType, layer)
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    cd,
		Layers:    []ocispec.Descriptor{ld},
	}
	mb, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return &Image{
		Manifest:   mb,
		Descriptor: content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, mb),
		Blobs:      map[digest.Digest][]byte{cd.Digest: config, ld.Digest: layer},
		blobDescs:  []ocispec.Descriptor{cd, ld},
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Push pushes the image to host/repo over plain HTTP and tags it (when tag is
// not empty). It returns the manifest descriptor.
func (img *Image) Push(t testing.TB, host, repo, tag string) ocispec.Descriptor {
	t.Helper()
	if err := put(remoteRepo(t, host, repo), img.blobDescs, img.Blobs, img.Descriptor, img.Manifest, tag); err != nil {
		t.Fatalf("push image: %v", err)
	}
	return img.Descriptor
}

// remoteRepo is host/repo over plain HTTP.
func remoteRepo(t testing.TB, host, repo string) *remote.Repository {
	t.Helper()
	r, err := remote.NewRepository(host + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	r.PlainHTTP = true
	return r
}

// put stores blobs (with their data) and then the manifest raw in s, and
// tags it when tag is not empty. Content s already has is fine.
func put(s oras.Target, blobs []ocispec.Descriptor, data map[digest.Digest][]byte, desc ocispec.Descriptor, raw []byte, tag string) error {
	ctx := context.Background()
	for _, d := range blobs {
		if err := s.Push(ctx, d, bytes.NewReader(data[d.Digest])); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
			return err
		}
	}
	if rp, ok := s.(registry.ReferencePusher); ok && tag != "" {
		return rp.PushReference(ctx, desc, bytes.NewReader(raw), tag)
	}
	if err := s.Push(ctx, desc, bytes.NewReader(raw)); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
		return err
	}
	if tag == "" {
		return nil
	}
	return s.Tag(ctx, desc, tag)
}

// PushImage pushes NewImage(seed) as host/repo:tag and returns its descriptor.
func PushImage(t testing.TB, r *Registry, repo, tag, seed string) ocispec.Descriptor {
	t.Helper()
	return NewImage(seed).Push(t, r.Host, repo, tag)
}

// BlobDescriptors returns the descriptors of the image's config and layer.
func (img *Image) BlobDescriptors() []ocispec.Descriptor {
	return append([]ocispec.Descriptor(nil), img.blobDescs...)
}

// WriteLayout writes the image into the OCI image layout at dir, creating
// the layout when missing, tags it (when tag is not empty) and returns the
// manifest descriptor.
func (img *Image) WriteLayout(dir, tag string) (ocispec.Descriptor, error) {
	s, err := oci.New(dir)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	return img.Descriptor, put(s, img.blobDescs, img.Blobs, img.Descriptor, img.Manifest, tag)
}
