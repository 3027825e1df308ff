package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/oci"
	"oras.land/oras-go/v2/errdef"

	"github.com/nv2-signing/nv2/internal/testregistry"
	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/spec"
	"github.com/nv2-signing/nv2/pkg/trust"
)

const thumbprint = "aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899"

func TestResolve(t *testing.T) {
	for _, kind := range testregistry.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			reg := testregistry.Start(t, kind)
			want := testregistry.PushImage(t, reg, "net-monitor", "v1", "a")
			tg := remoteTarget(t, reg, "net-monitor")
			ctx := testCtx(t)
			for _, ref := range []string{"v1", want.Digest.String()} {
				got, err := tg.Resolve(ctx, ref)
				if err != nil {
					t.Fatalf("Resolve(%s): %v", ref, err)
				}
				if got.Digest != want.Digest || got.Size != want.Size || got.MediaType != want.MediaType {
					t.Fatalf("Resolve(%s) = %+v, want %+v", ref, got, want)
				}
			}
			_, err := tg.Resolve(ctx, "nope")
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("Resolve(missing tag) = %v, want ErrNotFound", err)
			}
			raw, err := tg.FetchManifest(ctx, want)
			if err != nil || digest.FromBytes(raw) != want.Digest {
				t.Fatalf("FetchManifest: %v", err)
			}
		})
	}
}

func TestPushSignatureRoundTrip(t *testing.T) {
	for _, kind := range testregistry.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			ctx := testCtx(t)
			reg := testregistry.Start(t, kind)
			subject := testregistry.PushImage(t, reg, "net-monitor", "v1", "a")
			tg := remoteTarget(t, reg, "net-monitor")
			env := testEnvelope("one")
			created := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
			desc, err := pushSignature(ctx, tg, subject, env, signature.ArtifactOptions{Thumbprints: []string{thumbprint}, Created: created})
			if err != nil {
				t.Fatal(err)
			}
			if desc.ArtifactType != spec.ArtifactTypeSignature || desc.MediaType != ocispec.MediaTypeImageManifest {
				t.Fatalf("descriptor %+v", desc)
			}

			// The manifest is exactly the DESIGN.md form.
			raw, err := tg.FetchManifest(ctx, desc)
			if err != nil {
				t.Fatal(err)
			}
			var m ocispec.Manifest
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			switch {
			case m.MediaType != ocispec.MediaTypeImageManifest, m.ArtifactType != spec.ArtifactTypeSignature:
				t.Fatalf("manifest types: %s %s", m.MediaType, m.ArtifactType)
			case m.Config.MediaType != spec.ArtifactTypeSignature || m.Config.Digest != spec.EmptyJSONDigest || m.Config.Size != 2:
				t.Fatalf("config %+v", m.Config)
			case len(m.Layers) != 1 || m.Layers[0].MediaType != spec.MediaTypeEnvelope || m.Layers[0].Digest != digest.FromBytes(env):
				t.Fatalf("layers %+v", m.Layers)
			case m.Subject == nil || m.Subject.Digest != subject.Digest || m.Subject.Size != subject.Size || m.Subject.MediaType != subject.MediaType:
				t.Fatalf("subject %+v", m.Subject)
			case m.Annotations[spec.AnnotationThumbprints] != `["`+thumbprint+`"]`:
				t.Fatalf("thumbprints %q", m.Annotations[spec.AnnotationThumbprints])
			case m.Annotations[spec.AnnotationCreated] != "2026-03-04T05:06:07Z":
				t.Fatalf("created %q", m.Annotations[spec.AnnotationCreated])
			}
			cfg, err := content.FetchAll(ctx, orasRepo(t, reg, "net-monitor"), m.Config)
			if err != nil || string(cfg) != "{}" {
				t.Fatalf("config blob %q, %v", cfg, err)
			}

			// Discoverable by a fresh client, with the thumbprint hint kept.
			refs, err := remoteTarget(t, reg, "net-monitor").Referrers(ctx, subject, spec.ArtifactTypeSignature)
			if err != nil {
				t.Fatal(err)
			}
			if len(refs) != 1 || refs[0].Digest != desc.Digest || refs[0].Annotations[spec.AnnotationThumbprints] == "" {
				t.Fatalf("referrers %+v", refs)
			}
			sig, err := trust.FetchSignature(ctx, tg, refs[0])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(sig.Envelope, env) || sig.EnvelopeDescriptor.Digest != digest.FromBytes(env) || sig.Manifest.Subject.Digest != subject.Digest {
				t.Fatalf("signature %+v", sig)
			}

			// Idempotent: the same envelope again leaves one referrer.
			again, err := pushSignature(ctx, remoteTarget(t, reg, "net-monitor"), subject, env, signature.ArtifactOptions{Thumbprints: []string{thumbprint}, Created: created})
			if err != nil || again.Digest != desc.Digest {
				t.Fatalf("second push: %v, %s != %s", err, again.Digest, desc.Digest)
			}
			refs, err = tg.Referrers(ctx, subject, "")
			if err != nil || len(refs) != 1 {
				t.Fatalf("after a second push: %d referrers, %v", len(refs), err)
			}
			// Where the signature is recorded depends on the registry.
			tags := tagsOf(t, reg, "net-monitor")
			fallbackTag := "sha256-" + subject.Digest.Encoded()
			switch kind {
			case testregistry.GGCR:
				if !slices.Equal(tags, []string{"v1"}) {
					t.Fatalf("a registry with the referrers API got tags %v, want only v1", tags)
				}
			case testregistry.Distribution:
				if !slices.Contains(tags, fallbackTag) {
					t.Fatalf("tags %v lack the referrers tag %s", tags, fallbackTag)
				}
				idx := readIndexTag(t, reg, "net-monitor", fallbackTag)
				if len(idx.Manifests) != 1 || idx.Manifests[0].Digest != desc.Digest || idx.Manifests[0].ArtifactType != spec.ArtifactTypeSignature ||
					idx.Manifests[0].Annotations[spec.AnnotationThumbprints] == "" {
					t.Fatalf("fallback index %+v", idx.Manifests)
				}
			}

			// Idempotent by default too: with no Created, the envelope's
			// signing time is the creation time.
			var twice []ocispec.Descriptor
			for range 2 {
				d, err := pushSignature(ctx, remoteTarget(t, reg, "net-monitor"), subject, testEnvelope("two"), signature.ArtifactOptions{})
				if err != nil {
					t.Fatal(err)
				}
				twice = append(twice, d)
			}
			if twice[0].Digest != twice[1].Digest || twice[0].Annotations[spec.AnnotationCreated] != signingTimeForTests {
				t.Fatalf("default Created is not the signing time: %v", twice)
			}
			if refs, err = tg.Referrers(ctx, subject, ""); err != nil || len(refs) != 2 {
				t.Fatalf("after pushing a second envelope twice: %d referrers, %v", len(refs), err)
			}
		})
	}
}

