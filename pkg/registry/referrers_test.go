package registry

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nv2-signing/nv2/internal/testregistry"
	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/spec"
)

// TestReferrersPaging lists referrers across pages: a proxy in front of the
// real go-containerregistry registry splits its answer into pages linked by
// Link headers, and nv2 must read all of them, one request a page.
func TestReferrersPaging(t *testing.T) {
	const pageSize, signatures = 2, 5
	ctx := testCtx(t)
	reg := testregistry.Start(t, testregistry.GGCR, testregistry.Options{Wrap: testregistry.PageReferrers(pageSize)})
	subject := testregistry.PushImage(t, reg, "net-monitor", "v1", "a")
	tg := remoteTarget(t, reg, "net-monitor")
	want := map[string]bool{}
	for i := range signatures {
		d, err := pushSignature(ctx, tg, subject, testEnvelope(fmt.Sprint(i)), signature.ArtifactOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want[d.Digest.String()] = true
	}
	reg.Reset()
	refs, err := remoteTarget(t, reg, "net-monitor").Referrers(ctx, subject, spec.ArtifactTypeSignature)
	if err != nil {
		t.Fatal(err)
	}
	got := digests(refs)
	if len(refs) != signatures || len(got) != signatures {
		t.Fatalf("listed %d referrers, want %d", len(refs), signatures)
	}
	for d := range want {
		if !got[d] {
			t.Errorf("signature %s missing from the paged listing", d)
		}
	}
	pages := (signatures + pageSize - 1) / pageSize
	if reg.Count() != pages {
		t.Fatalf("%d requests for %d pages: %v", reg.Count(), pages, reg.Requests())
	}
	for _, r := range reg.Requests() {
		if !strings.Contains(r.Path, "/referrers/") {
			t.Fatalf("unexpected request %v", r)
		}
	}
}

// TestReferrersTree builds a signature of a signature and lists the tree.
func TestReferrersTree(t *testing.T) {
	for _, kind := range testregistry.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			ctx := testCtx(t)
			reg := testregistry.Start(t, kind)
			subject := testregistry.PushImage(t, reg, "net-monitor", "v1", "a")
			tg := remoteTarget(t, reg, "net-monitor")
			sig1, err := pushSignature(ctx, tg, subject, testEnvelope("level1"), signature.ArtifactOptions{})
			if err != nil {
				t.Fatal(err)
			}
			sig2, err := pushSignature(ctx, tg, sig1, testEnvelope("level2"), signature.ArtifactOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, tt := range []struct {
				depth, levels int
			}{{depth: 1, levels: 1}, {depth: 2, levels: 2}, {depth: 0, levels: 2}, {depth: -1, levels: 2}, {depth: 5, levels: 2}} {
				root, err := tg.ReferrersTree(ctx, subject, spec.ArtifactTypeSignature, tt.depth)
				if err != nil {
					t.Fatal(err)
				}
				if root.Digest != subject.Digest || len(root.Referrers) != 1 || root.Referrers[0].Digest != sig1.Digest {
					t.Fatalf("depth %d: level 1 %+v", tt.depth, root.Referrers)
				}
				l2 := root.Referrers[0].Referrers
				if tt.levels == 1 && len(l2) != 0 {
					t.Fatalf("depth %d listed level 2: %+v", tt.depth, l2)
				}
				if tt.levels == 2 && (len(l2) != 1 || l2[0].Digest != sig2.Digest || len(l2[0].Referrers) != 0) {
					t.Fatalf("depth %d: level 2 %+v", tt.depth, l2)
				}
			}
		})
	}
}

// TestReferrersFilterOnMisreportingRegistry: go-containerregistry reports
// the config media type as artifactType and ignores the filter; a
// signature with an empty config must still count, an SBOM must not, and
// other referrers must not cost a manifest fetch when their type is clear.
func TestReferrersFilterOnMisreportingRegistry(t *testing.T) {
	ctx := testCtx(t)
	reg := testregistry.Start(t, testregistry.GGCR)
	subject := testregistry.PushImage(t, reg, "net-monitor", "v1", "a")
	repo := orasRepo(t, reg, "net-monitor")
	attach := packForm(t, repo, subject, formsForTest[1], testEnvelope("attach"))
	packForm(t, repo, subject, formsForTest[3], testEnvelope("sbom"))
	packForm(t, repo, subject, formsForTest[4], testEnvelope("other"))
	native, err := pushSignature(ctx, remoteTarget(t, reg, "net-monitor"), subject, testEnvelope("nv2"), signature.ArtifactOptions{})
	if err != nil {
		t.Fatal(err)
	}
	reg.Reset()
	refs, err := remoteTarget(t, reg, "net-monitor").Referrers(ctx, subject, spec.ArtifactTypeSignature)
	if err != nil {
		t.Fatal(err)
	}
	got := digests(refs)
	if len(refs) != 2 || !got[attach.Digest.String()] || !got[native.Digest.String()] {
		t.Fatalf("signatures listed: %+v", refs)
	}
	// One listing plus one manifest fetch for each empty-config referrer
	// (the oras-attach signature and the SBOM).
	if reg.Count() != 3 {
		t.Fatalf("%d requests: %v", reg.Count(), reg.Requests())
	}
}
