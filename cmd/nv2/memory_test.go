package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"strings"
	"testing"

	"github.com/nv2-signing/nv2/internal/testregistry"
	"github.com/nv2-signing/nv2/internal/testsign"
	"github.com/nv2-signing/nv2/pkg/spec"
)

// Memory stays bounded however large the envelopes a registry serves and
// however many references one nv2 verify checks at once: the goal is a peak
// resident size under 256 MiB for 4 references with 9 bogus envelopes of
// nearly 32 MiB each (the limit), envelopes that copy a trusted chain and
// its thumbprint hint, so they are all fetched and decoded first.

const (
	memoryRefs      = 4
	memoryEnvelopes = 9
	memoryGoal      = 256 << 20
)

// bogusEnvelope is an envelope of almost spec.MaxEnvelopeSize bytes whose
// x5c is trusted's chain but whose signature is made by another key.
func bogusEnvelope(t testing.TB, p *testsign.PKI, subject string) []byte {
	t.Helper()
	img := testregistry.NewImage(subject).Descriptor
	e := testsign.NewEnvelope(t, p.LeafKey, p.Chain(), img)
	// The payload is base64 in the envelope: 3 bytes become 4.
	pad := strings.Repeat("x", (spec.MaxEnvelopeSize-64<<10)*3/4)
	e.Payload = []byte(fmt.Sprintf(`{"targetArtifact":{"mediaType":%q,"digest":%q,"size":%d,"annotations":{"pad":%q}}}`, img.MediaType, img.Digest, img.Size, pad))
	e.Key = testsign.Key(t, 0) // not the leaf's key: the signature is invalid
	b := e.Bytes(t)
	if len(b) > spec.MaxEnvelopeSize {
		t.Fatalf("bogus envelope of %d bytes is over the limit", len(b))
	}
	return b
}

// largeEnvelopeSetup pushes memoryRefs images, each with memoryEnvelopes
// bogus envelopes hinted as trusted, and returns their references and the
// trusted root's file.
func largeEnvelopeSetup(t testing.TB) (refs []string, root string) {
	reg := testregistry.Start(t, testregistry.GGCR)
	p := testsign.NewPKI(t, "memory")
	hint := testsign.Thumbprints([]*x509.Certificate{p.Leaf, p.Inter, p.Root})
	for i := range memoryRefs {
		repo := fmt.Sprintf("memory/app%d", i)
		img := testregistry.PushImage(t, reg, repo, "v1", repo)
		env := bogusEnvelope(t, p, repo)
		if _, err := testregistry.PushSignatures(context.Background(), reg.Host, repo, img, []testregistry.Envelope{{Data: env, Thumbprints: hint}}, memoryEnvelopes); err != nil {
			t.Fatal(err)
		}
		refs = append(refs, reg.Host+"/"+repo+":v1")
	}
	return refs, testsign.WritePEM(t, t.TempDir(), "root.crt", p.Root)
}

// TestLargeEnvelopesBoundedMemory guards the goal: every bogus envelope is
// fetched and refused, and the peak stays under it.
func TestLargeEnvelopesBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("moves about 1.2 GiB through loopback; run without -short")
	}
	refs, root := largeEnvelopeSetup(t)
	c := newCLI(t)
	m := c.runMeasured(append([]string{"verify", "--cert", root}, refs...)...)
	expectExit(t, exitNotVerified, m.result, "nv2", refs)
	if n := strings.Count(m.stderr, "invalid signature"); n != memoryRefs*memoryEnvelopes {
		t.Errorf("%d envelopes refused as invalid signatures, want %d:\n%s", n, memoryRefs*memoryEnvelopes, m.stderr)
	}
	t.Logf("peak resident memory %d MiB", m.maxRSS>>20)
	if m.maxRSS > memoryGoal {
		t.Errorf("peak resident memory %d MiB, goal under %d MiB", m.maxRSS>>20, memoryGoal>>20)
	}
}

// BenchmarkLargeEnvelopesMemory reports the peak resident memory (peak-MiB)
// of one nv2 verify of the set-up above, a new process each time.
func BenchmarkLargeEnvelopesMemory(b *testing.B) {
	refs, root := largeEnvelopeSetup(b)
	c := newCLI(b)
	var peak int64
	b.ResetTimer()
	for range b.N {
		m := c.runMeasured(append([]string{"verify", "--cert", root}, refs...)...)
		expectExit(b, exitNotVerified, m.result, "nv2", refs)
		peak = max(peak, m.maxRSS)
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
}
