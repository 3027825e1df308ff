package registry

import (
	"fmt"
	"sync"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/nv2-signing/nv2/internal/testregistry"
	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/spec"
)

// TestConcurrentSignersAllDiscoverable is the fallback race: on a registry
// without the referrers API every signer rewrites the one referrers tag.
// Twenty signers, each with its own Client (as separate processes would
// be) and no lock shared in the process, push at once; afterwards every
// signature must be listed by nv2 and by the index tag itself, read with
// plain oras-go.
func TestConcurrentSignersAllDiscoverable(t *testing.T) {
	const signers = 20
	for _, delay := range []time.Duration{0, 2 * time.Millisecond} {
		t.Run(fmt.Sprintf("registry delay %s", delay), func(t *testing.T) {
			ctx := testCtx(t)
			reg := testregistry.Start(t, testregistry.Distribution)
			subject := testregistry.PushImage(t, reg, "net-monitor", "v1", "a")
			reg.SetDelay(delay)
			// Each signer gets its own Client and Remote, made before the
			// start so that all begin together.
			targets := make([]*Remote, signers)
			for i := range targets {
				targets[i] = remoteTarget(t, reg, "net-monitor")
			}
			start := make(chan struct{})
			pushed := make([]ocispec.Descriptor, signers)
			errs := make([]error, signers)
			var wg sync.WaitGroup
			for i := range signers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					pushed[i], errs[i] = pushSignature(ctx, targets[i], subject, testEnvelope(fmt.Sprint("signer-", i)), signature.ArtifactOptions{})
				}()
			}
			reg.Reset()
			close(start)
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("signer %d: %v", i, err)
				}
			}
			t.Logf("%d signers: %d requests, %d in flight at most", signers, reg.Count(), reg.MaxInFlight())

			refs, err := remoteTarget(t, reg, "net-monitor").Referrers(ctx, subject, spec.ArtifactTypeSignature)
			if err != nil {
				t.Fatal(err)
			}
			idx := readIndexTag(t, reg, "net-monitor", "sha256-"+subject.Digest.Encoded())
			byNv2, byTag := digests(refs), digests(idx.Manifests)
			for i, d := range pushed {
				if !byNv2[d.Digest.String()] {
					t.Errorf("signer %d's signature %s is not listed by nv2", i, d.Digest)
				}
				if !byTag[d.Digest.String()] {
					t.Errorf("signer %d's signature %s is not in the referrers index read by oras-go", i, d.Digest)
				}
			}
			if len(refs) != signers || len(idx.Manifests) != signers {
				t.Errorf("nv2 lists %d, the index holds %d; want %d each", len(refs), len(idx.Manifests), signers)
			}
		})
	}
}
