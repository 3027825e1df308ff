package flows

import (
	"context"
	"crypto"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/spec"
	"github.com/nv2-signing/nv2/pkg/timestamp"
)

// SignOptions say what Sign signs, with what, and where the signature goes.
type SignOptions struct {
	// Signer signs; required (see LoadSigner).
	Signer *signature.Signer
	// Artifact is the artifact to sign, by tag or digest. A tag is resolved
	// once and its digest is signed. Exclusive with Manifest.
	Artifact Location
	// Manifest is a subject described offline (see ManifestFile): nothing
	// is resolved and nothing is pushed; SignatureOut is required.
	Manifest *ocispec.Descriptor
	// Expiry, when positive, makes the signature expire that long after
	// signing.
	Expiry time.Duration
	// Annotations are signed metadata (the payload's annotations).
	Annotations map[string]string
	// SignatureOut, when set, is a file the envelope is written to (mode
	// 0644, atomically) before anything is pushed.
	SignatureOut string
	// SignatureOnly signs and writes SignatureOut, pushing nothing.
	SignatureOnly bool
	// SigningAgent goes into the envelope (io.cncf.notary.signingAgent).
	SigningAgent string
	// JournalDir keeps each envelope until its push succeeds, so that Sign
	// called again after a failed push pushes the same envelope (one
	// signature, not two); "" disables it. See DefaultJournalDir.
	JournalDir string
	// Now is the signing time; time.Now when nil.
	Now func() time.Time
	// Timestamp, when set, asks its Time Stamping Authority for an RFC 3161
	// token over the signature value and checks it against its Roots
	// before anything is stored; the envelope carries the token. If the
	// TSA cannot be reached or its token does not verify, Sign fails (the
	// error wraps the timestamp package's) and nothing is pushed.
	Timestamp *timestamp.Client

	// Multi-platform images (see sign_recursive.go). Recursive signs an
	// image index and every manifest it lists, nested indexes too; Platform
	// signs only the index's manifest for that platform (see ParsePlatform).
	Recursive bool
	Platform  *ocispec.Platform
	// resolved, when set, is the subject already resolved: Sign resolves
	// nothing.
	resolved *resolvedSubject
}

// SignResult is what Sign did.
type SignResult struct {
	// Reference is repo@digest (or PATH@digest) of what was signed; empty
	// for a Manifest.
	Reference string
	Subject   ocispec.Descriptor
	// ResolvedTag is the tag Artifact named, when a tag was resolved.
	ResolvedTag string
	Algorithm   nvcrypto.Algorithm
	// Signature is the pushed signature manifest; nil when nothing was
	// pushed.
	Signature *ocispec.Descriptor
	// Envelope describes the envelope written to SignatureOut, if any.
	Envelope *ocispec.Descriptor
	// Resumed is the signing time of an envelope from an earlier Sign whose
	// push had not completed and that this call pushed; zero otherwise.
	Resumed time.Time
	// JournalErr is set when the envelope could not be journaled: a failed
	// push then cannot be resumed.
	JournalErr error

	// Multi-platform images (see sign_recursive.go). Platform is the
	// platform of what was signed, as the index lists it; Index is
	// repo@digest of the index that lists it. Children are the results of
	// a Recursive sign for every manifest the index lists, in index order.
	Platform *ocispec.Platform
	Index    string
	Children []*SignResult
}

