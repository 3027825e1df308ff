package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/nv2-signing/nv2/internal/testregistry"
)

// concurrentWriters is how many nv2 processes write one OCI layout at once.
const concurrentWriters = 20

// TestConcurrentLayoutWriters: nv2 processes that write one OCI layout at
// the same time all succeed, and every one's result is in the layout.
func TestConcurrentLayoutWriters(t *testing.T) {
	t.Run("sign", func(t *testing.T) {
		c := newCLI(t)
		key, cert := c.keys("wabbit-networks.io")
		layout := buildLayout(t)
		runAll(t, func(int) []string {
			return []string{"sign", "--oci-layout", "--key", key, "--cert", cert, layout + ":v1"}
		}, c)
		if got := referrerDigests(t, "layout:"+layout+":v1"); len(got) != concurrentWriters {
			t.Fatalf("the layout lists %d signatures after %d concurrent signers: %v", len(got), concurrentWriters, got)
		}
		c.must(0, "verify", "--oci-layout", "--cert", cert, layout+":v1")
	})

	t.Run("copy", func(t *testing.T) {
		c := newCLI(t)
		key, cert := c.keys("wabbit-networks.io")
		reg := testregistry.Start(t, testregistry.GGCR)
		testregistry.PushImage(t, reg, "net-monitor", "v1", "layout-writers")
		src := reg.Host + "/net-monitor:v1"
		c.must(0, "sign", "--key", key, "--cert", cert, src)
		dir := filepath.Join(t.TempDir(), "mirror")
		runAll(t, func(i int) []string {
			return []string{"copy", "--to-oci-layout", src, fmt.Sprintf("%s:t%d", dir, i)}
		}, c)
		tags := layoutTags(t, dir)
		for i := range concurrentWriters {
			if !tags[fmt.Sprintf("t%d", i)] {
				t.Errorf("tag t%d is missing from the layout; it has %v", i, tags)
			}
		}
		for i := range concurrentWriters {
			c.must(0, "verify", "--oci-layout", "--cert", cert, fmt.Sprintf("%s:t%d", dir, i))
		}
	})
}

// runAll runs concurrentWriters nv2 processes at once, with the arguments
// args(i) gives the i-th, and fails the test unless each exits 0.
func runAll(t *testing.T, args func(i int) []string, c *cliUser) {
	t.Helper()
	var wg sync.WaitGroup
	results := make([]result, concurrentWriters)
	for i := range concurrentWriters {
		wg.Go(func() { results[i] = execute(t, nv2Bin, c.env, args(i)...) })
	}
	wg.Wait()
	for i, r := range results {
		if r.code != 0 {
			t.Errorf("writer %d: exit %d\n%s%s", i, r.code, r.stdout, r.stderr)
		}
	}
}

// layoutTags returns the tags the index.json of the layout at dir lists.
func layoutTags(t *testing.T, dir string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, ocispec.ImageIndexFile))
	if err != nil {
		t.Fatal(err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatalf("index.json: %v", err)
	}
	tags := map[string]bool{}
	for _, m := range idx.Manifests {
		if n := m.Annotations[ocispec.AnnotationRefName]; n != "" {
			tags[n] = true
		}
	}
	return tags
}
