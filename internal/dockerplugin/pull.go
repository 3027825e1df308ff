package dockerplugin

import (
	"context"
	"io"

	"github.com/nv2-signing/nv2/pkg/flows"
	"github.com/nv2-signing/nv2/pkg/trust"
)

// PullOptions say what Pull verifies and pulls.
type PullOptions struct {
	// Name is NAME[:TAG|@DIGEST] as given to docker pull.
	Name string
	// Verifier decides trust; required.
	Verifier *trust.Verifier
	// Platform and Quiet are docker pull's --platform and --quiet.
	Platform string
	Quiet    bool
	// Verified, when set, is called with the verdict before anything is
	// pulled (and also when verification failed).
	Verified func(flows.VerifyResult)
	// Output receives docker's output.
	Output io.Writer
}

// PullResult is what Pull did.
type PullResult struct {
	flows.VerifyResult
	// Pinned is NAME@DIGEST that docker pulled; Tagged is NAME:TAG that
	// docker tag gave it ("" when pulled by digest).
	Pinned, Tagged string
}

// Pull verifies the image (of an image index, the manifest for
// opts.Platform, by default this machine's platform) and, only when it
// verifies, has docker pull exactly the digest that verified and tag it NAME:TAG. Nothing reaches the
// engine that did not verify: the error is then the verdict's.
func Pull(ctx context.Context, d *Docker, client *flows.Client, opts PullOptions) (*PullResult, error) {
	img, err := ParseImageName(opts.Name)
	if err != nil {
		return nil, &flows.UsageError{Err: err}
	}
	ref := img.Ref
	if ref.Reference() == "" {
		ref.Tag = "latest" // what docker pulls
	}
	// Multi-platform: verify the manifest docker pulls for its platform.
	loc := flows.Location{Ref: ref.String(), Platform: flows.DefaultPlatform()}
	if opts.Platform != "" {
		if loc.Platform, err = flows.ParsePlatform(opts.Platform); err != nil {
			return nil, err
		}
	}
	res := &PullResult{VerifyResult: client.Verify(ctx, opts.Verifier, loc)[0]}
	if opts.Verified != nil {
		opts.Verified(res.VerifyResult)
	}
	if res.Err != nil {
		return res, res.Err
	}
	res.Pinned = img.Raw + "@" + res.VerifiedDigest().String()
	args := []string{"pull"}
	if opts.Platform != "" {
		args = append(args, "--platform", opts.Platform)
	}
	if opts.Quiet {
		args = append(args, "--quiet")
	}
	if err := d.must(opts.Output, append(args, res.Pinned)...); err != nil {
		return res, err
	}
	if ref.Digest != "" {
		return res, nil
	}
	tagged := img.Raw + ":" + ref.Tag
	if err := d.must(opts.Output, "tag", res.Pinned, tagged); err != nil {
		return res, err
	}
	res.Tagged = tagged
	return res, nil
}
