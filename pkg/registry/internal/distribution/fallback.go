package distribution

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote/auth"

	"github.com/nv2-signing/nv2/pkg/spec"
)

// The settle protocol of the referrers tag schema index (see PushReferrer).
const (
	// settleMin is the least delay between writing the index and checking it.
	settleMin = 50 * time.Millisecond
	// settleMax caps the delay however slow the registry is.
	settleMax = 5 * time.Second
	// settleFactor times this writer's read-to-write time is the delay.
	settleFactor = 2
	// settleAttempts bounds the writes of one push.
	settleAttempts = 12
)

// ErrUnsettled is wrapped when the index kept changing under a push: the
// referrer is stored, but may be missing from the index.
const ErrUnsettled constError = "the referrers index did not settle"

// Settle tunes the settle protocol; tests shorten or lengthen it.
type Settle struct {
	Min, Max time.Duration
	Factor   int
	Attempts int
}

// DefaultSettle is the protocol nv2 runs.
func DefaultSettle() Settle {
	return Settle{Min: settleMin, Max: settleMax, Factor: settleFactor, Attempts: settleAttempts}
}

// IndexSnapshot is one read of the referrers tag schema index.
type IndexSnapshot struct {
	at      time.Time // when the read began
	entries []ocispec.Descriptor
}

// ReferrersTag is the referrers tag schema tag of subject: "<alg>-<hex>",
// the algorithm cut to 32 and the hex to 64 characters (distribution spec
// 1.1); for sha256 exactly what oras-go and notation use.
func ReferrersTag(subject ocispec.Descriptor) (string, error) {
	if err := subject.Digest.Validate(); err != nil {
		return "", fmt.Errorf("invalid subject digest %q: %w", subject.Digest, err)
	}
	alg, enc := subject.Digest.Algorithm().String(), subject.Digest.Encoded()
	if len(alg) > 32 {
		alg = alg[:32]
	}
	if len(enc) > 64 {
		enc = enc[:64]
	}
	return alg + "-" + enc, nil
}

// ReadIndex reads subject's referrers tag schema index. No tag, or a tag
// that is not an index (some registries resolve it to the subject), reads
// as an empty index.
func (r *Repository) ReadIndex(ctx context.Context, subject ocispec.Descriptor) (*IndexSnapshot, error) {
	tag, err := ReferrersTag(subject)
	if err != nil {
		return nil, err
	}
	at := time.Now()
	desc, rc, err := r.Repo.FetchReference(ctx, tag)
	if errors.Is(err, errdef.ErrNotFound) {
		return &IndexSnapshot{at: at}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the referrers index %s in %s: %w", tag, r, err)
	}
	defer drainClose(rc)
	if desc.MediaType != ocispec.MediaTypeImageIndex || desc.Digest == subject.Digest {
		return &IndexSnapshot{at: at}, nil
	}
	if desc.Size > spec.MaxManifestSize {
		return nil, fmt.Errorf("the referrers index %s in %s is %d bytes, over the limit of %d", tag, r, desc.Size, spec.MaxManifestSize)
	}
	raw, err := content.ReadAll(rc, desc)
	if err != nil {
		return nil, fmt.Errorf("read the referrers index %s in %s: %w", tag, r, err)
	}
	entries, err := parseReferrersIndex(raw)
	if err != nil {
		return nil, fmt.Errorf("the referrers index %s in %s: %w", tag, r, err)
	}
	return &IndexSnapshot{at: at, entries: entries}, nil
}

