package trust

import (
	"context"
	"fmt"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/nv2-signing/nv2/pkg/signature"
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
	res := &Result{Subject: subject}
	rule, err := v.rule(scope)
	if err != nil {
		res.Status, res.Err = Failed, err
		return res
	}
	res.Policy, res.Level = rule.Name, rule.Level
	if rule.Level == LevelSkip {
		res.Status = Skipped
		return res
	}
	res.Found, res.Tried = 1, 1
	r := v.Check(rule, envelope, subject)
	v.checkRevocation(context.Background(), rule, &r)
	r.Digest = digest.FromBytes(envelope)
	if r.Err == nil {
		res.Status, res.Signature = Verified, &r
		return res
	}
	res.Status, res.Rejected = NotVerified, []SignatureResult{r}
	res.Err = fmt.Errorf("the signature did not verify")
	return res
}
