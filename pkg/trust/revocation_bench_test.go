package trust

import (
	"context"
	"crypto/x509"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nv2-signing/nv2/internal/testregistry"
	"github.com/nv2-signing/nv2/internal/testrevocation"
	"github.com/nv2-signing/nv2/internal/testsign"
	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/registry"
	"github.com/nv2-signing/nv2/pkg/revocation"
	"github.com/nv2-signing/nv2/pkg/signature"
)

// BenchmarkVerifyRevocation verifies by digest one signature whose leaf and
// intermediate name an OCSP responder, with 20 ms added to every registry
// and responder request: without revocation, with a cold cache (one more
// round-trip level: both certificates at once) and with a warm one (no
// revocation request).
func BenchmarkVerifyRevocation(b *testing.B) {
	reg := testregistry.Start(b, testregistry.GGCR)
	subject := testregistry.PushImage(b, reg, "net-monitor", "v1", "bench")
	e := testrevocation.New(b)
	leaf, key := e.SigningLeaf(testrevocation.LeafOptions{})
	a, err := signature.NewArtifact(subject, testsign.NewEnvelope(b, key, e.Chain(leaf), subject).Bytes(b), signature.ArtifactOptions{Thumbprints: nvcrypto.Thumbprints(e.Chain(leaf))})
	if err != nil {
		b.Fatal(err)
	}
	blobs := []registry.Blob{{Descriptor: a.Manifest.Config, Data: signature.EmptyConfig}, {Descriptor: a.EnvelopeDescriptor, Data: a.Envelope}}
	if err := perfTarget(b, reg, "net-monitor").PushReferrer(context.Background(), subject, registry.Referrer{Descriptor: a.Descriptor, Manifest: a.Raw, Blobs: blobs}); err != nil {
		b.Fatal(err)
	}
	reg.Counter.SetDelay(20 * time.Millisecond)
	e.SetDelay(20 * time.Millisecond)
	ctx := context.Background()
	verify := func(b *testing.B, v *Verifier) {
		if res := v.Verify(ctx, perfTarget(b, reg, "net-monitor"), reg.Host+"/net-monitor", subject.Digest.String()); res.Status != Verified {
			b.Fatal(res.Err)
		}
	}
	report := func(b *testing.B) {
		o, c := e.Requests()
		b.ReportMetric(float64(o+c)/float64(b.N), "revocation-requests/op")
	}
	b.Run("without", func(b *testing.B) {
		v := NewCertVerifier([]*x509.Certificate{e.Root.Cert})
		v.RevocationAction = actionSkip
		e.ResetCounts()
		for b.Loop() {
			verify(b, v)
		}
		report(b)
	})
	b.Run("cold", func(b *testing.B) {
		base := b.TempDir()
		e.ResetCounts()
		for i := 0; b.Loop(); i++ {
			v := NewCertVerifier([]*x509.Certificate{e.Root.Cert})
			v.Revocation = &revocation.Checker{CacheDir: filepath.Join(base, strconv.Itoa(i))}
			verify(b, v)
		}
		report(b)
	})
	b.Run("warm", func(b *testing.B) {
		v := NewCertVerifier([]*x509.Certificate{e.Root.Cert})
		v.Revocation = &revocation.Checker{CacheDir: b.TempDir()}
		verify(b, v)
		e.ResetCounts()
		for b.Loop() {
			verify(b, v)
		}
		report(b)
	})
}
