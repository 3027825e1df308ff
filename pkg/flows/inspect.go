package flows

import (
	"context"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/nv2-signing/nv2/pkg/revocation"
	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/spec"
	"github.com/nv2-signing/nv2/pkg/timestamp"
	"github.com/nv2-signing/nv2/pkg/trust"
)

// InspectResult describes the signatures of an artifact.
type InspectResult struct {
	// Reference is repo@digest (or PATH@digest) of the artifact.
	Reference  string
	Subject    ocispec.Descriptor
	Signatures []InspectedSignature
	// Manifests, of an image index, are the manifests it lists (Subject
	// with its Platform), each with its signatures.
	Manifests []*InspectResult
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
	// Timestamp is what the envelope's timestamp token says (see
	// timestamp.Parse: read, not trusted); nil when it has none.
	// TimestampErr says why a token present could not be read.
	Timestamp    *timestamp.Timestamp
	TimestampErr error
}

// Inspect reads every signature of an artifact and checks each envelope's
// integrity; of an image index, those of every manifest it lists too. It
// makes no trust decision: that is Verify's.
func (c *Client) Inspect(ctx context.Context, artifact Location) (*InspectResult, error) {
	t, subject, err := c.Resolve(ctx, artifact)
	if err != nil {
		return nil, err
	}
	found, parents, err := overIndex(ctx, t, subject, func(ctx context.Context, d ocispec.Descriptor) (*InspectResult, error) {
		return inspectOne(ctx, t, d)
	})
	if err != nil {
		return nil, err
	}
	for i := 1; i < len(found); i++ {
		found[parents[i]].Manifests = append(found[parents[i]].Manifests, found[i])
	}
	return found[0], nil
}

// inspectOne reads the signatures of subject in t.
func inspectOne(ctx context.Context, t *Target, subject ocispec.Descriptor) (*InspectResult, error) {
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
		if s.Err == nil && len(s.Envelope.TimestampToken) > 0 {
			s.Timestamp, s.TimestampErr = timestamp.Parse(s.Envelope.TimestampToken, s.Envelope.SignatureValue)
		}
		res.Signatures = append(res.Signatures, s)
	}
	return res, nil
}

// all is r and every result in its Manifests, depth first.
func (r *InspectResult) all() []*InspectResult {
	out := []*InspectResult{r}
	for _, m := range r.Manifests {
		out = append(out, m.all()...)
	}
	return out
}
