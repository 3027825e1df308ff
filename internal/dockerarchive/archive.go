// Package dockerarchive converts the archive "docker save" writes into an OCI
// image whose manifest digest depends only on the image ID, so that an image
// can be signed before it is pushed (docs/architecture.md, "Signing before push").
package dockerarchive

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content/oci"
)

// Media types of the converted image.
const (
	MediaTypeManifest = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeConfig   = "application/vnd.oci.image.config.v1+json"
	// MediaTypeLayer is an uncompressed layer tar: its digest is the diff
	// ID, so it is known from the config alone.
	MediaTypeLayer = "application/vnd.oci.image.layer.v1.tar"
)

// Limits on what an archive may hold.
const (
	// MaxManifestJSON bounds the archive's manifest.json.
	MaxManifestJSON = 1 << 20
	// MaxConfig bounds the image config.
	MaxConfig = 4 << 20
	// MaxLayers bounds the layers of one image.
	MaxLayers = 1000
	// MaxEntries bounds the files, folders and links in an archive.
	MaxEntries = 100_000
	// maxLinkDepth bounds the chain of links followed to a layer file.
	maxLinkDepth = 8
)

// ErrInvalid is wrapped by every error about the archive's content.
var ErrInvalid = errors.New("not a docker image archive")

func invalidf(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
}

// Image is the image of an archive as an OCI image.
type Image struct {
	// Manifest is the OCI image manifest; Descriptor describes it.
	Manifest   []byte
	Descriptor ocispec.Descriptor
	// Config is the engine's image config: its digest is the image ID.
	Config ocispec.Descriptor
	Layers []ocispec.Descriptor
	// RepoTags are the names the archive gives the image.
	RepoTags []string
	// AddedLayers are the layer blobs Convert wrote that the layout did not
	// have before (see RemoveBlobs).
	AddedLayers []digest.Digest
}

// Options say what Convert writes.
type Options struct {
	// Layers writes the layer blobs too; without it only the config and the
	// manifest are written, and layers are only measured and digested.
	Layers bool
	// Tag, when set, tags the manifest in the layout's index.json.
	Tag string
}

// Convert reads a docker save archive of exactly one image from r and
// writes it as an OCI image into the OCI image layout at dir (created when
// missing; blobs already there are kept). It returns the image, whose
// manifest digest is a function of the image ID alone: the config is the
// engine's, byte for byte; each layer is the uncompressed layer tar, whose
// digest is the diff ID the config lists (checked); the manifest is built
// from those descriptors with a fixed field order and no timestamp.
//
// Both archive forms are read: the legacy one (manifest.json, ID.json,
// ID/layer.tar) and the OCI form of engines 25.0 and later (manifest.json
// beside an OCI layout); gzipped layers are decompressed. The archive is
// untrusted: it is read once as a stream, JSON within limits, paths and
// links checked, sparse files refused. On error, the blobs this call added
// are removed again.
func Convert(r io.Reader, dir string, opts Options) (*Image, error) {
	w, err := newBlobWriter(dir)
	if err != nil {
		return nil, err
	}
	img, err := convert(r, w, opts)
	if err != nil {
		w.removeAll()
		return nil, err
	}
	keep := map[digest.Digest]bool{img.Config.Digest: true}
	if opts.Layers {
		for _, l := range img.Layers {
			keep[l.Digest] = true
		}
	}
	w.removeExcept(keep)
	for _, l := range img.Layers {
		if w.added[l.Digest] && !slices.Contains(img.AddedLayers, l.Digest) {
			img.AddedLayers = append(img.AddedLayers, l.Digest)
		}
	}
	if err := writeIndex(dir, img, opts.Tag); err != nil {
		w.removeAll()
		return nil, err
	}
	return img, nil
}

// entry is what the archive holds at one path: a file's digest and size, or
// a link to another path.
type entry struct {
	digest digest.Digest
	size   int64
	link   string
}

func convert(r io.Reader, w *blobWriter, opts Options) (*Image, error) {
	entries := map[string]entry{}
	var manifestJSON []byte
	tr := tar.NewReader(r)
	for n := 0; ; n++ {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, invalidf("reading the tar stream: %v", err)
		}
		if n >= MaxEntries {
			return nil, invalidf("more than %d entries", MaxEntries)
		}
		name, err := cleanName(h.Name)
		if err != nil {
			return nil, err
		}
		if isSparse(h) {
			// A sparse file's size is not bytes in the stream: a few bytes
			// could claim terabytes. docker save writes none.
			return nil, invalidf("%s is a sparse file", name)
		}
		switch h.Typeflag {
		case tar.TypeReg:
			if name == "manifest.json" {
				if manifestJSON, err = readLimit(tr, h.Size, MaxManifestJSON, name); err != nil {
					return nil, err
				}
				continue
			}
			d, n, err := w.write(tr, h.Size, opts.Layers)
			if err != nil {
				return nil, err
			}
			entries[name] = entry{digest: d, size: n}
		case tar.TypeSymlink:
			entries[name] = entry{link: path.Join(path.Dir(name), h.Linkname)}
		case tar.TypeLink:
			entries[name] = entry{link: h.Linkname}
		}
	}
	if manifestJSON == nil {
		return nil, invalidf("no manifest.json")
	}
	return build(manifestJSON, entries, w)
}

