package revocation_test

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nv2-signing/nv2/internal/testrevocation"
	"github.com/nv2-signing/nv2/pkg/revocation"
)

// BenchmarkCheck checks a leaf, intermediate, root chain with 20 ms added to
// every request: a cold cache costs one round-trip level (the two
// certificates in parallel), a warm one no request at all.
func BenchmarkCheck(b *testing.B) {
	e := testrevocation.New(b)
	e.SetDelay(20 * time.Millisecond)
	chain := e.Chain(e.Leaf(testrevocation.LeafOptions{}))
	ctx := context.Background()

	b.Run("cold", func(b *testing.B) {
		e.ResetCounts()
		base := b.TempDir()
		for i := 0; b.Loop(); i++ {
			c := newChecker()
			c.CacheDir = filepath.Join(base, strconv.Itoa(i))
			assertGood(b, c.Check(ctx, chain))
		}
		reportRequests(b, e)
	})
	b.Run("warm", func(b *testing.B) {
		c := newChecker()
		c.CacheDir = b.TempDir()
		assertGood(b, c.Check(ctx, chain))
		e.ResetCounts()
		for b.Loop() {
			assertGood(b, c.Check(ctx, chain))
		}
		reportRequests(b, e)
	})
}

func assertGood(b *testing.B, results []revocation.Result) {
	for _, r := range results {
		if r.Status != revocation.Good {
			b.Fatalf("%s: %v (%v)", r.Cert.Subject, r.Status, r.Err)
		}
	}
}

func reportRequests(b *testing.B, e *testrevocation.Env) {
	o, c := e.Requests()
	b.ReportMetric(float64(o+c)/float64(b.N), "requests/op")
}
