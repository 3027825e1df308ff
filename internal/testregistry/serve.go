package testregistry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"

	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"
)

// NewGGCR returns go-containerregistry's registry with the referrers API, as
// Start(t, GGCR) runs it, for programs that serve it themselves (the
// benchmark registry, internal/cmd/nv2bench).
func NewGGCR() http.Handler {
	return ggcr.New(ggcr.WithReferrersSupport(true), ggcr.Logger(log.New(io.Discard, "", 0)))
}

// NewCounter returns a Counter in front of next.
func NewCounter(next http.Handler) *Counter { return &Counter{next: next} }

// PushTo pushes the image to host/repo over plain HTTP and tags it (when tag
// is not empty), as Push does, for programs that have no testing.TB.
func (img *Image) PushTo(ctx context.Context, host, repo, tag string) error {
	r, err := remote.NewRepository(host + "/" + repo)
	if err != nil {
		return err
	}
	r.PlainHTTP = true
	for _, d := range img.blobDescs {
		if err := r.Push(ctx, d, bytes.NewReader(img.Blobs[d.Digest])); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
			return fmt.Errorf("push blob: %w", err)
		}
	}
	if tag != "" {
		err = r.PushReference(ctx, img.Descriptor, bytes.NewReader(img.Manifest), tag)
	} else {
		err = r.Push(ctx, img.Descriptor, bytes.NewReader(img.Manifest))
	}
	if err != nil {
		return fmt.Errorf("push manifest: %w", err)
	}
	return nil
}
