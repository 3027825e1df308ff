// Package imagebuild writes a reproducible OCI image layout of static
// binaries: one FROM-scratch image per platform, joined in one image index.
//
// Everything that could differ between two builds of the same inputs is
// fixed: tar headers (times, owners, modes, order), the gzip header, the
// config's created time and history, and the layout's index. The same
// files and options give the same index digest on any machine.
package imagebuild

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// RefNameAnnotation tags a manifest in an OCI layout's index.json.
const RefNameAnnotation = "org.opencontainers.image.ref.name"

// Platform is one image of the index: its platform and the file placed at
// Options.Binary.
type Platform struct {
	OS, Architecture, Variant string
	// Binary is the path on this machine of the platform's executable.
	Binary string
}

// String is os/arch[/variant].
func (p Platform) String() string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// Options describe the images. Every platform's image holds the same files
// except the binary.
type Options struct {
	// Platforms are the images of the index, in this order.
	Platforms []Platform
	// Binary is where the executable goes in each image, e.g. /usr/local/bin/nv2.
	Binary string
	// Files maps a path in the image to a file on this machine (CA
	// certificates, configuration); each is written with mode 0644.
	Files map[string]string
	// Dirs are empty directories the image needs (0755), e.g. storage roots.
	Dirs []string
	// Entrypoint, Cmd, Env, ExposedPorts and Labels go into the image config.
	Entrypoint, Cmd, Env, ExposedPorts []string
	Labels                             map[string]string
	// Created is the one time written into tar headers and the config; a
	// build from one commit passes that commit's time.
	Created time.Time
}

// Layer returns the uncompressed tar of one platform's image: directories
// first, then files, sorted by path, owned by root, with Created as mtime.
func (o Options) Layer(binary string) ([]byte, error) {
	type entry struct {
		name, src string
		mode      int64
	}
	entries := map[string]entry{}
	addParents := func(p string) {
		for d := path.Dir(p); d != "/" && d != "."; d = path.Dir(d) {
			entries[d] = entry{name: d, mode: 0o755}
		}
	}
	addFile := func(p, src string, mode int64) {
		addParents(p)
		entries[p] = entry{name: p, src: src, mode: mode}
	}
	addFile(o.Binary, binary, 0o755)
	for p, src := range o.Files {
		addFile(p, src, 0o644)
	}
	for _, d := range o.Dirs {
		addParents(d + "/x")
	}
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		e := entries[n]
		h := &tar.Header{
			Name: strings.TrimPrefix(n, "/"), Mode: e.mode, ModTime: o.Created.UTC(),
			Uid: 0, Gid: 0, Format: tar.FormatPAX,
		}
		var data []byte
		if e.src == "" {
			h.Typeflag, h.Name = tar.TypeDir, h.Name+"/"
		} else {
			b, err := os.ReadFile(e.src)
			if err != nil {
				return nil, fmt.Errorf("image file %s: %w", n, err)
			}
			h.Typeflag, h.Size, data = tar.TypeReg, int64(len(b)), b
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Image returns one platform's image: an OCI manifest, an OCI config and
// one gzip layer.
func (o Options) Image(p Platform) (v1.Image, error) {
	tarBytes, err := o.Layer(p.Binary)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(tarBytes)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	created := v1.Time{Time: o.Created.UTC()}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, MediaType: types.OCILayer,
		History: v1.History{Created: created, CreatedBy: "imagebuild: " + o.Binary, Comment: p.String()}})
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Variant, cfg.Created = p.OS, p.Architecture, p.Variant, created
	cfg.Config.Entrypoint, cfg.Config.Cmd, cfg.Config.Env, cfg.Config.Labels = o.Entrypoint, o.Cmd, o.Env, o.Labels
	if len(o.ExposedPorts) > 0 {
		cfg.Config.ExposedPorts = map[string]struct{}{}
		for _, port := range o.ExposedPorts {
			cfg.Config.ExposedPorts[port] = struct{}{}
		}
	}
	return mutate.ConfigFile(img, cfg)
}

// Index returns the image index of every platform's image, each listed with
// its platform.
func (o Options) Index() (v1.ImageIndex, error) {
	if len(o.Platforms) == 0 || o.Binary == "" {
		return nil, fmt.Errorf("imagebuild: an image needs a binary path and at least one platform")
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range o.Platforms {
		img, err := o.Image(p)
		if err != nil {
			return nil, fmt.Errorf("%s image: %w", p, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			MediaType: types.OCIManifestSchema1,
			Platform:  &v1.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant},
		}})
	}
	return idx, nil
}

// WriteLayout writes the index into a new OCI image layout at dir, tagged
// tag, and returns the index's descriptor. dir must not hold a layout yet:
// a rebuild starts from an empty folder so that nothing stale is listed.
func (o Options) WriteLayout(dir, tag string) (v1.Descriptor, error) {
	if _, err := os.Stat(path.Join(dir, "index.json")); err == nil {
		return v1.Descriptor{}, fmt.Errorf("%s already holds an OCI layout; remove it first", dir)
	}
	idx, err := o.Index()
	if err != nil {
		return v1.Descriptor{}, err
	}
	l, err := layout.Write(dir, empty.Index)
	if err != nil {
		return v1.Descriptor{}, err
	}
	if err := l.AppendIndex(idx, layout.WithAnnotations(map[string]string{RefNameAnnotation: tag})); err != nil {
		return v1.Descriptor{}, err
	}
	return descriptor(idx)
}

// WriteDockerArchive writes the image of platform p as a tar that
// `docker load` reads (docker's archive format), tagged ref.
func (o Options) WriteDockerArchive(file, ref string, p Platform) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return err
	}
	img, err := o.Image(p)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(file, tag, img)
}

func descriptor(idx v1.ImageIndex) (v1.Descriptor, error) {
	d, err := idx.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	size, err := idx.Size()
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: types.OCIImageIndex, Digest: d, Size: size}, nil
}
