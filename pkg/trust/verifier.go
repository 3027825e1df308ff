package trust

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/revocation"
	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/spec"
	"github.com/nv2-signing/nv2/pkg/timestamp"
)

// Status is the verdict for one artifact.
type Status string

const (
	// Verified: a signature passed every check the policy enforces.
	Verified Status = "verified"
	// Skipped: the policy's level is "skip"; nothing was checked.
	Skipped Status = "skipped"
	// NoSignature: the artifact has no signature at all.
	NoSignature Status = "no-signature"
	// NotVerified: signatures exist, but none passed.
	NotVerified Status = "not-verified"
	// Failed: verification could not complete (network, configuration).
	// Like NotVerified, it is never a pass.
	Failed Status = "error"
)

// Result is the verdict for one artifact and what led to it.
type Result struct {
	// Subject is the artifact verified; a pull should use its digest.
	Subject ocispec.Descriptor
	Status  Status
	// Policy names the trust policy applied ("--cert" for certificates given
	// directly) and Level its verification level.
	Policy, Level string
	// Signature is the signature that verified (Verified only).
	Signature *SignatureResult
	// Rejected are the signatures tried that did not verify, with reasons.
	Rejected []SignatureResult
	// Found is the number of signatures found; Tried how many were checked.
	Found, Tried int
	// Err says why the status is not Verified or Skipped.
	Err error
}

// SignatureResult is the outcome of checking one signature.
type SignatureResult struct {
	Digest   digest.Digest
	Envelope *signature.Envelope
	// Timestamp is the signature's trusted timestamp, when the rule checked
	// one and it verified.
	Timestamp *timestamp.Timestamp
	// Warnings are failed checks that the policy only logs.
	Warnings []string
	// Err is why the signature was rejected; nil when it verified.
	Err error
	// Revocation is what the revocation check found for each certificate
	// checked; nil when the check did not run (see checkRevocation).
	Revocation []revocation.Result
}

// Rule is what one verification trusts: the policy resolved for one
// repository, with its trust anchors loaded.
type Rule struct {
	Name, Level string
	Anchors     []*x509.Certificate
	// TSARoots are the trusted TSA root certificates (the policy's tsa
	// trust stores); none: timestamps are not checked.
	TSARoots []*x509.Certificate
	// VerifyTimestamp is the policy's verifyTimestamp: "" or
	// VerifyTimestampAlways, or VerifyTimestampAfterCertExpiry.
	VerifyTimestamp string
	identities      []identity // nil: any identity ("*")
	actions         map[string]string
}

// Verifier checks signatures against trust rules. Its zero value is not
// usable; make one with NewCertVerifier or NewPolicyVerifier. A Verifier is
// safe for concurrent use.
type Verifier struct {
	rule func(scope string) (*Rule, error)
	// Now returns the time used for expiry and validity; time.Now when nil.
	Now func() time.Time
	// Annotations, when set, must all appear with equal values in the
	// signed metadata of a signature for it to verify.
	Annotations map[string]string
	// Concurrency bounds parallel signature fetches (default 4).
	Concurrency int
	// MaxAttempts bounds how many signatures are fetched and checked for
	// one artifact (default 50), so that a flood of junk signatures cannot
	// make verification unbounded. Candidates whose thumbprint hint names a
	// trusted certificate are tried first.
	MaxAttempts int
	// EnvelopeBudget bounds, in bytes, what the envelopes being checked
	// hold in memory at once, shared by every Verify call of this Verifier
	// (default DefaultEnvelopeBudget): an envelope waits for room before
	// it is fetched. Set it before the first Verify.
	EnvelopeBudget int64

	budget budget
	// Revocation checks the revocation of the certificates of signatures
	// that pass every other check, when the rule's revocation action is
	// not skip; nil checks over the network with the default timeouts.
	Revocation *revocation.Checker
	// RevocationAction, when set (enforce, log or skip), replaces the
	// rule's revocation action, except at level skip.
	RevocationAction string
}

// NewCertVerifier trusts the given certificates directly, at the strict
// level, for any repository and any signer identity: a signature verifies
// when its chain contains or is issued by one of them. With tsaRoots, it
// also trusts those TSA roots as a tsa trust store with verifyTimestamp
// "always" would: every signature then needs a timestamp from one of them.
func NewCertVerifier(certs []*x509.Certificate, tsaRoots ...*x509.Certificate) *Verifier {
	r := &Rule{Name: "--cert", Level: LevelStrict, Anchors: certs, TSARoots: tsaRoots, actions: actions(LevelStrict, nil)}
	return &Verifier{rule: func(string) (*Rule, error) { return r, nil }}
}