// parseReferrersIndex decodes a referrers tag schema index (an image index of
// at most spec.MaxManifestSize bytes) and returns its entries, at most
// spec.MaxReferrers. It is pure, so it can be fuzzed: anyone who can push to
// the repository can write that tag.
func parseReferrersIndex(raw []byte) ([]ocispec.Descriptor, error) {
	if len(raw) > spec.MaxManifestSize {
		return nil, fmt.Errorf("%d bytes, over the limit of %d", len(raw), spec.MaxManifestSize)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if len(idx.Manifests) > spec.MaxReferrers {
		return nil, fmt.Errorf("lists %d referrers, more than %d", len(idx.Manifests), spec.MaxReferrers)
	}
	return idx.Manifests, nil
}

// PutManifest PUTs a manifest (or index) under reference (its digest or a
// tag) and reports whether the registry answered with OCI-Subject, that is,
// processed the subject itself (referrers API).
func (r *Repository) PutManifest(ctx context.Context, desc ocispec.Descriptor, raw []byte, reference string) (bool, error) {
	u := r.URL() + "/manifests/" + reference
	resp, err := r.do(ctx, http.MethodPut, u, raw, http.Header{"Content-Type": {desc.MediaType}}, auth.ActionPull, auth.ActionPush)
	if err != nil {
		return false, err
	}
	defer drainClose(resp.Body)
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return false, responseError(resp)
	}
	if d := resp.Header.Get("Docker-Content-Digest"); d != "" && d != desc.Digest.String() {
		return false, fmt.Errorf("PUT %s: the registry stored digest %s, want %s", reference, d, desc.Digest)
	}
	return resp.Header.Get("OCI-Subject") != "", nil
}

// PushReferrer PUTs a manifest that has subject and makes it discoverable:
// nothing more on a registry with the referrers API, else the referrers
// tag schema index is maintained with a read-merge-verify protocol that is
// safe across processes with no lock:
//
//  1. the index is read in parallel with the manifest PUT (once the
//     registry is known to lack the API);
//  2. every entry ever seen plus the new one is written back (entries are
//     never removed, old indexes never deleted);
//  3. after a settle delay (jittered, at least Settle.Factor times this
//     writer's own read-to-write time and Settle.Min) the index is read
//     again; if any entry this writer has seen is missing, because a
//     concurrent writer replaced the tag from an older read, it merges and
//     writes again and repeats, up to Settle.Attempts writes.
//
// Guarantees: when PushReferrer returns nil, the new entry and every entry
// this writer saw were in the index at its last read. Concurrent writers,
// each following this protocol, all end up in the index as long as each
// one's read-to-write time stays below the others' settle delay. It cannot
// protect an entry from a writer that does not follow it writing from a
// stale read after this writer's last check, nor from a registry that
// serves stale reads for longer than the settle delay. Since entries are
// never removed, one deleted by another tool during a push may be
// restored. When the index does not settle, the error wraps ErrUnsettled:
// the manifest is stored regardless.
func (r *Repository) PushReferrer(ctx context.Context, desc ocispec.Descriptor, raw []byte, subject ocispec.Descriptor) error {
	if r.Cap.load() == unsupported {
		snap, err := r.putReadingIndex(ctx, desc, raw, subject)
		if err != nil {
			return err
		}
		return r.addToIndex(ctx, subject, desc, snap)
	}
	ociSubject, err := r.PutManifest(ctx, desc, raw, desc.Digest.String())
	if err != nil {
		return fmt.Errorf("push manifest %s to %s: %w", desc.Digest, r, err)
	}
	if ociSubject {
		r.Cap.set(supported)
		return nil
	}
	if r.Cap.load() == unknown {
		if err := r.Probe(ctx, subject, desc.ArtifactType); err != nil {
			return err
		}
	}
	if r.Cap.load() == supported {
		return nil
	}
	return r.addToIndex(ctx, subject, desc, nil)
}

// putReadingIndex PUTs a manifest on a known fallback registry and reads
// subject's index meanwhile, which keeps this writer's read-to-write time
// (and so the settle delay) short.
func (r *Repository) putReadingIndex(ctx context.Context, desc ocispec.Descriptor, raw []byte, subject ocispec.Descriptor) (*IndexSnapshot, error) {
	var snap *IndexSnapshot
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if _, err := r.PutManifest(gctx, desc, raw, desc.Digest.String()); err != nil {
			return fmt.Errorf("push manifest %s to %s: %w", desc.Digest, r, err)
		}
		return nil
	})
	g.Go(func() (err error) {
		snap, err = r.ReadIndex(gctx, subject)
		return err
	})
	return snap, g.Wait()
}

