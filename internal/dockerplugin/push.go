package dockerplugin

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/nv2-signing/nv2/pkg/flows"
)

// PushOptions say what Push pushes and how it signs.
type PushOptions struct {
	// Name is NAME[:TAG] as given to docker push (":latest" when no tag).
	Name string
	// AllTags pushes every tag of Name (which then has no tag).
	AllTags bool
	// Platform, when set, pushes only that platform's manifest.
	Platform string
	// Sign is how each pushed digest is signed; its Artifact is set by Push.
	Sign flows.SignOptions
	// Output receives docker push's output.
	Output io.Writer
	// StoreDir keeps the signatures of local images (PushLocal).
	StoreDir string
}

// ErrNoPushDigest: docker push succeeded but printed no digest line, so
// what it pushed is unknown and nothing was signed.
var ErrNoPushDigest = errors.New("docker push printed no \"TAG: digest: sha256:... size: N\" line")

// UnsignedError: an image was pushed but signing it failed.
type UnsignedError struct {
	// Pinned is NAME@DIGEST of the pushed, unsigned image.
	Pinned string
	Err    error
}

func (e *UnsignedError) Error() string {
	return fmt.Sprintf("%s was pushed but not signed: %v", e.Pinned, e.Err)
}
func (e *UnsignedError) Unwrap() error { return e.Err }

// Push runs docker push and signs exactly each digest docker reports it
// pushed, through client. When docker push fails, nothing is signed and the
// error is an *ExitError with docker's code.
func Push(ctx context.Context, d *Docker, client *flows.Client, opts PushOptions) ([]*flows.SignResult, error) {
	img, err := ParseImageName(opts.Name)
	if err != nil {
		return nil, &flows.UsageError{Err: err}
	}
	tag := img.Ref.Tag
	switch {
	case img.Ref.Digest != "":
		return nil, &flows.UsageError{Err: errors.New("docker pushes tags: give NAME[:TAG], not a digest")}
	case opts.AllTags && tag != "":
		return nil, &flows.UsageError{Err: fmt.Errorf("pushing all tags takes a NAME without a tag; got %q", opts.Name)}
	case !opts.AllTags && tag == "":
		tag = "latest" // what docker pushes
	}
	args := []string{"push"}
	if opts.AllTags {
		args = append(args, "--all-tags")
	}
	if opts.Platform != "" {
		args = append(args, "--platform", opts.Platform)
	}
	var lines pushLines
	if err := d.must(teeWriter{opts.Output, &lines}, append(args, opts.Name)...); err != nil {
		return nil, err
	}
	digests := lines.digests(tag)
	if len(digests) == 0 {
		return nil, ErrNoPushDigest
	}
	var out []*flows.SignResult
	for _, dg := range digests {
		pinned := img.Ref.WithDigest(dg).String()
		sign := opts.Sign
		sign.Artifact = flows.Location{Ref: pinned}
		res, err := client.Sign(ctx, sign)
		if err != nil {
			return out, &UnsignedError{Pinned: pinned, Err: err}
		}
		out = append(out, res)
	}
	return out, nil
}