// NewPolicyVerifier applies a trust policy document, loading the trust
// stores it names from cfg when a repository first needs them.
func NewPolicyVerifier(doc *PolicyDocument, cfg Config) *Verifier {
	return cachedRules(cfg, func(scope string) (*policyRule, error) {
		p, err := doc.PolicyFor(scope)
		if err != nil {
			return nil, err
		}
		return &policyRule{p.Name, p.SignatureVerification, p.TrustStores, p.TrustedIdentities}, nil
	})
}

// policyRule is what a policy entry, OCI or blob, says about trust.
type policyRule struct {
	name         string
	verification SignatureVerification
	stores, ids  []string
}

// cachedRules makes a Verifier whose rule for a scope is the policy entry
// find returns, with its trust stores loaded from cfg once per policy.
func cachedRules(cfg Config, find func(scope string) (*policyRule, error)) *Verifier {
	var mu sync.Mutex
	cache := map[string]*Rule{}
	return &Verifier{rule: func(scope string) (*Rule, error) {
		p, err := find(scope)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		defer mu.Unlock()
		if r, ok := cache[p.name]; ok {
			return r, nil
		}
		r := &Rule{Name: p.name, Level: p.verification.Level, VerifyTimestamp: p.verification.VerifyTimestamp,
			actions: actions(p.verification.Level, p.verification.Override)}
		for _, ts := range p.stores {
			certs, err := cfg.Certificates(ts)
			if err != nil {
				return nil, fmt.Errorf("trust policy %q: %w", p.name, err)
			}
			if strings.HasPrefix(ts, StoreTSA+":") {
				r.TSARoots = append(r.TSARoots, certs...)
			} else {
				r.Anchors = append(r.Anchors, certs...)
			}
		}
		for _, s := range p.ids {
			if s == "*" {
				r.identities = nil
				break
			}
			id, err := parseIdentity(s)
			if err != nil {
				return nil, fmt.Errorf("trust policy %q: %w", p.name, err)
			}
			r.identities = append(r.identities, id)
		}
		cache[p.name] = r
		return r, nil
	}}
}

// Rule returns the rule that applies to a repository ("host/path"; "" for
// an OCI image layout, which only a "*" policy covers).
func (v *Verifier) Rule(scope string) (*Rule, error) { return v.rule(scope) }

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// Verify finds the signatures of reference (a tag or a digest) in src and
// checks them against the rule for scope until one verifies. It resolves a
// tag once; every later step uses the digest, so the verdict is about
// exactly Result.Subject. Any error yields a status other than Verified.
func (v *Verifier) Verify(ctx context.Context, src Source, scope, reference string) *Result {
	res := &Result{}
	rule, err := v.rule(scope)
	if err != nil {
		res.Status, res.Err = Failed, err
		return res
	}
	res.Policy, res.Level = rule.Name, rule.Level
	refs, err := v.subjectAndReferrers(ctx, src, rule, reference, res)
	if err != nil || res.Status == Skipped {
		return res
	}
	res.Found = len(refs)
	if len(refs) == 0 {
		res.Status, res.Err = NoSignature, fmt.Errorf("%s has no signatures", res.Subject.Digest)
		return res
	}
	limit := v.MaxAttempts
	if limit <= 0 {
		limit = 50
	}
	v.tryAll(ctx, src, rule, res, orderCandidates(refs, rule.Anchors, limit))
	if res.Signature != nil {
		res.Status = Verified
		return res
	}
	res.Status = NotVerified
	switch {
	case ctx.Err() != nil:
		res.Status, res.Err = Failed, fmt.Errorf("verification did not complete: %w", ctx.Err())
	case res.Tried < res.Found:
		res.Err = fmt.Errorf("none of the %d signatures tried verified (of %d found; the limit is %d attempts, trusted-looking ones first)", res.Tried, res.Found, limit)
	default:
		res.Err = fmt.Errorf("none of the %d signatures verified", res.Found)
	}
	return res
}