// readIndexTag reads a referrers tag schema index with plain oras-go.
func readIndexTag(t testing.TB, reg *testregistry.Registry, repo, tag string) ocispec.Index {
	t.Helper()
	_, raw, err := oras.FetchBytes(context.Background(), orasRepo(t, reg, repo), tag, oras.DefaultFetchBytesOptions)
	if err != nil {
		t.Fatalf("read %s: %v", tag, err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(raw, &idx); err != nil {
		t.Fatal(err)
	}
	return idx
}

// TestRequestCounts measures the requests of the sign and verify paths and
// holds them to the performance targets.
func TestRequestCounts(t *testing.T) {
	limits := map[testregistry.Kind]struct{ signNewConfig, sign, signKnown, verify int }{
		testregistry.GGCR:         {signNewConfig: 7, sign: 5, signKnown: 4, verify: 4},
		testregistry.Distribution: {signNewConfig: 10, sign: 9, signKnown: 7, verify: 5},
	}
	for _, kind := range testregistry.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			ctx := testCtx(t)
			reg := testregistry.Start(t, kind)
			subject := testregistry.PushImage(t, reg, "net-monitor", "v1", "a")
			lim := limits[kind]
			measure := func(what string, limit int, f func()) {
				t.Helper()
				reg.Reset()
				f()
				n := reg.Count()
				t.Logf("%s: %d requests (limit %d): %v", what, n, limit, reg.Requests())
				if n > limit {
					t.Errorf("%s took %d requests, limit %d", what, n, limit)
				}
			}
			measure("sign, first signature in the repository", lim.signNewConfig, func() {
				if _, err := pushSignature(ctx, remoteTarget(t, reg, "net-monitor"), subject, testEnvelope("1"), signature.ArtifactOptions{}); err != nil {
					t.Fatal(err)
				}
			})
			shared := remoteTarget(t, reg, "net-monitor")
			measure("sign, new process", lim.sign, func() {
				if _, err := pushSignature(ctx, shared, subject, testEnvelope("2"), signature.ArtifactOptions{}); err != nil {
					t.Fatal(err)
				}
			})
			measure("sign, Client knows the registry", lim.signKnown, func() {
				if _, err := pushSignature(ctx, shared, subject, testEnvelope("3"), signature.ArtifactOptions{}); err != nil {
					t.Fatal(err)
				}
			})
			measure("verify by tag, new process: resolve, list, one signature", lim.verify+1, func() {
				tg := remoteTarget(t, reg, "net-monitor")
				d, err := tg.Resolve(ctx, "v1")
				if err != nil {
					t.Fatal(err)
				}
				refs, err := tg.Referrers(ctx, d, spec.ArtifactTypeSignature)
				if err != nil || len(refs) != 3 {
					t.Fatalf("%d referrers, %v", len(refs), err)
				}
				if _, err := trust.FetchSignature(ctx, tg, refs[0]); err != nil {
					t.Fatal(err)
				}
			})
			measure("list referrers, new process", lim.verify-2, func() {
				if _, err := remoteTarget(t, reg, "net-monitor").Referrers(ctx, subject, spec.ArtifactTypeSignature); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

// TestPushSignatureRunsInParallel checks that independent requests overlap.
func TestPushSignatureRunsInParallel(t *testing.T) {
	for _, kind := range testregistry.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			reg := testregistry.Start(t, kind)
			subject := testregistry.PushImage(t, reg, "net-monitor", "v1", "a")
			reg.SetDelay(20 * time.Millisecond)
			reg.Reset()
			if _, err := pushSignature(testCtx(t), remoteTarget(t, reg, "net-monitor"), subject, testEnvelope("p"), signature.ArtifactOptions{}); err != nil {
				t.Fatal(err)
			}
			if reg.MaxInFlight() < 3 {
				t.Fatalf("at most %d requests in flight; the config check, the envelope upload and the referrers probe should overlap", reg.MaxInFlight())
			}
		})
	}
}

// TestRoundTripLevels checks the sequential round trips of signing and
// verifying on a registry with the referrers API: with every answer
// delayed by d (so that parallel requests share a level even on a busy
// machine), signing must take 3 levels (config check, envelope upload
// and referrers probe together; upload end; manifest) and verifying by tag
// 4 (resolve, list, manifest, envelope).
func TestRoundTripLevels(t *testing.T) {
	const d = 60 * time.Millisecond
	ctx := testCtx(t)
	reg := testregistry.Start(t, testregistry.GGCR)
	subject := testregistry.PushImage(t, reg, "net-monitor", "v1", "a")
	if _, err := pushSignature(ctx, remoteTarget(t, reg, "net-monitor"), subject, testEnvelope("warm"), signature.ArtifactOptions{}); err != nil {
		t.Fatal(err)
	}
	// The delay only widens the window in which parallel requests arrive
	// together; the levels are counted from the order of events, never
	// from durations.
	reg.SetDelay(d)
	levels := func(what string, want int, f func()) {
		t.Helper()
		reg.Reset()
		f()
		got := reg.Levels()
		t.Logf("%s: %d levels: %v", what, got, reg.Requests())
		if got > want {
			t.Errorf("%s took %d sequential round trips, want at most %d", what, got, want)
		}
	}
	levels("sign, new process", 3, func() {
		if _, err := pushSignature(ctx, remoteTarget(t, reg, "net-monitor"), subject, testEnvelope("levels"), signature.ArtifactOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	levels("verify by tag, new process", 4, func() {
		tg := remoteTarget(t, reg, "net-monitor")
		desc, err := tg.Resolve(ctx, "v1")
		if err != nil {
			t.Fatal(err)
		}
		refs, err := tg.Referrers(ctx, desc, spec.ArtifactTypeSignature)
		if err != nil || len(refs) != 2 {
			t.Fatalf("%d referrers, %v", len(refs), err)
		}
		if _, err := trust.FetchSignature(ctx, tg, refs[0]); err != nil {
			t.Fatal(err)
		}
	})
}

// signatureForm writes a signature of subject the way another tool does.
type signatureForm struct {
	name string
	// artifactType and configType of the manifest ("" for none).
	artifactType, configType string
	isSignature              bool
}

var formsForTest = []signatureForm{
	{name: "nv2: artifactType and config type", artifactType: spec.ArtifactTypeSignature, configType: spec.ArtifactTypeSignature, isSignature: true},
	{name: "oras attach / notation 1.1 registry: artifactType, empty config", artifactType: spec.ArtifactTypeSignature, configType: spec.MediaTypeEmptyJSON, isSignature: true},
	{name: "notation 1.x: config type alone", configType: spec.ArtifactTypeSignature, isSignature: true},
	{name: "an SBOM: other artifactType, empty config", artifactType: "application/spdx+json", configType: spec.MediaTypeEmptyJSON},
	{name: "other config type alone", configType: "application/vnd.example.config+json"},
}

// packForm pushes one manifest of form f into dst with plain oras-go.
func packForm(t testing.TB, dst oras.Target, subject ocispec.Descriptor, f signatureForm, env []byte) ocispec.Descriptor {
	t.Helper()
	ctx := context.Background()
	push := func(mediaType string, b []byte) ocispec.Descriptor {
		d := content.NewDescriptorFromBytes(mediaType, b)
		if err := dst.Push(ctx, d, bytes.NewReader(b)); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
			t.Fatal(err)
		}
		return d
	}
	envDesc := push(spec.MediaTypeEnvelope, env)
	opts := oras.PackManifestOptions{
		Layers:              []ocispec.Descriptor{envDesc},
		Subject:             &subject,
		ManifestAnnotations: map[string]string{spec.AnnotationCreated: signingTimeForTests, spec.AnnotationThumbprints: `["` + thumbprint + `"]`},
	}
	if f.configType != spec.MediaTypeEmptyJSON {
		cfg := push(f.configType, []byte("{}"))
		opts.ConfigDescriptor = &cfg
	}
	desc, err := oras.PackManifest(ctx, dst, oras.PackManifestVersion1_1, f.artifactType, opts)
	if err != nil {
		t.Fatalf("%s: %v", f.name, err)
	}
	return desc
}

// TestEveryManifestForm writes each DESIGN.md form (and two non-signatures)
// with plain oras-go and reads them with nv2, on both registries and in a
// layout.
func TestEveryManifestForm(t *testing.T) {
	type setup struct {
		name string
		// start returns a writer for plain oras-go, the subject, and how to
		// open the same place with nv2.
		start func(t *testing.T) (oras.Target, ocispec.Descriptor, func() (Storage, error))
	}
	setups := []setup{{name: "layout", start: func(t *testing.T) (oras.Target, ocispec.Descriptor, func() (Storage, error)) {
		dir := t.TempDir()
		subject, err := testregistry.NewImage("a").WriteLayout(dir, "v1")
		if err != nil {
			t.Fatal(err)
		}
		store, err := oci.New(dir)
		if err != nil {
			t.Fatal(err)
		}
		return store, subject, func() (Storage, error) { return OpenLayout(dir) }
	}}}
	for _, kind := range testregistry.Kinds {
		setups = append(setups, setup{name: string(kind), start: func(t *testing.T) (oras.Target, ocispec.Descriptor, func() (Storage, error)) {
			reg := testregistry.Start(t, kind)
			subject := testregistry.PushImage(t, reg, "net-monitor", "v1", "a")
			return orasRepo(t, reg, "net-monitor"), subject, func() (Storage, error) { return remoteTarget(t, reg, "net-monitor"), nil }
		}})
	}
	for _, s := range setups {
		t.Run(s.name, func(t *testing.T) {
			ctx := testCtx(t)
			writer, subject, open := s.start(t)
			want := map[string]signatureForm{}
			for i, f := range formsForTest {
				d := packForm(t, writer, subject, f, testEnvelope(f.name+string(rune('a'+i))))
				want[d.Digest.String()] = f
			}
			tg, err := open()
			if err != nil {
				t.Fatal(err)
			}
			sigs, err := tg.Referrers(ctx, subject, spec.ArtifactTypeSignature)
			if err != nil {
				t.Fatal(err)
			}
			got := digests(sigs)
			for d, f := range want {
				if got[d] != f.isSignature {
					t.Errorf("%s: listed as signature = %v, want %v", f.name, got[d], f.isSignature)
				}
			}
			for _, d := range sigs {
				if d.ArtifactType != spec.ArtifactTypeSignature {
					t.Errorf("signature %s listed with artifactType %q", d.Digest, d.ArtifactType)
				}
				if d.Annotations[spec.AnnotationThumbprints] == "" {
					t.Errorf("signature %s lost its thumbprint annotation", d.Digest)
				}
			}
			all, err := tg.Referrers(ctx, subject, "")
			if err != nil || len(all) != len(formsForTest) {
				t.Fatalf("all referrers: %d, %v; want %d", len(all), err, len(formsForTest))
			}
			for _, d := range all {
				f := want[d.Digest.String()]
				_, err := trust.FetchSignature(ctx, tg, d)
				if f.isSignature && err != nil {
					t.Errorf("%s: FetchSignature: %v", f.name, err)
				}
				if !f.isSignature && (err == nil || !strings.Contains(err.Error(), "not a notary signature")) {
					t.Errorf("%s: FetchSignature accepted a non-signature or failed oddly: %v", f.name, err)
				}
			}
		})
	}
}