// Sign signs the artifact opts name and stores the signature: as a referrer
// in its registry or OCI layout, in SignatureOut, or both. On error nothing
// was pushed unless the error is a *PushError. With Recursive or Platform,
// see signIndex: a Recursive sign can return a result with an error.
func (c *Client) Sign(ctx context.Context, opts SignOptions) (*SignResult, error) {
	if opts.Signer == nil {
		return nil, usagef("no signing key and certificate given")
	}
	if opts.Recursive || opts.Platform != nil {
		return c.signIndex(ctx, opts) // multi-platform: sign_recursive.go
	}
	if (opts.Manifest == nil) == (opts.Artifact.Ref == "") {
		return nil, usagef("sign either an artifact reference or a manifest")
	}
	if (opts.Manifest != nil || opts.SignatureOnly) && opts.SignatureOut == "" {
		return nil, usagef("signing without pushing needs a file to write the envelope to")
	}
	if opts.Expiry < 0 {
		return nil, usagef("expiry %s must be positive", opts.Expiry)
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	req := signature.SignRequest{Annotations: opts.Annotations, SigningTime: now(), SigningAgent: opts.SigningAgent}
	if opts.Expiry > 0 {
		req.Expiry = req.SigningTime.Add(opts.Expiry)
	}
	res := &SignResult{Algorithm: opts.Signer.Algorithm()}
	var t *Target
	if opts.Manifest != nil {
		req.Target = *opts.Manifest
	} else {
		var err error
		if t, req.Target, err = c.resolveSubject(ctx, opts); err != nil { // sign_recursive.go
			return nil, err
		}
		if t.Ref.Digest == "" {
			res.ResolvedTag = t.Ref.Tag
		}
		res.Reference = t.Pinned(req.Target.Digest)
	}
	res.Subject = req.Target
	push := opts.Manifest == nil && !opts.SignatureOnly
	env, signedAt, journal, err := c.envelope(ctx, opts, req, t, push, res)
	if err != nil {
		return nil, err
	}
	if opts.SignatureOut != "" {
		// Written first: the envelope is kept even if the push fails.
		if err := nvcrypto.WriteFileAtomic(opts.SignatureOut, env, 0o644, true); err != nil {
			return nil, &FileError{Role: RoleSignatureOut, Path: opts.SignatureOut, Err: err}
		}
		d := content.NewDescriptorFromBytes(spec.MediaTypeEnvelope, env)
		res.Envelope = &d
	}
	if !push {
		return res, nil
	}
	sig, err := pushSignature(ctx, t, req.Target, env, signature.ArtifactOptions{Thumbprints: nvcrypto.Thumbprints(opts.Signer.Chain()), Created: signedAt})
	if err != nil {
		return nil, &PushError{Err: err, Resumable: journal != nil}
	}
	journal.done()
	res.Signature = &sig
	return res, nil
}

// timestamperOf is c's Timestamp as a signer's hook, its errors wrapped in
// a *TimestampError.
func timestamperOf(c *timestamp.Client) signature.Timestamper {
	return func(ctx context.Context, message []byte, hash crypto.Hash) ([]byte, error) {
		token, err := c.Timestamp(ctx, message, hash)
		if err != nil {
			return nil, &TimestampError{URL: c.URL, Err: err}
		}
		return token, nil
	}
}

// envelope returns the envelope to store and its signing time: a journaled
// one whose push did not complete, when it may be resumed, else a new one.
func (c *Client) envelope(ctx context.Context, opts SignOptions, req signature.SignRequest, t *Target, push bool, res *SignResult) ([]byte, time.Time, *pendingSignature, error) {
	var journal *pendingSignature
	tsa := ""
	if opts.Timestamp != nil {
		tsa = opts.Timestamp.URL
		req.Timestamper = timestamperOf(opts.Timestamp)
	}
	if push && !t.Ref.IsLayout() {
		journal = pendingFor(opts.JournalDir, t.String(), req.Target, opts.Signer.Chain(), opts.Annotations, opts.Expiry, opts.SigningAgent, tsa)
		if env, at := journal.resume(req.Target, opts.Signer.Chain()[0], opts.Annotations, req.SigningTime); env != nil {
			res.Resumed = at
			return env, at, journal, nil
		}
	}
	env, err := opts.Signer.SignContext(ctx, req)
	if err != nil {
		return nil, time.Time{}, nil, err
	}
	if err := journal.save(env); err != nil {
		res.JournalErr = err
		journal = nil
	}
	return env, req.SigningTime, journal, nil
}
