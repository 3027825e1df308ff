package registry

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/nv2-signing/nv2/internal/testregistry"
	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/spec"
	"github.com/nv2-signing/nv2/pkg/trust"
)

// treeDigests flattens a referrers tree into "parent>child" edges.
func treeDigests(n *Node) map[string]bool {
	edges := map[string]bool{}
	var walk func(*Node)
	walk = func(n *Node) {
		for _, c := range n.Referrers {
			edges[n.Digest.String()+">"+c.Digest.String()] = true
			walk(c)
		}
	}
	walk(n)
	return edges
}

// TestLayoutSignAndCopy signs offline into a layout, then copies the image
// with its signatures layout -> registry -> layout on both registry kinds,
// checking that every referrer arrives with the same digest.
func TestLayoutSignAndCopy(t *testing.T) {
	ctx := testCtx(t)
	dir := filepath.Join(t.TempDir(), "layout")
	subject, err := testregistry.NewImage("offline").WriteLayout(dir, "v1")
	if err != nil {
		t.Fatal(err)
	}
	lt, err := OpenLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := lt.Resolve(ctx, "v1"); err != nil || d.Digest != subject.Digest {
		t.Fatalf("resolve in layout: %v", err)
	}
	sigA, err := pushSignature(ctx, lt, subject, testEnvelope("a"), signature.ArtifactOptions{Thumbprints: []string{thumbprint}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pushSignature(ctx, lt, subject, testEnvelope("b"), signature.ArtifactOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pushSignature(ctx, lt, sigA, testEnvelope("countersign"), signature.ArtifactOptions{}); err != nil {
		t.Fatal(err)
	}
	// A new Layout (a new process) sees what was written.
	reopened, err := OpenLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	refs, err := reopened.Referrers(ctx, subject, spec.ArtifactTypeSignature)
	if err != nil || len(refs) != 2 {
		t.Fatalf("layout referrers: %d, %v", len(refs), err)
	}
	for _, r := range refs {
		if _, err := trust.FetchSignature(ctx, reopened, r); err != nil {
			t.Fatal(err)
		}
	}
	want, err := reopened.ReferrersTree(ctx, subject, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	wantEdges := treeDigests(want)
	if len(wantEdges) != 3 {
		t.Fatalf("layout tree has %d edges, want 3: %v", len(wantEdges), wantEdges)
	}

	for _, kind := range testregistry.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			reg := testregistry.Start(t, kind)
			rt := remoteTarget(t, reg, "net-monitor")
			got, err := Copy(ctx, reopened, "v1", rt, "")
			if err != nil {
				t.Fatal(err)
			}
			if got.Digest != subject.Digest {
				t.Fatalf("copied %s, want %s", got.Digest, subject.Digest)
			}
			fresh := remoteTarget(t, reg, "net-monitor")
			if d, err := fresh.Resolve(ctx, "v1"); err != nil || d.Digest != subject.Digest {
				t.Fatalf("tag v1 in the registry: %v", err)
			}
			tree, err := fresh.ReferrersTree(ctx, subject, "", 0)
			if err != nil {
				t.Fatal(err)
			}
			if edges := treeDigests(tree); !mapsEqual(edges, wantEdges) {
				t.Fatalf("registry tree %v, want %v", edges, wantEdges)
			}

			back := filepath.Join(t.TempDir(), "back")
			bt, err := OpenLayout(back)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Copy(ctx, fresh, subject.Digest.String(), bt, "v2"); err != nil {
				t.Fatal(err)
			}
			bt2, _ := OpenLayout(back)
			if d, err := bt2.Resolve(ctx, "v2"); err != nil || d.Digest != subject.Digest {
				t.Fatalf("tag v2 in the copied layout: %v", err)
			}
			tree, err = bt2.ReferrersTree(ctx, subject, "", 0)
			if err != nil {
				t.Fatal(err)
			}
			if edges := treeDigests(tree); !mapsEqual(edges, wantEdges) {
				t.Fatalf("copied layout tree %v, want %v", edges, wantEdges)
			}
			sigs, err := bt2.Referrers(ctx, subject, spec.ArtifactTypeSignature)
			if err != nil || len(sigs) != 2 {
				t.Fatalf("copied layout signatures: %d, %v", len(sigs), err)
			}
			for _, s := range sigs {
				if _, err := trust.FetchSignature(ctx, bt2, s); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func mapsEqual(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func TestOpenLayout(t *testing.T) {
	ctx := testCtx(t)
	missing := filepath.Join(t.TempDir(), "not-yet")
	lt, err := OpenLayout(missing)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lt.Resolve(ctx, "v1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("resolve in a missing layout: %v", err)
	}
	subject := testregistry.NewImage("a").Descriptor
	if refs, err := lt.Referrers(ctx, subject, ""); err != nil || len(refs) != 0 {
		t.Fatalf("referrers in a missing layout: %v %v", refs, err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("reading a missing layout created it")
	}
	if _, err := pushSignature(ctx, lt, subject, testEnvelope("x"), signature.ArtifactOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(missing, ocispec.ImageLayoutFile)); err != nil {
		t.Fatalf("pushing did not create the layout: %v", err)
	}

	empty := t.TempDir()
	et, err := OpenLayout(empty)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := et.Resolve(ctx, "v1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("resolve in an empty folder: %v", err)
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Fatal("reading an empty folder wrote into it")
	}

	notLayout := t.TempDir()
	if err := os.WriteFile(filepath.Join(notLayout, "notes.txt"), []byte("hi"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenLayout(notLayout); err == nil || !strings.Contains(err.Error(), "not an OCI image layout") {
		t.Fatalf("OpenLayout(non-layout folder) = %v", err)
	}
	file := filepath.Join(notLayout, "notes.txt")
	if _, err := OpenLayout(file); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("OpenLayout(file) = %v", err)
	}
}

// writeBlob stores b in the layout's blob folder under digest d (which may
// be wrong on purpose) and returns a descriptor of mediaType.
func writeBlob(t *testing.T, dir string, mediaType string, d digest.Digest, b []byte) ocispec.Descriptor {
	t.Helper()
	p := filepath.Join(dir, ocispec.ImageBlobsDir, d.Algorithm().String(), d.Encoded())
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(b))}
}

// TestFetchSignatureRefuses feeds FetchSignature every malformed signature
// it must refuse, each with the reason in the error.
func TestFetchSignatureRefuses(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	subject, err := testregistry.NewImage("a").WriteLayout(dir, "v1")
	if err != nil {
		t.Fatal(err)
	}
	lt, err := OpenLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	env := testEnvelope("refuse")
	envDesc := writeBlob(t, dir, spec.MediaTypeEnvelope, digest.FromBytes(env), env)
	config := ocispec.Descriptor{MediaType: spec.ArtifactTypeSignature, Digest: spec.EmptyJSONDigest, Size: 2}
	good := func() ocispec.Manifest {
		return ocispec.Manifest{
			Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
			ArtifactType: spec.ArtifactTypeSignature, Config: config,
			Layers: []ocispec.Descriptor{envDesc}, Subject: &subject,
		}
	}
	store := func(m ocispec.Manifest) ocispec.Descriptor {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return writeBlob(t, dir, ocispec.MediaTypeImageManifest, digest.FromBytes(b), b)
	}
	tests := []struct {
		name    string
		desc    func() ocispec.Descriptor
		wantErr string
	}{
		{name: "accepted: the good manifest", desc: func() ocispec.Descriptor { return store(good()) }},
		{name: "an index, not a manifest", desc: func() ocispec.Descriptor {
			d := store(good())
			d.MediaType = ocispec.MediaTypeImageIndex
			return d
		}, wantErr: "media type"},
		{name: "manifest over 4 MiB", desc: func() ocispec.Descriptor {
			m := good()
			m.Annotations = map[string]string{"pad": strings.Repeat("x", spec.MaxManifestSize)}
			return store(m)
		}, wantErr: "over the limit"},
		{name: "manifest digest mismatch", desc: func() ocispec.Descriptor {
			b, _ := json.Marshal(good())
			d := digest.FromBytes(b)
			tampered := append([]byte{}, b...)
			tampered[len(tampered)-2] ^= 1 // same size, other content
			return writeBlob(t, dir, ocispec.MediaTypeImageManifest, d, tampered)
		}, wantErr: "digest"},
		{name: "envelope digest mismatch", desc: func() ocispec.Descriptor {
			m := good()
			other := testEnvelope("other")
			bad := append([]byte{}, other...)
			bad[0] = ' '
			m.Layers = []ocispec.Descriptor{writeBlob(t, dir, spec.MediaTypeEnvelope, digest.FromBytes(other), bad)}
			return store(m)
		}, wantErr: "digest"},
		{name: "wrong layer media type", desc: func() ocispec.Descriptor {
			m := good()
			l := envDesc
			l.MediaType = "application/octet-stream"
			m.Layers = []ocispec.Descriptor{l}
			return store(m)
		}, wantErr: "layer media type"},
		{name: "two layers", desc: func() ocispec.Descriptor {
			m := good()
			m.Layers = []ocispec.Descriptor{envDesc, envDesc}
			return store(m)
		}, wantErr: "2 layers"},
		{name: "no layer", desc: func() ocispec.Descriptor {
			m := good()
			m.Layers = nil
			return store(m)
		}, wantErr: "0 layers"},
		{name: "envelope over 32 MiB", desc: func() ocispec.Descriptor {
			m := good()
			l := envDesc
			l.Size = spec.MaxEnvelopeSize + 1
			m.Layers = []ocispec.Descriptor{l}
			return store(m)
		}, wantErr: "envelope size"},
		{name: "no subject", desc: func() ocispec.Descriptor {
			m := good()
			m.Subject = nil
			return store(m)
		}, wantErr: "no subject"},
		{name: "other artifact type", desc: func() ocispec.Descriptor {
			m := good()
			m.ArtifactType = "application/spdx+json"
			return store(m)
		}, wantErr: "not a notary signature"},
		{name: "signature artifactType with an image config", desc: func() ocispec.Descriptor {
			m := good()
			m.Config = ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: spec.EmptyJSONDigest, Size: 2}
			return store(m)
		}, wantErr: "not a notary signature"},
		{name: "schema version 1", desc: func() ocispec.Descriptor {
			m := good()
			m.SchemaVersion = 1
			return store(m)
		}, wantErr: "schemaVersion"},
		{name: "manifest mediaType field says index", desc: func() ocispec.Descriptor {
			m := good()
			m.MediaType = ocispec.MediaTypeImageIndex
			return store(m)
		}, wantErr: "mediaType"},
		{name: "not JSON", desc: func() ocispec.Descriptor {
			b := []byte("not json at all")
			return writeBlob(t, dir, ocispec.MediaTypeImageManifest, digest.FromBytes(b), b)
		}, wantErr: "not a JSON manifest"},
		{name: "missing manifest", desc: func() ocispec.Descriptor {
			return content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, []byte("never stored"))
		}, wantErr: "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig, err := trust.FetchSignature(ctx, lt, tt.desc())
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if string(sig.Envelope) != string(env) {
					t.Fatal("envelope differs")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("FetchSignature = %v; want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
