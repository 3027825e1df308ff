package registry

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/nv2-signing/nv2/internal/testregistry"
	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/spec"
)

// junkEnvelopes returns envelopes for testregistry.PushSignatures; the
// registry package never verifies them.
func junkEnvelopes(n int) []testregistry.Envelope {
	out := make([]testregistry.Envelope, n)
	for i := range out {
		out[i] = testregistry.Envelope{Data: testEnvelope(fmt.Sprint("junk-", i)), Thumbprints: []string{thumbprint}}
	}
	return out
}

// TestSignTargets holds signing (resolve, then pushSignature with a new
// Client, as a new nv2 process does) to the targets: with the referrers API
// at most 5 requests when the repository holds the config blob and 7 when
// it must be pushed, the resolve included (nv2 takes 5 either way: the
// config and the envelope go up in single POSTs, no existence check), in
// at most 4 sequential round trips (nv2 takes 3), and no tag; without it at
// most 9 to push the signature (the index re-read that protects concurrent
// signers included: CNCF distribution takes uploads in a POST and a PUT),
// plus the resolve, in 6 round trips.
func TestSignTargets(t *testing.T) {
	const delay = 30 * time.Millisecond // widens the window of parallel requests; levels are counted from event order
	limits := map[testregistry.Kind]struct{ first, again, levels int }{
		testregistry.GGCR:         {first: 7, again: 5, levels: 4},
		testregistry.Distribution: {first: 1 + 9, again: 1 + 9, levels: 6},
	}
	for _, kind := range testregistry.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			ctx := testCtx(t)
			reg := testregistry.Start(t, kind)
			testregistry.PushImage(t, reg, "net-monitor", "v1", "a")
			lim := limits[kind]
			sign := func(what string, limit int, seed string) {
				t.Helper()
				reg.Reset()
				tg := remoteTarget(t, reg, "net-monitor")
				subject, err := tg.Resolve(ctx, "v1")
				if err != nil {
					t.Fatal(err)
				}
				if _, err := pushSignature(ctx, tg, subject, testEnvelope(seed), signature.ArtifactOptions{Thumbprints: []string{thumbprint}}); err != nil {
					t.Fatal(err)
				}
				n, levels := reg.Count(), reg.Levels()
				t.Logf("%s: %d requests (limit %d), %d round trips (limit %d): %v", what, n, limit, levels, lim.levels, reg.Requests())
				if n > limit {
					t.Errorf("%s took %d requests, limit %d", what, n, limit)
				}
				if levels > lim.levels {
					t.Errorf("%s took %d sequential round trips, limit %d", what, levels, lim.levels)
				}
				for _, r := range reg.Requests() {
					if r.Method == http.MethodHead && strings.Contains(r.Path, "/blobs/") {
						t.Errorf("%s asked whether a blob exists (%v): small blobs go up in a single POST", what, r)
					}
				}
			}
			reg.SetDelay(delay)
			sign("sign, the config blob not in the repository", lim.first, "first")
			sign("sign, the config blob in the repository", lim.again, "again")
			reg.SetDelay(0)
			if kind == testregistry.GGCR {
				if tags := tagsOf(t, reg, "net-monitor"); len(tags) != 1 || tags[0] != "v1" {
					t.Errorf("signing wrote tags on a registry with the referrers API: %v", tags)
				}
			}
		})
	}
}

