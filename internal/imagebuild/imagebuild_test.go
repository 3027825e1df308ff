package imagebuild

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// inputs writes a fake binary per platform and a certificate bundle into a
// new folder, with mtime as their file times, and returns the options.
func inputs(t *testing.T, mtime time.Time) Options {
	t.Helper()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return Options{
		Platforms: []Platform{
			{OS: "linux", Architecture: "amd64", Binary: write("amd64", "amd64 binary")},
			{OS: "linux", Architecture: "arm64", Binary: write("arm64", "arm64 binary")},
		},
		Binary:     "/usr/local/bin/nv2",
		Files:      map[string]string{"/etc/ssl/certs/ca-certificates.crt": write("certs", "certificates")},
		Dirs:       []string{"/tmp"},
		Entrypoint: []string{"/usr/local/bin/nv2"},
		Env:        []string{"PATH=/usr/local/bin"},
		Created:    time.Unix(1700000000, 0),
	}
}

// tree maps every file of a folder to the SHA-256 of its content.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		sum := sha256.Sum256(b)
		rel, _ := filepath.Rel(root, p)
		out[rel] = hex.EncodeToString(sum[:])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSameInputsSameLayout: two builds from the same files, made at
// different times in different folders, give the same index digest and the
// same layout, file for file.
func TestSameInputsSameLayout(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	da, err := inputs(t, time.Unix(1, 0)).WriteLayout(a, "v1")
	if err != nil {
		t.Fatal(err)
	}
	db, err := inputs(t, time.Now()).WriteLayout(b, "v1")
	if err != nil {
		t.Fatal(err)
	}
	if da.Digest != db.Digest {
		t.Fatalf("two builds of the same inputs: %s and %s", da.Digest, db.Digest)
	}
	ta, tb := tree(t, a), tree(t, b)
	if len(ta) != len(tb) {
		t.Fatalf("the layouts hold %d and %d files", len(ta), len(tb))
	}
	for f, sum := range ta {
		if tb[f] != sum {
			t.Errorf("%s differs between two builds", f)
		}
	}
	changed := inputs(t, time.Unix(1, 0))
	changed.Created = changed.Created.Add(time.Second)
	if dc, err := changed.WriteLayout(t.TempDir(), "v1"); err != nil || dc.Digest == da.Digest {
		t.Fatalf("another build time should give another digest: %s (%v)", dc.Digest, err)
	}
}

// TestLayerIsFixed: the layer lists parents before children, every entry
// owned by root with the build time, the binary executable.
func TestLayerIsFixed(t *testing.T) {
	o := inputs(t, time.Now())
	b, err := o.Layer(o.Platforms[0].Binary)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(o.Created) {
			t.Errorf("%s: uid %d gid %d mtime %v, want root and %v", h.Name, h.Uid, h.Gid, h.ModTime, o.Created)
		}
		if h.Name == "usr/local/bin/nv2" && h.Mode != 0o755 {
			t.Errorf("the binary has mode %o", h.Mode)
		}
		got = append(got, h.Name)
	}
	want := []string{"etc/", "etc/ssl/", "etc/ssl/certs/", "etc/ssl/certs/ca-certificates.crt", "tmp/", "usr/", "usr/local/", "usr/local/bin/", "usr/local/bin/nv2"}
	if len(got) != len(want) {
		t.Fatalf("layer entries %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("layer entries %q, want %q", got, want)
		}
	}
}