// addToIndex adds entry to subject's referrers tag schema index with the
// read-merge-write-verify protocol PushReferrer documents. snap is a read
// of the index taken no earlier than the manifest PUT began, or nil.
func (r *Repository) addToIndex(ctx context.Context, subject, entry ocispec.Descriptor, snap *IndexSnapshot) error {
	tag, err := ReferrersTag(subject)
	if err != nil {
		return err
	}
	if snap == nil {
		if snap, err = r.ReadIndex(ctx, subject); err != nil {
			return err
		}
	}
	known := newEntrySet()
	known.add(entry)
	for attempt := 0; ; attempt++ {
		known.addAll(snap.entries)
		missing := known.missingFrom(snap.entries)
		if len(missing) == 0 {
			return nil // every entry this writer knows is in the index
		}
		if attempt >= r.Settle.Attempts {
			return fmt.Errorf("%w: the signature %s is stored in %s, but after %d writes the index %s still misses %d entries (other writers keep replacing it); push the same signature again to re-index it",
				ErrUnsettled, entry.Digest, r, attempt, tag, len(missing))
		}
		entries := append(append([]ocispec.Descriptor{}, snap.entries...), missing...)
		if len(entries) > spec.MaxReferrers {
			return fmt.Errorf("the referrers index %s in %s would list more than %d referrers", tag, r, spec.MaxReferrers)
		}
		idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: entries}
		raw, err := json.Marshal(idx)
		if err != nil {
			return err
		}
		if len(raw) > spec.MaxManifestSize {
			return fmt.Errorf("the referrers index %s in %s would be over %d bytes", tag, r, spec.MaxManifestSize)
		}
		desc := content.NewDescriptorFromBytes(ocispec.MediaTypeImageIndex, raw)
		if _, err := r.PutManifest(ctx, desc, raw, tag); err != nil {
			return fmt.Errorf("write the referrers index %s to %s: %w", tag, r, err)
		}
		if err := sleep(ctx, r.Settle.delay(time.Since(snap.at))); err != nil {
			return err
		}
		if snap, err = r.ReadIndex(ctx, subject); err != nil {
			return err
		}
	}
}

// delay is the jittered wait after a write whose read-to-write time was
// span: uniformly in [d, 2d) with d = max(min, factor*span), capped at max.
func (c Settle) delay(span time.Duration) time.Duration {
	d := max(c.Min, time.Duration(c.Factor)*span)
	d += rand.N(d)
	return min(d, c.Max)
}

func sleep(ctx context.Context, d time.Duration) error {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// entrySet is an ordered set of descriptors keyed by digest.
type entrySet struct {
	order []ocispec.Descriptor
	has   map[string]bool
}

func newEntrySet() *entrySet { return &entrySet{has: map[string]bool{}} }

func (s *entrySet) add(d ocispec.Descriptor) {
	if d.Digest == "" || s.has[d.Digest.String()] {
		return
	}
	s.has[d.Digest.String()] = true
	s.order = append(s.order, d)
}

func (s *entrySet) addAll(ds []ocispec.Descriptor) {
	for _, d := range ds {
		s.add(d)
	}
}

// missingFrom returns the known entries that ds lacks, in the order first seen.
func (s *entrySet) missingFrom(ds []ocispec.Descriptor) []ocispec.Descriptor {
	in := make(map[string]bool, len(ds))
	for _, d := range ds {
		in[d.Digest.String()] = true
	}
	var out []ocispec.Descriptor
	for _, d := range s.order {
		if !in[d.Digest.String()] {
			out = append(out, d)
		}
	}
	return out
}
