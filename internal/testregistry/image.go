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
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/oci"
	"oras.land/oras-go/v2/errdef"
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
	cd := content.NewDescriptorFromBytes(ocispec.MediaTypeImageConfig, config)
	ld := content.NewDescriptorFromBytes(ocispec.MediaTypeImageLayer, layer)
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
	ctx := context.Background()
	r, err := remote.NewRepository(host + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	r.PlainHTTP = true
	for _, d := range img.blobDescs {
		if err := r.Push(ctx, d, bytes.NewReader(img.Blobs[d.Digest])); err != nil {
			t.Fatalf("push blob: %v", err)
		}
	}
	if tag != "" {
		err = r.PushReference(ctx, img.Descriptor, bytes.NewReader(img.Manifest), tag)
	} else {
		err = r.Push(ctx, img.Descriptor, bytes.NewReader(img.Manifest))
	}
	if err != nil {
		t.Fatalf("push manifest: %v", err)
	}
	return img.Descriptor
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
	ctx := context.Background()
	s, err := oci.New(dir)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	for _, d := range img.blobDescs {
		if err := s.Push(ctx, d, bytes.NewReader(img.Blobs[d.Digest])); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
			return ocispec.Descriptor{}, err
		}
	}
	if err := s.Push(ctx, img.Descriptor, bytes.NewReader(img.Manifest)); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
		return ocispec.Descriptor{}, err
	}
	if tag != "" {
		if err := s.Tag(ctx, img.Descriptor, tag); err != nil {
			return ocispec.Descriptor{}, err
		}
	}
	return img.Descriptor, nil
}
