package flows

import (
	"context"
	"fmt"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/nv2-signing/nv2/pkg/registry"
	"github.com/nv2-signing/nv2/pkg/trust"
)

// PullOptions say what Pull verifies and where what verified goes.
type PullOptions struct {
	// Artifact is the registry reference to verify and pull (tag or digest).
	Artifact Location
	// Verifier decides trust; required.
	Verifier *trust.Verifier
	// Layout is the OCI image layout folder to copy into (created when
	// missing) and Tag the tag to give the artifact there; "" takes the
	// Artifact's tag.
	Layout, Tag string
	// Progress, when set, observes the copy into the layout.
	Progress func(registry.CopyEvent)
}

// PullResult is the verdict, and where the verified artifact went.
type PullResult struct {
	VerifyResult
	// Destination is PATH@digest in the layout, and Tag its tag there; set
	// only when pulled.
	Destination, Tag string
	// Copied describes the artifact copied.
	Copied *ocispec.Descriptor
	// Sent is what the copy stored.
	Sent CopyStats
}

// Pull verifies opts.Artifact (with its Platform, the manifest the index
// lists for it) and, only when it verifies, copies exactly the digest that
// verified (the tag is not resolved again) with its referrers
// into the OCI image layout. The error is VerifyResult.Err when
// verification failed; on any error the layout is left exactly as it was
// (and not created).
func (c *Client) Pull(ctx context.Context, opts PullOptions) (*PullResult, error) {
	if opts.Verifier == nil {
		return nil, usagef("no trust given to verify with")
	}
	if opts.Artifact.Layout {
		return nil, usagef("pull reads from a registry, not an OCI layout")
	}
	// Refuse an unusable folder before any request.
	if err := registry.CheckLayoutDir(opts.Layout); err != nil {
		return nil, err
	}
	src, err := c.openNamed(opts.Artifact)
	if err != nil {
		return nil, err
	}
	tag := opts.Tag
	if tag == "" {
		tag = src.Ref.Tag
	}
	res := &PullResult{VerifyResult: c.verifyOne(ctx, opts.Verifier, opts.Artifact)}
	if res.Err != nil {
		return res, res.Err
	}
	desc, err := registry.CopyToLayout(ctx, src.Storage, res.VerifiedDigest(), opts.Layout, tag, res.Sent.observers(opts.Progress)...)
	if err != nil {
		res.Err = fmt.Errorf("%s verified, but copying it failed: %w", res.Verified, err)
		return res, res.Err
	}
	res.Destination = registry.Reference{Layout: opts.Layout}.WithDigest(desc.Digest).String()
	res.Tag, res.Copied = tag, &desc
	return res, nil
}
