package registry

import (
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/nv2-signing/nv2/pkg/spec"
)

// FuzzParseIndex: an image index from a registry is untrusted input; every
// descriptor ParseIndex accepts has a valid digest and a manifest type
// within the manifest size limit, and it never panics.
func FuzzParseIndex(f *testing.F) {
	m := digest.FromString("m")
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + m.String() + `","size":10,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}}]}`))
	f.Add([]byte(`{"manifests":[{"digest":"sha256:x","size":-1}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		idx, err := ParseIndex(raw, ocispec.Descriptor{Digest: digest.FromBytes(raw)})
		if err != nil {
			return
		}
		for _, d := range idx.Manifests {
			if d.Digest.Validate() != nil || d.Size <= 0 || !spec.IsManifestType(d.MediaType) {
				t.Fatalf("ParseIndex accepted %+v", d)
			}
		}
	})
}
