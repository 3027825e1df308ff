package signature_test

import (
	"encoding/json"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/spec"
)

// A fuzz target for the parser of signature manifests, which come from
// registries and layouts and are untrusted; scripts/fuzz.sh runs it.

// fuzzSignatureManifest is a valid signature manifest, the seed the fuzzer
// mutates, changed by edits.
func fuzzSignatureManifest(edits ...func(*ocispec.Manifest)) []byte {
	env := []byte(`{"payload":"","protected":"","header":{},"signature":"fuzz"}`)
	subject := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("subject"), Size: 100}
	m := ocispec.Manifest{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: spec.ArtifactTypeSignature,
		Config:       ocispec.Descriptor{MediaType: spec.ArtifactTypeSignature, Digest: spec.EmptyJSONDigest, Size: 2},
		Layers:       []ocispec.Descriptor{{MediaType: spec.MediaTypeEnvelope, Digest: digest.FromBytes(env), Size: int64(len(env))}},
		Subject:      &subject,
		Annotations:  map[string]string{spec.AnnotationThumbprints: `["aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899"]`},
	}
	for _, edit := range edits {
		edit(&m)
	}
	b, _ := json.Marshal(m)
	return b
}

func FuzzParseSignatureManifest(f *testing.F) {
	f.Add(fuzzSignatureManifest())
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.cncf.notary.signature","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`))
	f.Add([]byte(`{"layers":[{"size":-1}],"subject":null}`))
	f.Add(fuzzSignatureManifest(func(m *ocispec.Manifest) { m.Layers[0].Size = spec.MaxEnvelopeSize + 1 }))
	f.Add(fuzzSignatureManifest(func(m *ocispec.Manifest) { m.Layers[0].MediaType = "application/octet-stream" }))
	f.Add(fuzzSignatureManifest(func(m *ocispec.Manifest) { m.Subject = nil }))
	f.Add(fuzzSignatureManifest(func(m *ocispec.Manifest) {
		m.ArtifactType, m.Config.MediaType = "application/spdx+json", "application/spdx+json"
	}))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := signature.ParseManifest(raw)
		if err != nil {
			if m != nil {
				t.Fatal("a refused manifest was returned")
			}
			return
		}
		// What is accepted is exactly what trust.FetchSignature relies on.
		switch {
		case !signature.IsSignatureForm(m.ArtifactType, m.Config.MediaType):
			t.Fatalf("accepted a manifest that is not a signature: %q %q", m.ArtifactType, m.Config.MediaType)
		case len(m.Layers) != 1 || m.Layers[0].MediaType != spec.MediaTypeEnvelope:
			t.Fatalf("accepted layers %+v", m.Layers)
		case m.Layers[0].Size <= 0 || m.Layers[0].Size > spec.MaxEnvelopeSize:
			t.Fatalf("accepted envelope size %d", m.Layers[0].Size)
		case m.Layers[0].Digest.Validate() != nil:
			t.Fatalf("accepted envelope digest %q", m.Layers[0].Digest)
		case m.Subject == nil || m.Subject.Digest.Validate() != nil:
			t.Fatalf("accepted subject %+v", m.Subject)
		}
	})
}