// isSparse reports whether h is a GNU sparse file, in either encoding.
func isSparse(h *tar.Header) bool {
	if h.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range h.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// archiveManifest is one entry of the archive's manifest.json.
type archiveManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// imageConfig is the part of the image config Convert checks.
type imageConfig struct {
	RootFS struct {
		Type    string          `json:"type"`
		DiffIDs []digest.Digest `json:"diff_ids"`
	} `json:"rootfs"`
}

// build checks manifest.json and the config against the files read and
// returns the image.
func build(manifestJSON []byte, entries map[string]entry, w *blobWriter) (*Image, error) {
	var ms []archiveManifest
	if err := json.Unmarshal(manifestJSON, &ms); err != nil {
		return nil, invalidf("manifest.json: %v", err)
	}
	if len(ms) != 1 {
		return nil, invalidf("manifest.json lists %d images, want exactly one", len(ms))
	}
	m := ms[0]
	if len(m.Layers) > MaxLayers {
		return nil, invalidf("%d layers, more than %d", len(m.Layers), MaxLayers)
	}
	cfg, err := lookup(entries, m.Config)
	if err != nil {
		return nil, err
	}
	if cfg.size > MaxConfig || !w.has(cfg.digest) {
		return nil, invalidf("the config %s is not an uncompressed file of at most %d bytes", m.Config, MaxConfig)
	}
	raw, err := w.read(cfg.digest, MaxConfig)
	if err != nil {
		return nil, err
	}
	var c imageConfig
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, invalidf("config %s: %v", m.Config, err)
	}
	if c.RootFS.Type != "layers" || len(c.RootFS.DiffIDs) != len(m.Layers) {
		return nil, invalidf("config %s lists %d layers of type %q; manifest.json %d", m.Config, len(c.RootFS.DiffIDs), c.RootFS.Type, len(m.Layers))
	}
	img := &Image{
		Config:   ocispec.Descriptor{MediaType: MediaTypeConfig, Digest: cfg.digest, Size: cfg.size},
		RepoTags: m.RepoTags,
	}
	for i, p := range m.Layers {
		l, err := lookup(entries, p)
		if err != nil {
			return nil, err
		}
		if l.digest != c.RootFS.DiffIDs[i] {
			return nil, invalidf("layer %d (%s) has digest %s; the config says %s", i, p, l.digest, c.RootFS.DiffIDs[i])
		}
		img.Layers = append(img.Layers, ocispec.Descriptor{MediaType: MediaTypeLayer, Digest: l.digest, Size: l.size})
	}
	img.Manifest = marshalManifest(img.Config, img.Layers)
	img.Descriptor = ocispec.Descriptor{MediaType: MediaTypeManifest, Digest: digest.FromBytes(img.Manifest), Size: int64(len(img.Manifest))}
	return img, nil
}

// lookup returns the file at p, following links.
func lookup(entries map[string]entry, p string) (entry, error) {
	name, err := cleanName(p)
	if err != nil {
		return entry{}, err
	}
	for range maxLinkDepth {
		e, ok := entries[name]
		if !ok {
			return entry{}, invalidf("manifest.json names %s, which the archive lacks", p)
		}
		if e.link == "" {
			return e, nil
		}
		if name, err = cleanName(e.link); err != nil {
			return entry{}, err
		}
	}
	return entry{}, invalidf("%s: more than %d links", p, maxLinkDepth)
}

// cleanName returns an archive path in clean relative form, refusing paths
// that leave the archive.
func cleanName(p string) (string, error) {
	c := path.Clean(strings.TrimPrefix(p, "./"))
	if p == "" || path.IsAbs(c) || c == ".." || strings.HasPrefix(c, "../") || len(c) > 4096 {
		return "", invalidf("bad path %q", p)
	}
	return c, nil
}

func readLimit(r io.Reader, size, limit int64, name string) ([]byte, error) {
	if size > limit {
		return nil, invalidf("%s is %d bytes, more than %d", name, size, limit)
	}
	b, err := io.ReadAll(io.LimitReader(r, size))
	if err != nil {
		return nil, invalidf("reading %s: %v", name, err)
	}
	return b, nil
}

// marshalManifest builds the manifest's bytes. The struct below, not a
// library type, fixes the field order: the bytes, and so the digest, must
// not change when a dependency does.
func marshalManifest(config ocispec.Descriptor, layers []ocispec.Descriptor) []byte {
	type desc struct {
		MediaType string        `json:"mediaType"`
		Digest    digest.Digest `json:"digest"`
		Size      int64         `json:"size"`
	}
	m := struct {
		SchemaVersion int    `json:"schemaVersion"`
		MediaType     string `json:"mediaType"`
		Config        desc   `json:"config"`
		Layers        []desc `json:"layers"`
	}{SchemaVersion: 2, MediaType: MediaTypeManifest, Config: desc{config.MediaType, config.Digest, config.Size}, Layers: []desc{}}
	for _, l := range layers {
		m.Layers = append(m.Layers, desc{l.MediaType, l.Digest, l.Size})
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // strings and numbers only
	}
	return b
}

