package flows

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/opencontainers/go-digest"

	"github.com/nv2-signing/nv2/pkg/spec"
	"github.com/nv2-signing/nv2/pkg/trust"
)

// VerifyResult is the verdict for one artifact.
type VerifyResult struct {
	// Reference is the artifact as it was named.
	Reference string
	// Verified is repo@digest (PATH@digest, FILE@digest) of what verified:
	// what a pull should use. Set only when Err is nil.
	Verified string
	// Result is the trust decision with what led to it; nil when the
	// artifact could not be opened.
	*trust.Result
	// Platform, for a Location with a Platform, says which manifest the
	// index lists for it and whose signature verified it.
	Platform *PlatformVerdict
	// Err is nil when a trusted signature verified (or the policy skips
	// verification). Otherwise it wraps ErrNoSignature, ErrNotVerified,
	// ErrNotFound when the artifact does not exist (never ErrNoSignature),
	// or the error that kept verification from completing (never a pass).
	Err error
}

// verdict fills r from res; pin names the verified artifact by digest.
func (r *VerifyResult) verdict(res *trust.Result, pin func(digest.Digest) string) {
	r.Result = res
	switch res.Status {
	case trust.Verified, trust.Skipped:
		r.Verified = pin(res.Subject.Digest)
	case trust.NoSignature:
		r.Err = join(ErrNoSignature, res.Err)
	case trust.NotVerified:
		r.Err = join(ErrNotVerified, res.Err)
	default:
		if errors.Is(res.Err, ErrNotFound) {
			r.Err = res.Err // the artifact is not there: nothing to verify
			return
		}
		r.Err = join(fmt.Errorf("verification did not complete"), res.Err)
	}
}

// join wraps kind and cause (when there is one) in one error.
func join(kind, cause error) error {
	if cause == nil {
		return kind
	}
	return fmt.Errorf("%w: %w", kind, cause)
}

// Verify verifies each artifact of locs with v, concurrently (at most
// VerifyParallel at once) over the Client's one connection pool, and
// returns the verdicts in the order of locs. It never fails as a whole:
// each result carries its own error.
func (c *Client) Verify(ctx context.Context, v *trust.Verifier, locs ...Location) []VerifyResult {
	results := make([]VerifyResult, len(locs))
	sem := make(chan struct{}, VerifyParallel)
	var wg sync.WaitGroup
	for i, loc := range locs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = c.verifyOne(ctx, v, loc)
		}()
	}
	wg.Wait()
	return results
}

// VerifyParallel bounds the artifacts one Verify checks at once. Each one
// fetches up to 4 signatures at a time (trust.Verifier), so 8 keep the
// connection pool (16 idle connections a host) busy without queueing.
const VerifyParallel = 8

func (c *Client) verifyOne(ctx context.Context, v *trust.Verifier, loc Location) VerifyResult {
	if loc.Platform != nil {
		return c.verifyPlatform(ctx, v, loc) // verify_platform.go
	}
	r := VerifyResult{Reference: loc.Ref}
	t, err := c.openNamed(loc)
	if err != nil {
		r.Err = err
		return r
	}
	r.verdict(v.Verify(ctx, t, t.Scope(), t.Ref.Reference()), t.Pinned)
	return r
}

// VerifyDetached verifies the envelope in sigFile against the manifest in
// manifestFile (see ManifestFile for mediaType), with no network. Only a
// trust policy with scope "*" covers it. The result names the artifact
// FILE@digest.
func VerifyDetached(v *trust.Verifier, sigFile, manifestFile, mediaType string) VerifyResult {
	r := VerifyResult{Reference: manifestFile}
	subject, err := ManifestFile(manifestFile, mediaType)
	if err != nil {
		r.Err = err
		return r
	}
	envelope, err := readFileLimit(RoleSignature, sigFile, spec.MaxEnvelopeSize)
	if err != nil {
		r.Err = err
		return r
	}
	r.verdict(v.VerifyDetached("", envelope, subject), func(d digest.Digest) string { return manifestFile + "@" + d.String() })
	return r
}
