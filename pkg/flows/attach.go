package flows

import (
	"context"
	"errors"
	"fmt"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/spec"
	"github.com/nv2-signing/nv2/pkg/trust"
)

// AttachResult is what Attach pushed.
type AttachResult struct {
	// Reference is repo@digest (or PATH@digest) of the signed artifact.
	Reference string
	Subject   ocispec.Descriptor
	Signature ocispec.Descriptor
	// Envelope is the envelope attached, decoded.
	Envelope *signature.Envelope
}

// AttachMismatchError: the envelope is intact but does not sign the
// artifact it was to be attached to. Nothing was pushed.
type AttachMismatchError struct {
	// Target is repo@digest of the artifact, Signed the descriptor the
	// envelope signs and SignedRef repo@digest of it.
	Target, SignedRef string
	Signed            ocispec.Descriptor
	Err               error
}

func (e *AttachMismatchError) Error() string {
	return fmt.Sprintf("the envelope cannot be attached to %s: %v", e.Target, e.Err)
}
func (e *AttachMismatchError) Unwrap() error { return e.Err }

// Attach pushes the envelope in sigFile as a signature of artifact, after
// checking that it is intact and signs exactly the digest artifact
// resolves to. Whether its signer is trusted is Verify's business.
func (c *Client) Attach(ctx context.Context, artifact Location, sigFile string) (*AttachResult, error) {
	envelope, err := readFileLimit(RoleSignature, sigFile, spec.MaxEnvelopeSize)
	if err != nil {
		return nil, err
	}
	t, subject, err := c.Resolve(ctx, artifact)
	if err != nil {
		return nil, err
	}
	env, err := trust.VerifyIntegrity(envelope, subject)
	var mismatch *trust.SubjectMismatchError
	if errors.As(err, &mismatch) {
		return nil, &AttachMismatchError{Target: t.Pinned(subject.Digest), Signed: mismatch.Signed, SignedRef: t.Pinned(mismatch.Signed.Digest), Err: err}
	}
	if err != nil {
		return nil, &FileError{Role: RoleSignature, Path: sigFile, Err: &IntegrityError{Err: err}}
	}
	sig, err := pushSignature(ctx, t, subject, envelope, signature.ArtifactOptions{Thumbprints: nvcrypto.Thumbprints(env.Chain)})
	if err != nil {
		return nil, err
	}
	return &AttachResult{Reference: t.Pinned(subject.Digest), Subject: subject, Signature: sig, Envelope: env}, nil
}