// blobWriter writes blobs into an OCI layout's blobs/sha256 folder and
// remembers which it added.
type blobWriter struct {
	dir   string // blobs/sha256
	added map[digest.Digest]bool
	have  map[digest.Digest]bool // written or already there
}

func newBlobWriter(layout string) (*blobWriter, error) {
	dir := filepath.Join(layout, "blobs", "sha256")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the OCI layout %s: %w", layout, err)
	}
	return &blobWriter{dir: dir, added: map[digest.Digest]bool{}, have: map[digest.Digest]bool{}}, nil
}

func (w *blobWriter) path(d digest.Digest) string { return filepath.Join(w.dir, d.Encoded()) }

func (w *blobWriter) has(d digest.Digest) bool { return w.have[d] }

// write digests the size bytes of r and keeps them as a blob: every file
// when layers is set, else only those that may be the config (uncompressed,
// at most MaxConfig). A gzip-compressed file (as engines with the
// containerd image store export layers) is decompressed first: a layer's
// digest is its diff ID whatever the engine stores. It returns the digest
// and the size of what it digested.
func (w *blobWriter) write(r io.Reader, size int64, layers bool) (digest.Digest, int64, error) {
	br := bufio.NewReader(io.LimitReader(r, size))
	src := io.Reader(br)
	store := layers || size <= MaxConfig
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return "", 0, invalidf("a gzip file: %v", err)
		}
		src, store = zr, layers
	}
	h := sha256.New()
	var f *os.File
	out := io.Writer(h)
	if store {
		var err error
		if f, err = os.CreateTemp(w.dir, ".partial-*"); err != nil {
			return "", 0, err
		}
		defer os.Remove(f.Name()) // a no-op once renamed
		defer f.Close()
		out = io.MultiWriter(h, f)
	}
	n, err := io.Copy(out, src)
	if err != nil {
		return "", 0, invalidf("reading a file of %d bytes: %v", size, err)
	}
	if src == br && n != size {
		return "", 0, invalidf("a file of %d bytes ends after %d", size, n)
	}
	d := digest.NewDigestFromEncoded(digest.SHA256, hex.EncodeToString(h.Sum(nil)))
	if !store || w.have[d] {
		return d, n, nil
	}
	if _, err := os.Stat(w.path(d)); err == nil {
		w.have[d] = true
		return d, n, nil
	}
	if err := f.Close(); err != nil {
		return "", 0, err
	}
	if err := os.Rename(f.Name(), w.path(d)); err != nil {
		return "", 0, err
	}
	w.added[d], w.have[d] = true, true
	return d, n, nil
}

// read returns a blob written or found, within limit.
func (w *blobWriter) read(d digest.Digest, limit int64) ([]byte, error) {
	f, err := os.Open(w.path(d))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit || digest.FromBytes(b) != d {
		return nil, fmt.Errorf("blob %s in %s changed on disk", d, w.dir)
	}
	return b, nil
}

// removeExcept removes the blobs this writer added that keep lacks.
func (w *blobWriter) removeExcept(keep map[digest.Digest]bool) {
	for d := range w.added {
		if !keep[d] {
			os.Remove(w.path(d))
			delete(w.added, d)
			delete(w.have, d)
		}
	}
}

func (w *blobWriter) removeAll() { w.removeExcept(nil) }

// writeIndex stores the manifest in the layout and tags it.
func writeIndex(dir string, img *Image, tag string) error {
	ctx := context.Background()
	s, err := oci.New(dir)
	if err != nil {
		return fmt.Errorf("opening the OCI layout %s: %w", dir, err)
	}
	ok, err := s.Exists(ctx, img.Descriptor)
	if err != nil {
		return err
	}
	if !ok {
		if err := s.Push(ctx, img.Descriptor, bytes.NewReader(img.Manifest)); err != nil {
			return fmt.Errorf("writing the manifest into %s: %w", dir, err)
		}
	}
	if tag == "" {
		return nil
	}
	if err := s.Tag(ctx, img.Descriptor, tag); err != nil {
		return fmt.Errorf("tagging %s in %s: %w", tag, dir, err)
	}
	return nil
}

// RemoveBlobs removes the blobs ds from the OCI layout at dir, as after a
// push the layers Convert added (Image.AddedLayers) are no longer needed.
// The manifest stays, so the layout then lacks the layers it names.
func RemoveBlobs(dir string, ds []digest.Digest) error {
	var errs []error
	for _, d := range ds {
		if err := d.Validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		err := os.Remove(filepath.Join(dir, "blobs", d.Algorithm().String(), d.Encoded()))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