// subjectAndReferrers sets res.Subject to the artifact reference names and
// lists its signatures. A tag is resolved first (one round trip), and the
// listing uses the digest it resolved to. A digest needs no resolve, but
// the payload's whole descriptor (digest, size and media type) must match
// the artifact's: its descriptor is read beside the listing, in the same
// round trip. Errors set res (Failed); level skip sets Skipped and lists
// nothing.
func (v *Verifier) subjectAndReferrers(ctx context.Context, src Source, rule *Rule, reference string, res *Result) ([]ocispec.Descriptor, error) {
	fail := func(err error) ([]ocispec.Descriptor, error) {
		res.Status, res.Err = Failed, err
		return nil, err
	}
	d, err := digest.Parse(reference)
	if err != nil {
		if res.Subject, err = src.Resolve(ctx, reference); err != nil {
			return fail(err)
		}
		if rule.Level == LevelSkip {
			res.Status = Skipped
			return nil, nil
		}
		refs, err := src.Referrers(ctx, res.Subject, spec.ArtifactTypeSignature)
		if err != nil {
			return fail(fmt.Errorf("listing the signatures of %s: %w", res.Subject.Digest, err))
		}
		return refs, nil
	}
	res.Subject = ocispec.Descriptor{Digest: d}
	if rule.Level == LevelSkip {
		res.Status = Skipped
		return nil, nil
	}
	var subject ocispec.Descriptor
	var refs []ocispec.Descriptor
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		subject, err = src.Resolve(gctx, reference)
		return err
	})
	g.Go(func() (err error) {
		if refs, err = src.Referrers(gctx, res.Subject, spec.ArtifactTypeSignature); err != nil {
			err = fmt.Errorf("listing the signatures of %s: %w", d, err)
		}
		return err
	})
	if err := g.Wait(); err != nil {
		return fail(err)
	}
	if subject.Digest != d {
		return fail(fmt.Errorf("%s answered %s for the digest %s", src, subject.Digest, d))
	}
	res.Subject = subject
	return refs, nil
}

// tryAll fetches and checks the candidates, group after group, and stops as
// soon as one verifies. Within a group, candidates are fetched in parallel
// (at most Concurrency at once) and the first to verify wins: the others
// are cancelled, so a slow or oversized signature cannot hold up a verdict
// that is already known. A group starts only when every candidate of the
// groups before it has failed, so the signatures whose hint names no
// trusted certificate cost no request while a hinted one can still verify.
func (v *Verifier) tryAll(ctx context.Context, src Source, rule *Rule, res *Result, groups [][]ocispec.Descriptor) {
	workers := v.Concurrency
	if workers <= 0 {
		workers = 4
	}
	for _, group := range groups {
		if ctx.Err() != nil || v.tryGroup(ctx, src, rule, res, group, workers) {
			return
		}
	}
}

// tryGroup tries one group of candidates; it reports whether one verified.
func (v *Verifier) tryGroup(ctx context.Context, src Source, rule *Rule, res *Result, group []ocispec.Descriptor, workers int) bool {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]*SignatureResult, len(group))
	won := -1
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
launch:
	for i, c := range group {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break launch
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r := v.fetchAndCheck(ctx, src, rule, res.Subject, c)
			mu.Lock()
			defer mu.Unlock()
			results[i] = r
			if r != nil && r.Err == nil && won < 0 {
				won = i
				cancel() // the outcome is known: stop the others
			}
		}()
	}
	wg.Wait()
	// Report in candidate order, whichever fetch finished first.
	for i, r := range results {
		if r == nil {
			continue // not started, or cancelled
		}
		res.Tried++
		switch {
		case i == won:
			res.Signature = r
		case r.Err != nil:
			res.Rejected = append(res.Rejected, *r)
		}
	}
	return won >= 0
}

func (v *Verifier) fetchAndCheck(ctx context.Context, src Source, rule *Rule, subject, desc ocispec.Descriptor) *SignatureResult {
	if ctx.Err() != nil {
		return nil
	}
	failed := func(err error) *SignatureResult {
		if ctx.Err() != nil {
			return nil
		}
		return &SignatureResult{Digest: desc.Digest, Err: fmt.Errorf("fetching signature: %w", err)}
	}
	m, raw, err := fetchSignatureManifest(ctx, src, desc)
	if err != nil {
		return failed(err)
	}
	release, err := v.budget.acquire(ctx, v.EnvelopeBudget, m.Layers[0].Size)
	if err != nil {
		return failed(err)
	}
	defer release()
	sig, err := fetchEnvelope(ctx, src, desc, m, raw)
	if err != nil {
		return failed(err)
	}
	r := v.Check(rule, sig.Envelope, subject)
	if v.checkRevocation(ctx, rule, &r); ctx.Err() != nil {
		return nil // cancelled: another signature verified
	}
	r.Digest = desc.Digest
	return &r
}

