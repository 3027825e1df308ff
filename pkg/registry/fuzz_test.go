package registry

import (
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/spec"
)

// Fuzz targets for the parsers of this package: the manifests whose type
// decides what a referrer is, and manifest files given to sign offline.
// scripts/fuzz.sh runs each for $FUZZTIME in `make test`; a crasher lands in
// testdata/fuzz/<target>/ and is then replayed by every plain `go test`.
// The parsers of referrers listings are fuzzed in internal/distribution,
// that of signature manifests in pkg/signature.

// fuzzSignatureManifest is a valid signature manifest, a seed.
func fuzzSignatureManifest() []byte {
	subject := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("subject"), Size: 100}
	a, err := signature.NewArtifact(subject, testEnvelope("fuzz"), signature.ArtifactOptions{Thumbprints: []string{thumbprint}})
	if err != nil {
		panic(err)
	}
	return a.Raw
}

func FuzzArtifactTypeOf(f *testing.F) {
	f.Add(fuzzSignatureManifest())
	f.Add([]byte(`{"config":{"mediaType":"application/vnd.cncf.notary.signature"}}`))
	f.Add([]byte(`{"artifactType":"x","subject":{"digest":"sha256:0"}}`))
	f.Add([]byte(`{"config":null}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		at, _, err := artifactTypeOf(raw)
		if err != nil && at != "" {
			t.Fatalf("an error with a type %q", at)
		}
	})
}

func FuzzManifestDescriptor(f *testing.F) {
	f.Add(fuzzSignatureManifest(), "")
	f.Add([]byte(`{"schemaVersion":2}`), ocispec.MediaTypeImageManifest)
	f.Add([]byte(`{"mediaType":"application/vnd.oci.image.index.v1+json"}`), ocispec.MediaTypeImageManifest)
	f.Fuzz(func(t *testing.T, raw []byte, mediaType string) {
		d, err := ManifestDescriptor(raw, mediaType)
		if err != nil {
			return
		}
		if d.Digest != digest.FromBytes(raw) || d.Size != int64(len(raw)) || !spec.IsManifestType(d.MediaType) {
			t.Fatalf("descriptor %+v does not describe the %d bytes given", d, len(raw))
		}
	})
}
