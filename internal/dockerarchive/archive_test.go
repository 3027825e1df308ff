package dockerarchive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// file is one entry of a test archive: a regular file, or a symlink when
// link is set.
type file struct {
	name, body, link string
}

// archive writes files as a tar stream.
func archive(t testing.TB, files ...file) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg}
		if f.link != "" {
			h = &tar.Header{Name: f.name, Linkname: f.link, Typeflag: tar.TypeSymlink}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// image is a two-layer image as docker save writes it in the legacy form
// (configFirst false) or the OCI form of newer engines.
func image(t testing.TB, oci bool) ([]byte, []string) {
	layers := []string{"layer one tar", "layer two tar"}
	var diffIDs []digest.Digest
	for _, l := range layers {
		diffIDs = append(diffIDs, digest.FromString(l))
	}
	cfg, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs}})
	cfgDigest := digest.FromBytes(cfg)
	if oci {
		m, _ := json.Marshal([]map[string]any{{"Config": "blobs/sha256/" + cfgDigest.Encoded(), "RepoTags": []string{"app:v1"},
			"Layers": []string{"blobs/sha256/" + diffIDs[0].Encoded(), "blobs/sha256/" + diffIDs[1].Encoded()}}})
		return archive(t,
			file{name: "blobs/sha256/" + diffIDs[0].Encoded(), body: layers[0]},
			file{name: "blobs/sha256/" + diffIDs[1].Encoded(), body: layers[1]},
			file{name: "blobs/sha256/" + cfgDigest.Encoded(), body: string(cfg)},
			file{name: "index.json", body: `{"schemaVersion":2}`},
			file{name: "manifest.json", body: string(m)},
			file{name: "oci-layout", body: `{"imageLayoutVersion":"1.0.0"}`},
		), layers
	}
	m, _ := json.Marshal([]map[string]any{{"Config": cfgDigest.Encoded() + ".json", "RepoTags": []string{"app:v1"},
		"Layers": []string{"aaa/layer.tar", "bbb/layer.tar"}}})
	return archive(t,
		file{name: "aaa/VERSION", body: "1.0"},
		file{name: "aaa/json", body: "{}"},
		file{name: "aaa/layer.tar", body: layers[0]},
		file{name: "bbb/layer.tar", body: layers[1]},
		file{name: cfgDigest.Encoded() + ".json", body: string(cfg)},
		file{name: "manifest.json", body: string(m)},
		file{name: "repositories", body: "{}"},
	), layers
}

