package flows

import (
	"context"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/nv2-signing/nv2/pkg/revocation"
	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/spec"
	"github.com/nv2-signing/nv2/pkg/trust"
)

// InspectResult describes the signatures of an artifact.
type InspectResult struct {
	// Reference is repo@digest (or PATH@digest) of the artifact.
	Reference  string
	Subject    ocispec.Descriptor
	Signatures []InspectedSignature
}

// InspectedSignature is one signature as Inspect read it.
type InspectedSignature struct {
	Descriptor ocispec.Descriptor
	// Envelope is the decoded envelope; nil when Err is set.
	Envelope *signature.Envelope
	// Err says why the signature could not be read or is not intact.
	Err error
	// Revocation is what CheckRevocation found for the chain's certificates.
	Revocation []revocation.Result
}

// Inspect reads every signature of an artifact and checks each envelope's
// integrity. It makes no trust decision: that is Verify's.
func (c *Client) Inspect(ctx context.Context, artifact Location) (*InspectResult, error) {
	t, subject, err := c.Resolve(ctx, artifact)
	if err != nil {
		return nil, err
	}
	refs, err := t.Referrers(ctx, subject, spec.ArtifactTypeSignature)
	if err != nil {
		return nil, err
	}
	res := &InspectResult{Reference: t.Pinned(subject.Digest), Subject: subject, Signatures: make([]InspectedSignature, 0, len(refs))}
	for _, d := range refs {
		s := InspectedSignature{Descriptor: d}
		if sig, err := trust.FetchSignature(ctx, t, d); err != nil {
			s.Err = err
		} else {
			s.Envelope, s.Err = signature.Verify(sig.Envelope)
		}
		res.Signatures = append(res.Signatures, s)
	}
	return res, nil
}