// TestListThousandReferrers lists 1,001 referrers: one request on a
// registry with the referrers API (one a page where it pages), two without
// (the referrers GET that finds no API, then the index). On the fallback
// registry the tree of them (their own referrers, one level down) costs one
// tag listing more, not a request per referrer.
func TestListThousandReferrers(t *testing.T) {
	const n, pageSize = 1001, 100
	for _, tt := range []struct {
		name        string
		kind        testregistry.Kind
		opts        testregistry.Options
		list, tree  int
		treeComment string
	}{
		{name: "referrers API", kind: testregistry.GGCR, list: 1},
		{name: "referrers API in pages of 100", kind: testregistry.GGCR, opts: testregistry.Options{Wrap: testregistry.PageReferrers(pageSize)}, list: (n + pageSize - 1) / pageSize},
		{name: "referrers tag schema", kind: testregistry.Distribution, list: 2, tree: 3, treeComment: "referrers GET, index, one tag listing"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			reg := testregistry.Start(t, tt.kind, tt.opts)
			subject := testregistry.PushImage(t, reg, "net-monitor", "v1", "a")
			pushed, err := testregistry.PushSignatures(ctx, reg.Host, "net-monitor", subject, junkEnvelopes(4), n)
			if err != nil {
				t.Fatal(err)
			}
			reg.Reset()
			refs, err := remoteTarget(t, reg, "net-monitor").Referrers(ctx, subject, spec.ArtifactTypeSignature)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := digests(refs), digests(pushed); len(refs) != n || len(got) != len(want) {
				t.Fatalf("listed %d referrers (%d distinct), want %d", len(refs), len(got), n)
			}
			for _, d := range refs {
				if d.Annotations[spec.AnnotationThumbprints] == "" {
					t.Fatalf("referrer %s lost its thumbprint hint", d.Digest)
				}
			}
			t.Logf("listing: %d requests (limit %d): %v", reg.Count(), tt.list, reg.Requests())
			if reg.Count() > tt.list {
				t.Errorf("listing %d referrers took %d requests, limit %d", n, reg.Count(), tt.list)
			}
			if tt.tree == 0 {
				return
			}
			reg.Reset()
			root, err := remoteTarget(t, reg, "net-monitor").ReferrersTree(ctx, subject, "", 0)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("tree: %d requests (limit %d: %s)", reg.Count(), tt.tree, tt.treeComment)
			if len(root.Referrers) != n || reg.Count() > tt.tree {
				t.Errorf("tree: %d referrers in %d requests, want %d in at most %d (%s)", len(root.Referrers), reg.Count(), n, tt.tree, tt.treeComment)
			}
		})
	}
}

// TestTreeStillFindsReferrersOfReferrers: the tag listing that spares the
// fallback registry a request per referrer must not hide the referrers that
// do exist.
func TestTreeStillFindsReferrersOfReferrers(t *testing.T) {
	ctx := testCtx(t)
	reg := testregistry.Start(t, testregistry.Distribution)
	subject := testregistry.PushImage(t, reg, "net-monitor", "v1", "a")
	pushed, err := testregistry.PushSignatures(ctx, reg.Host, "net-monitor", subject, junkEnvelopes(2), 2*maxParallel)
	if err != nil {
		t.Fatal(err)
	}
	tg := remoteTarget(t, reg, "net-monitor")
	counter, err := pushSignature(ctx, tg, pushed[3], testEnvelope("of a signature"), signature.ArtifactOptions{})
	if err != nil {
		t.Fatal(err)
	}
	root, err := remoteTarget(t, reg, "net-monitor").ReferrersTree(ctx, subject, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var found []ocispec.Descriptor
	for _, n := range root.Referrers {
		for _, c := range n.Referrers {
			found = append(found, c.Descriptor)
			if n.Digest != pushed[3].Digest {
				t.Errorf("%s listed under %s, want under %s", c.Digest, n.Digest, pushed[3].Digest)
			}
		}
	}
	if len(root.Referrers) != 2*maxParallel || len(found) != 1 || found[0].Digest != counter.Digest {
		t.Fatalf("tree: %d referrers, second level %v; want %d and the signature %s", len(root.Referrers), found, 2*maxParallel, counter.Digest)
	}
}

// BenchmarkReferrers lists 1,000 referrers with a new Client each time.
func BenchmarkReferrers(b *testing.B) {
	for _, kind := range testregistry.Kinds {
		b.Run(string(kind), func(b *testing.B) {
			ctx := testCtx(b)
			reg := testregistry.Start(b, kind)
			subject := testregistry.PushImage(b, reg, "net-monitor", "v1", "a")
			if _, err := testregistry.PushSignatures(ctx, reg.Host, "net-monitor", subject, junkEnvelopes(4), 1000); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				refs, err := remoteTarget(b, reg, "net-monitor").Referrers(ctx, subject, spec.ArtifactTypeSignature)
				if err != nil || len(refs) != 1000 {
					b.Fatalf("%d referrers, %v", len(refs), err)
				}
			}
		})
	}
}
