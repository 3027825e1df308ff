package distribution

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/nv2-signing/nv2/pkg/spec"
)

// Fuzz targets for every parser of what a registry sends here: the
// referrers API page and its Link header, and the referrers tag schema
// index. scripts/fuzz.sh runs each for $FUZZTIME; a crasher lands in
// testdata/fuzz/<target>/ and is then replayed by every plain `go test`.

// fuzzIndex is an image index listing n signature descriptors.
func fuzzIndex(n int) []byte {
	idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex}
	for i := range n {
		raw := []byte(fmt.Sprintf(`{"schemaVersion":2,"n":%d}`, i))
		d := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(append(raw, byte(i))), Size: int64(len(raw)), ArtifactType: spec.ArtifactTypeSignature}
		idx.Manifests = append(idx.Manifests, d)
	}
	b, _ := json.Marshal(idx)
	return b
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