func blobs(t *testing.T, dir string) []string {
	t.Helper()
	entries, _ := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// The same image converts to the same manifest, whichever archive form the
// engine wrote: the digest depends on the image ID alone.
func TestConvertIsDeterministic(t *testing.T) {
	legacy, layers := image(t, false)
	oci, _ := image(t, true)
	a, err := Convert(bytes.NewReader(legacy), t.TempDir(), Options{Layers: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Convert(bytes.NewReader(oci), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Descriptor.Digest != b.Descriptor.Digest || !bytes.Equal(a.Manifest, b.Manifest) {
		t.Fatalf("two conversions of one image differ:\n%s\n%s", a.Manifest, b.Manifest)
	}
	want := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` +
		a.Config.Digest.String() + `","size":` + jsonInt(a.Config.Size) + `},"layers":[` +
		`{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"` + digest.FromString(layers[0]).String() + `","size":13},` +
		`{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"` + digest.FromString(layers[1]).String() + `","size":13}]}`
	if string(a.Manifest) != want {
		t.Fatalf("manifest\n%s\nwant\n%s", a.Manifest, want)
	}
	if len(a.RepoTags) != 1 || a.RepoTags[0] != "app:v1" {
		t.Errorf("repo tags %v", a.RepoTags)
	}
}

// Layers the engine exports gzipped (the containerd image store) convert
// to the same image: stored decompressed, their digest is the diff ID.
func TestConvertDecompressesLayers(t *testing.T) {
	legacy, _ := image(t, false)
	want, err := Convert(bytes.NewReader(legacy), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, layers := range []bool{false, true} {
		got, err := Convert(bytes.NewReader(gzipImage(t)), t.TempDir(), Options{Layers: layers})
		if err != nil {
			t.Fatal(err)
		}
		if got.Descriptor.Digest != want.Descriptor.Digest {
			t.Fatalf("gzipped layers (layers %v): manifest\n%s\nwant\n%s", layers, got.Manifest, want.Manifest)
		}
	}
}

// gzipImage is image's OCI form with its layers gzipped.
func gzipImage(t testing.TB) []byte {
	layers := []string{"layer one tar", "layer two tar"}
	var diffIDs []digest.Digest
	var files []file
	var paths []string
	for _, l := range layers {
		diffIDs = append(diffIDs, digest.FromString(l))
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(l))
		zw.Close()
		p := "blobs/sha256/" + digest.FromBytes(b.Bytes()).Encoded()
		paths = append(paths, p)
		files = append(files, file{name: p, body: b.String()})
	}
	cfg, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs}})
	c := "blobs/sha256/" + digest.FromBytes(cfg).Encoded()
	m, _ := json.Marshal([]map[string]any{{"Config": c, "Layers": paths}})
	files = append(files, file{name: c, body: string(cfg)}, file{name: "manifest.json", body: string(m)})
	return archive(t, files...)
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

// Without Layers only the config and the manifest are stored; with Layers
// the layers too, and RemoveBlobs takes back exactly those added.
func TestConvertStoresWhatIsAsked(t *testing.T) {
	legacy, _ := image(t, false)
	dir := t.TempDir()
	img, err := Convert(bytes.NewReader(legacy), dir, Options{Tag: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := blobs(t, dir); len(got) != 2 || len(img.AddedLayers) != 0 {
		t.Fatalf("without layers: blobs %v, added layers %v", got, img.AddedLayers)
	}
	img, err = Convert(bytes.NewReader(legacy), dir, Options{Layers: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := blobs(t, dir); len(got) != 4 || len(img.AddedLayers) != 2 {
		t.Fatalf("with layers: blobs %v, added layers %v", got, img.AddedLayers)
	}
	if err := RemoveBlobs(dir, img.AddedLayers); err != nil {
		t.Fatal(err)
	}
	if got := blobs(t, dir); len(got) != 2 {
		t.Fatalf("after RemoveBlobs: %v", got)
	}
	index, _ := os.ReadFile(filepath.Join(dir, "index.json"))
	if !strings.Contains(string(index), img.Descriptor.Digest.String()) || !strings.Contains(string(index), `"v1"`) {
		t.Fatalf("index.json lacks the tagged manifest:\n%s", index)
	}
}

// Archives that lie are refused, and leave nothing behind.
func TestConvertRefuses(t *testing.T) {
	good, _ := image(t, false)
	cfg := func(diffIDs ...digest.Digest) string {
		b, _ := json.Marshal(map[string]any{"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs}})
		return string(b)
	}
	manifest := func(config string, layers ...string) file {
		b, _ := json.Marshal([]map[string]any{{"Config": config, "Layers": layers}})
		return file{name: "manifest.json", body: string(b)}
	}
	c := cfg(digest.FromString("other"))
	for name, data := range map[string][]byte{
		"not a tar":           []byte("hello"),
		"no manifest.json":    archive(t, file{name: "a", body: "b"}),
		"two images":          archive(t, file{name: "manifest.json", body: `[{},{}]`}),
		"missing config":      archive(t, manifest("c.json")),
		"missing layer":       archive(t, file{name: "c.json", body: cfg(digest.FromString("x"))}, manifest("c.json", "l.tar")),
		"wrong diff ID":       archive(t, file{name: "c.json", body: c}, file{name: "l.tar", body: "x"}, manifest("c.json", "l.tar")),
		"escaping path":       archive(t, file{name: "../c.json", body: c}),
		"link loop":           archive(t, file{name: "c.json", link: "d.json"}, file{name: "d.json", link: "c.json"}, manifest("c.json")),
		"manifest.json large": archive(t, file{name: "manifest.json", body: strings.Repeat(" ", MaxManifestJSON+1)}),
		"truncated in a file": good[:3*512+512+5],
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := Convert(bytes.NewReader(data), dir, Options{Layers: true}); !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if got := blobs(t, dir); len(got) != 0 {
				t.Fatalf("a refused archive left blobs: %v", got)
			}
		})
	}
}

// A layer stored once and linked from a second path, as docker save does
// for repeated layers, converts.
func TestConvertFollowsLinks(t *testing.T) {
	l := digest.FromString("same layer")
	b, _ := json.Marshal(map[string]any{"rootfs": map[string]any{"type": "layers", "diff_ids": []digest.Digest{l, l}}})
	m, _ := json.Marshal([]map[string]any{{"Config": "c.json", "Layers": []string{"a/layer.tar", "b/layer.tar"}}})
	data := archive(t, file{name: "a/layer.tar", body: "same layer"}, file{name: "b/layer.tar", link: "../a/layer.tar"},
		file{name: "c.json", body: string(b)}, file{name: "manifest.json", body: string(m)})
	img, err := Convert(bytes.NewReader(data), t.TempDir(), Options{Layers: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(img.Layers) != 2 || img.Layers[1].Digest != l {
		t.Fatalf("layers %v", img.Layers)
	}
}

func FuzzConvert(f *testing.F) {
	legacy, _ := image(f, false)
	oci, _ := image(f, true)
	f.Add(legacy)
	f.Add(oci)
	f.Add(gzipImage(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		img, err := Convert(bytes.NewReader(data), dir, Options{Layers: true})
		if err != nil {
			if got := blobs(t, dir); len(got) != 0 {
				t.Fatalf("a refused archive left blobs: %v", got)
			}
			return
		}
		if digest.FromBytes(img.Manifest) != img.Descriptor.Digest || len(img.Layers) > MaxLayers {
			t.Fatalf("inconsistent image: %+v", img)
		}
	})
}
