package trust

import (
	"context"
	"errors"
	"fmt"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/spec"
)

// SubjectMismatchError is returned when an envelope is intact but signs an
// artifact other than the one it is checked against.
type SubjectMismatchError struct {
	// Signed is the artifact the envelope signs (its targetArtifact).
	Signed ocispec.Descriptor
	// Subject is the artifact it was checked against.
	Subject ocispec.Descriptor
}

func (e *SubjectMismatchError) Error() string {
	switch {
	case e.Signed.Digest != e.Subject.Digest:
		return fmt.Sprintf("the signature is for another artifact: it signs %s, not %s", e.Signed.Digest, e.Subject.Digest)
	case e.Signed.Size != e.Subject.Size:
		return fmt.Sprintf("the signature names size %d, the artifact has %d", e.Signed.Size, e.Subject.Size)
	default:
		return fmt.Sprintf("the signature names media type %s, the artifact is %s", e.Signed.MediaType, e.Subject.MediaType)
	}
}

// VerifyIntegrity checks that envelope is an intact Notary Project envelope
// (signature.Verify) and that it signs exactly subject: the same digest, and
// the same size and media type when subject has them. It makes no trust
// decision: the signer may be anyone. A mismatch is a *SubjectMismatchError.
func VerifyIntegrity(envelope []byte, subject ocispec.Descriptor) (*signature.Envelope, error) {
	env, err := signature.Verify(envelope)
	if err != nil {
		return nil, err
	}
	t := env.Payload.TargetArtifact
	if t.Digest != subject.Digest ||
		(subject.Size != 0 && t.Size != subject.Size) ||
		(subject.MediaType != "" && t.MediaType != subject.MediaType) {
		return env, &SubjectMismatchError{Signed: t, Subject: subject}
	}
	return env, nil
}

// VerifyDetached checks one detached envelope (a signature kept as a file,
// not stored beside its artifact) for subject under the rule for scope, with
// the same checks and the same verdicts as Verify: Verified, Skipped (level
// skip), NotVerified (the envelope was checked and failed, Rejected says
// why) or Failed (no rule applies). scope is "" when the artifact is in no
// repository, as for a manifest file; only a "*" policy covers it.
// Subject needs a digest; its size and media type are compared when set.
// Result.Signature.Digest (or Rejected[0].Digest) is the envelope's digest.
// Only the revocation check, when the rule runs it, may use the network.
func (v *Verifier) VerifyDetached(scope string, envelope []byte, subject ocispec.Descriptor) *Result {
	res, rule := v.detachedRule(scope, subject)
	if rule == nil {
		return res
	}
	r := v.Check(rule, envelope, subject)
	v.checkRevocation(context.Background(), rule, &r)
	return detachedVerdict(res, envelope, r)
}

// detachedRule starts the verdict on a detached envelope for subject with
// the rule for scope. A nil rule means the verdict is already known: Failed
// (no rule applies) or Skipped (level skip).
func (v *Verifier) detachedRule(scope string, subject ocispec.Descriptor) (*Result, *Rule) {
	res := &Result{Subject: subject}
	rule, err := v.rule(scope)
	if err != nil {
		res.Status, res.Err = Failed, err
		return res, nil
	}
	res.Policy, res.Level = rule.Name, rule.Level
	if rule.Level == LevelSkip {
		res.Status = Skipped
		return res, nil
	}
	return res, rule
}

// detachedVerdict records the outcome r of checking the one detached
// envelope: Verified, or NotVerified with r as the reason.
func detachedVerdict(res *Result, envelope []byte, r SignatureResult) *Result {
	res.Found, res.Tried = 1, 1
	r.Digest = digest.FromBytes(envelope)
	if r.Err == nil {
		res.Status, res.Signature = Verified, &r
		return res
	}
	res.Status, res.Rejected = NotVerified, []SignatureResult{r}
	res.Err = fmt.Errorf("the signature did not verify")
	return res
}

// ErrNotBlob: the envelope signs an image manifest or index, not a blob.
var ErrNotBlob = errors.New("the signature is for an image manifest, not a blob")

// HashBlob reads the blob being verified and returns its digest, computed
// with alg, and its size in bytes.
type HashBlob func(alg digest.Algorithm) (digest.Digest, int64, error)

// VerifyBlob checks a detached blob signature under the rule for scope (the
// blob trust policy's name, "" for its global policy) with the checks and
// verdicts of VerifyDetached, after the steps the Notary Project adds for
// blobs: the envelope must be intact, its payload's digest must use the
// algorithm the signing key dictates (signature.BlobDigestAlgorithm), and
// the blob, hashed once with that algorithm by hash, must have that digest
// and size. mediaType, when set, must be the payload's media type; when not
// set, a payload naming an OCI or Docker manifest or index is refused
// (ErrNotBlob): that is an image's signature. hash is not called unless the
// envelope passed these checks, so a bad signature costs no read of the
// blob; an error from hash makes the status Failed.
func (v *Verifier) VerifyBlob(scope string, envelope []byte, mediaType string, hash HashBlob) *Result {
	res, rule := v.detachedRule(scope, ocispec.Descriptor{})
	if rule == nil {
		return res
	}
	env, err := signature.Verify(envelope)
	if err == nil {
		err = blobPayload(env, mediaType)
	}
	if err != nil {
		return detachedVerdict(res, envelope, SignatureResult{Envelope: env, Err: fmt.Errorf("integrity: %w", err)})
	}
	alg, _ := signature.BlobDigestAlgorithm(env.Algorithm) // checked by blobPayload
	d, size, err := hash(alg)
	if err != nil {
		res.Status, res.Err = Failed, err
		return res
	}
	res.Subject = ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: size}
	if t := env.Payload.TargetArtifact; t.Digest == d && t.Size != size {
		// Check compares no size of 0: an empty blob's is compared here.
		mismatch := &SubjectMismatchError{Signed: t, Subject: res.Subject}
		return detachedVerdict(res, envelope, SignatureResult{Envelope: env, Err: fmt.Errorf("integrity: %w", mismatch)})
	}
	r := v.Check(rule, envelope, res.Subject)
	v.checkRevocation(context.Background(), rule, &r)
	return detachedVerdict(res, envelope, r)
}

// blobPayload checks that an intact envelope's payload describes a blob as
// the blob signature format requires.
func blobPayload(env *signature.Envelope, mediaType string) error {
	t := env.Payload.TargetArtifact
	if spec.IsManifestType(t.MediaType) && mediaType != t.MediaType {
		return fmt.Errorf("%w: it signs %s of media type %s", ErrNotBlob, t.Digest, t.MediaType)
	}
	alg, err := signature.BlobDigestAlgorithm(env.Algorithm)
	if err != nil {
		return err
	}
	if t.Digest.Algorithm() != alg {
		return fmt.Errorf("the signed digest %s is not %s, the digest algorithm of a %s signature", t.Digest, alg, env.Algorithm)
	}
	return nil
}
