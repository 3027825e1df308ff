package registry

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/oci"

	"github.com/nv2-signing/nv2/pkg/spec"
)

func TestManifestDescriptor(t *testing.T) {
	typed := []byte(`{"schemaVersion":2,"mediaType":"` + ocispec.MediaTypeImageManifest + `","config":{}}`)
	bare := []byte(`{"schemaVersion":2,"config":{}}`)
	docker := []byte(`{"schemaVersion":2,"mediaType":"` + spec.MediaTypeDockerManifest + `"}`)
	cases := []struct {
		name      string
		raw       []byte
		mediaType string
		want      string // media type; "" for an error
		usage     bool   // the error is about the media type given (ErrMediaType)
	}{
		{"from the manifest", typed, "", ocispec.MediaTypeImageManifest, false},
		{"given and the same", typed, ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageManifest, false},
		{"docker", docker, "", spec.MediaTypeDockerManifest, false},
		{"given for a bare manifest", bare, ocispec.MediaTypeImageIndex, ocispec.MediaTypeImageIndex, false},
		{"neither", bare, "", "", true},
		{"contradicted", typed, ocispec.MediaTypeImageIndex, "", true},
		{"given, not a manifest type", bare, "text/plain", "", true},
		{"the manifest's, not a manifest type", []byte(`{"mediaType":"text/plain"}`), "", "", false},
		{"not JSON", []byte("FROM scratch"), ocispec.MediaTypeImageManifest, "", false},
		{"a JSON array", []byte(`[]`), ocispec.MediaTypeImageManifest, "", false},
		{"too large", make([]byte, spec.MaxManifestSize+1), ocispec.MediaTypeImageManifest, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ManifestDescriptor(tc.raw, tc.mediaType)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("got %+v, want an error", d)
				}
				if errors.Is(err, ErrMediaType) != tc.usage {
					t.Fatalf("errors.Is(%v, ErrMediaType) = %v, want %v", err, !tc.usage, tc.usage)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := content.NewDescriptorFromBytes(tc.want, tc.raw); d.MediaType != want.MediaType || d.Digest != want.Digest || d.Size != want.Size {
				t.Fatalf("got %+v, want %+v", d, want)
			}
		})
	}
}

func TestCheckLayoutDir(t *testing.T) {
	root := t.TempDir()
	layout := filepath.Join(root, "layout")
	if _, err := oci.New(layout); err != nil { // writes oci-layout and index.json
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(root, "other")
	if err := os.MkdirAll(filepath.Join(other, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(root, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	for dir, ok := range map[string]bool{
		filepath.Join(root, "missing"): true, empty: true, layout: true,
		filepath.Join(root, "file"): false, other: false, "": false,
	} {
		if err := CheckLayoutDir(dir); (err == nil) != ok {
			t.Errorf("CheckLayoutDir(%q) = %v, want ok=%v", dir, err, ok)
		}
	}
	// It writes nothing, not even into an empty folder.
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Fatalf("CheckLayoutDir wrote into %s", empty)
	}
}