// Check verifies one envelope for subject under rule: integrity and that it
// signs exactly subject (always enforced), then authenticity, signing time
// against the certificate's validity (with a trusted timestamp when the rule
// asks for one), and expiry as the rule's level says,
// then the required annotations. Subject needs a digest; its media type and
// size are compared when set.
// It sends no request: Verify and VerifyDetached run the revocation check
// (checkRevocation) on a signature that passes Check.
func (v *Verifier) Check(rule *Rule, envelope []byte, subject ocispec.Descriptor) SignatureResult {
	var r SignatureResult
	env, err := VerifyIntegrity(envelope, subject)
	r.Envelope = env
	if err != nil {
		r.Err = fmt.Errorf("integrity: %w", err)
		return r
	}
	t := env.Payload.TargetArtifact
	now := v.now()
	check := func(name string, err error) bool {
		if err == nil {
			return true
		}
		switch rule.actions[name] {
		case actionEnforce:
			r.Err = fmt.Errorf("%s: %w", name, err)
			return false
		case actionLog:
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s: %v", name, err))
		}
		return true
	}
	if rule.actions[checkAuthenticity] != actionSkip && !check(checkAuthenticity, authentic(rule, env.Chain)) {
		return r
	}
	if rule.actions[checkAuthenticTimestamp] != actionSkip {
		ts, err := timely(rule, env, now)
		if !check(checkAuthenticTimestamp, err) {
			return r
		}
		r.Timestamp = ts
	}
	if rule.actions[checkExpiry] != actionSkip && !env.Expiry.IsZero() && now.After(env.Expiry) {
		if !check(checkExpiry, fmt.Errorf("the signature expired at %s", env.Expiry.Format(time.RFC3339))) {
			return r
		}
	}
	for k, want := range v.Annotations {
		got, ok := t.Annotations[k]
		if !ok {
			r.Err = fmt.Errorf("signed metadata: %q is required but the signature has no such annotation", k)
			return r
		}
		if got != want {
			r.Err = fmt.Errorf("signed metadata: %q is %q, required %q", k, got, want)
			return r
		}
	}
	return r
}

// authentic checks that the chain leads to a trusted certificate and that
// the signer is a trusted identity. Validity in time is timely's concern.
func authentic(rule *Rule, chain []*x509.Certificate) error {
	if len(rule.Anchors) == 0 {
		return errors.New("the policy trusts no certificate")
	}
	if err := nvcrypto.VerifyChainTo(chain, rule.Anchors, time.Time{}); err != nil {
		return err
	}
	if rule.identities == nil {
		return nil
	}
	for _, id := range rule.identities {
		if id.matches(chain[0]) {
			return nil
		}
	}
	return fmt.Errorf("the signer %q is not a trusted identity of the policy", chain[0].Subject.String())
}

// orderCandidates plans which signatures to try and in which groups (see
// tryAll): at most limit of them, those whose thumbprint annotation names a
// trusted certificate first. The first candidate is tried alone: it is the
// likely one, and it usually verifies, so the others cost no request. Then
// the rest of the hinted ones, then the others, each group in parallel.
// The annotation is only a hint: every candidate is fully verified,
// whatever it claims.
func orderCandidates(refs []ocispec.Descriptor, anchors []*x509.Certificate, limit int) [][]ocispec.Descriptor {
	trusted := map[string]bool{}
	for _, a := range anchors {
		trusted[nvcrypto.Thumbprint(a)] = true
	}
	var hintedRefs, rest []ocispec.Descriptor
	for _, d := range refs {
		if hinted(d, trusted) {
			hintedRefs = append(hintedRefs, d)
		} else {
			rest = append(rest, d)
		}
	}
	plan := append(hintedRefs, rest...)
	if len(plan) > limit {
		plan = plan[:limit]
	}
	if len(plan) == 0 {
		return nil
	}
	nHinted := min(len(hintedRefs), len(plan))
	groups := [][]ocispec.Descriptor{plan[:1]}
	if nHinted > 1 {
		groups = append(groups, plan[1:nHinted])
	}
	if from := max(nHinted, 1); from < len(plan) {
		groups = append(groups, plan[from:])
	}
	return groups
}

func hinted(d ocispec.Descriptor, trusted map[string]bool) bool {
	raw, ok := d.Annotations[spec.AnnotationThumbprints]
	if !ok || len(raw) > 64<<10 {
		return false
	}
	var tps []string
	if json.Unmarshal([]byte(raw), &tps) != nil {
		return false
	}
	for _, tp := range tps {
		if trusted[tp] {
			return true
		}
	}
	return false
}
