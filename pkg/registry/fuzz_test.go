package registry

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/nv2-signing/nv2/pkg/spec"
)

// Fuzz targets for every parser of what a registry sends: the referrers API
// page and its Link header, the referrers tag schema index, signature
// manifests, and the manifests whose type decides what a referrer is.
// scripts/fuzz.sh runs each for $FUZZTIME in `make test`; a crasher lands in
// testdata/fuzz/<target>/ and is then replayed by every plain `go test`.

// fuzzSignatureManifest is a valid signature manifest, the seed the fuzzer
// mutates, changed by edits.
func fuzzSignatureManifest(edits ...func(*ocispec.Manifest)) []byte {
	env := testEnvelope("fuzz")
	subject := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("subject"), Size: 100}
	m := ocispec.Manifest{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: spec.ArtifactTypeSignature,
		Config:       ocispec.Descriptor{MediaType: spec.ArtifactTypeSignature, Digest: spec.EmptyJSONDigest, Size: 2},
		Layers:       []ocispec.Descriptor{{MediaType: spec.MediaTypeEnvelope, Digest: digest.FromBytes(env), Size: int64(len(env))}},
		Subject:      &subject,
		Annotations:  map[string]string{spec.AnnotationThumbprints: `["` + thumbprint + `"]`},
	}
	for _, edit := range edits {
		edit(&m)
	}
	b, _ := json.Marshal(m)
	return b
}

// fuzzIndex is an image index listing n signature descriptors.
func fuzzIndex(n int) []byte {
	idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex}
	for i := range n {
		raw := fuzzSignatureManifest()
		d := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(append(raw, byte(i))), Size: int64(len(raw)), ArtifactType: spec.ArtifactTypeSignature}
		idx.Manifests = append(idx.Manifests, d)
	}
	b, _ := json.Marshal(idx)
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
		m, err := parseSignatureManifest(raw)
		if err != nil {
			if m != nil {
				t.Fatal("a refused manifest was returned")
			}
			return
		}
		// What is accepted is exactly what FetchSignature relies on.
		switch {
		case !isSignatureForm(m.ArtifactType, m.Config.MediaType):
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

func FuzzParseReferrersPage(f *testing.F) {
	f.Add(fuzzIndex(0))
	f.Add(fuzzIndex(3))
	f.Add([]byte(`{"manifests":[{}]}`))
	f.Add([]byte(`{"manifests":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		idx, err := parseReferrersPage(body)
		if err != nil {
			return
		}
		if len(idx.Manifests) > spec.MaxReferrers {
			t.Fatalf("accepted a page of %d referrers", len(idx.Manifests))
		}
	})
}

func FuzzParseReferrersIndex(f *testing.F) {
	f.Add(fuzzIndex(0))
	f.Add(fuzzIndex(2))
	f.Add([]byte(`{"schemaVersion":2,"manifests":[{"digest":"sha256:x"}]}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		entries, err := parseReferrersIndex(raw)
		if err != nil {
			return
		}
		if len(entries) > spec.MaxReferrers {
			t.Fatalf("accepted an index of %d referrers", len(entries))
		}
	})
}

func FuzzNextLink(f *testing.F) {
	f.Add("http://127.0.0.1:5000/v2/app/referrers/sha256:abc?artifactType=x", `</v2/app/referrers/sha256:abc?page=2>; rel="next"`)
	f.Add("https://registry.example/v2/a/referrers/sha256:abc", `<https://evil.example/v2/a/referrers/sha256:abc?n=1>; rel="next"`)
	f.Add("https://registry.example/v2/a/referrers/sha256:abc", `<//evil.example/x>; rel=next, <p2>; rel="prev next"`)
	f.Add("https://registry.example/v2/a/referrers/sha256:abc", `<http://registry.example/x>; rel="next"`)
	f.Add("https://registry.example/v2/a/referrers/sha256:abc", `<%zz>; rel="next"`)
	f.Fuzz(func(t *testing.T, base, link string) {
		b, err := url.Parse(base)
		if err != nil || b.Scheme == "" || b.Host == "" {
			return
		}
		next, err := nextLink(b, strings.Split(link, "\n"))
		if err != nil || next == "" {
			return
		}
		u, err := url.Parse(next)
		if err != nil {
			t.Fatalf("returned a link that does not parse: %q: %v", next, err)
		}
		if u.Scheme != b.Scheme || u.Host != b.Host {
			t.Fatalf("followed a link from %s to another origin: %s", base, next)
		}
	})
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
		if d.Digest != digest.FromBytes(raw) || d.Size != int64(len(raw)) || !isManifestType(d.MediaType) {
			t.Fatalf("descriptor %+v does not describe the %d bytes given", d, len(raw))
		}
	})
}
