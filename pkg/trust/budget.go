package trust

import (
	"context"
	"sync"

	"golang.org/x/sync/semaphore"

	"github.com/nv2-signing/nv2/pkg/spec"
)

// DefaultEnvelopeBudget is the default of Verifier.EnvelopeBudget: the
// weight of one envelope at spec.MaxEnvelopeSize, so that the largest
// envelopes are checked one at a time while small ones share the budget.
const DefaultEnvelopeBudget = envelopeWeight * spec.MaxEnvelopeSize

// envelopeWeight is what one envelope byte costs the budget: the envelope
// itself, and at most its decoded payload and the payload's decoded
// strings beside it while it is checked (signature.Verify copies nothing
// else).
const envelopeWeight = 3

// budget bounds the envelope bytes a Verifier holds at once, across every
// artifact it verifies concurrently: memory stays bounded however many
// large envelopes registries serve.
type budget struct {
	once  sync.Once
	sem   *semaphore.Weighted
	total int64
}

// acquire reserves room for an envelope of size bytes (all of the budget
// for one larger than it) and returns the function that gives it back.
func (b *budget) acquire(ctx context.Context, total, size int64) (func(), error) {
	b.once.Do(func() {
		if total <= 0 {
			total = DefaultEnvelopeBudget
		}
		b.total, b.sem = total, semaphore.NewWeighted(total)
	})
	w := min(max(size, 1)*envelopeWeight, b.total)
	if err := b.sem.Acquire(ctx, w); err != nil {
		return nil, err
	}
	return func() { b.sem.Release(w) }, nil
}
