package testregistry

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/oci"
)

// Index is a multi-platform image made in memory: an OCI image index that
// lists one image per platform, each with a real gzipped tar layer and a
// config naming its platform.
type Index struct {
	Manifest   []byte
	Descriptor ocispec.Descriptor
	// Images are the platform images, in the order the index lists them,
	// before any nested index (see Nest).
	Images []*Image
	nested []*Index
}

// NewIndex makes an index of one image per platform ("linux/amd64",
// "linux/arm64/v8", ...); its content depends on seed.
func NewIndex(seed string, platforms ...string) *Index {
	var imgs []*Image
	for _, p := range platforms {
		parts := strings.SplitN(p, "/", 3)
		plat := ocispec.Platform{OS: parts[0], Architecture: parts[1]}
		if len(parts) == 3 {
			plat.Variant = parts[2]
		}
		imgs = append(imgs, newPlatformImage(seed+" "+p, plat))
	}
	return IndexOf(imgs...)
}

// IndexOf makes an index of the images, in order, each listed with its
// Platform.
func IndexOf(images ...*Image) *Index { return nestedIndex(images, nil) }

// Nest makes an index that lists x's images and then the index inner.
func (x *Index) Nest(inner *Index) *Index {
	return nestedIndex(x.Images, append(append([]*Index(nil), x.nested...), inner))
}

func nestedIndex(images []*Image, nested []*Index) *Index {
	x := &Index{Images: images, nested: nested}
	idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex}
	for _, img := range images {
		d := img.Descriptor
		d.Platform = img.Platform
		idx.Manifests = append(idx.Manifests, d)
	}
	for _, n := range nested {
		idx.Manifests = append(idx.Manifests, n.Descriptor)
	}
	var err error
	if x.Manifest, err = json.Marshal(idx); err != nil {
		panic(err)
	}
	x.Descriptor = content.NewDescriptorFromBytes(ocispec.MediaTypeImageIndex, x.Manifest)
	return x
}

// newPlatformImage makes an image for plat with one gzipped tar layer.
func newPlatformImage(seed string, plat ocispec.Platform) *Image {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	body := []byte("built for " + seed + "\n")
	if err := tw.WriteHeader(&tar.Header{Name: "etc/platform", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
		panic(err)
	}
	_, _ = tw.Write(body)
	_ = tw.Close()
	_ = zw.Close()
	layer := buf.Bytes()
	config, err := json.Marshal(ocispec.Image{
		Platform: plat,
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromBytes(tarOf(layer))}},
		Config:   ocispec.ImageConfig{Labels: map[string]string{"seed": seed}},
	})
	if err != nil {
		panic(err)
	}
	img := imageOf(config, layer, ocispec.MediaTypeImageLayerGzip)
	img.Platform = &plat
	return img
}

// tarOf is the uncompressed tar of a gzipped layer (its diff ID's input).
func tarOf(gz []byte) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		panic(err)
	}
	var out bytes.Buffer
	if _, err := out.ReadFrom(zr); err != nil {
		panic(err)
	}
	return out.Bytes()
}

// Push pushes every platform image and the index to host/repo over plain
// HTTP and tags the index (when tag is not empty).
func (x *Index) Push(t testing.TB, host, repo, tag string) ocispec.Descriptor {
	t.Helper()
	for _, n := range x.nested {
		n.Push(t, host, repo, "")
	}
	for _, img := range x.Images {
		img.Push(t, host, repo, "")
	}
	if err := put(remoteRepo(t, host, repo), nil, nil, x.Descriptor, x.Manifest, tag); err != nil {
		t.Fatalf("push index: %v", err)
	}
	return x.Descriptor
}

// WriteLayout writes every platform image and the index into the OCI image
// layout at dir (created when missing) and tags the index (when tag is not
// empty).
func (x *Index) WriteLayout(dir, tag string) (ocispec.Descriptor, error) {
	for _, n := range x.nested {
		if _, err := n.WriteLayout(dir, ""); err != nil {
			return ocispec.Descriptor{}, err
		}
	}
	for _, img := range x.Images {
		if _, err := img.WriteLayout(dir, ""); err != nil {
			return ocispec.Descriptor{}, err
		}
	}
	s, err := oci.New(dir)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	return x.Descriptor, put(s, nil, nil, x.Descriptor, x.Manifest, tag)
}
