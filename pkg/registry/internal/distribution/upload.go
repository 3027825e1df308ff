package distribution

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote/auth"
)

// MaxSinglePost is the largest blob pushed with a single POST. Up to this
// size sending the content twice (on a registry that ignores it in the
// POST) costs less than the round trip it saves elsewhere.
const MaxSinglePost = 64 << 10

// PushBlob uploads b, described by desc, in as few requests as the
// registry allows: one POST /blobs/uploads/?digest=... carrying the content
// (the distribution spec's single-POST upload). A registry that supports it
// answers 201 and the blob is stored in one round trip; one that does not
// must answer 202 with an upload session, as for an empty POST, and the
// content is PUT there (two round trips, what oras-go always takes). No HEAD
// is sent first: for a blob this small, uploading it again costs no more
// than asking whether it exists.
func (r *Repository) PushBlob(ctx context.Context, desc ocispec.Descriptor, b []byte) error {
	if int64(len(b)) != desc.Size {
		return fmt.Errorf("blob %s: %d bytes, descriptor says %d", desc.Digest, len(b), desc.Size)
	}
	post := r.URL() + "/blobs/uploads/?" + url.Values{"digest": {desc.Digest.String()}}.Encode()
	hdr := http.Header{"Content-Type": {"application/octet-stream"}}
	resp, err := r.do(ctx, http.MethodPost, post, b, hdr, auth.ActionPull, auth.ActionPush)
	if err != nil {
		return err
	}
	defer drainClose(resp.Body)
	switch resp.StatusCode {
	case http.StatusCreated:
		if d := resp.Header.Get("Docker-Content-Digest"); d != "" && d != desc.Digest.String() {
			return fmt.Errorf("POST blob: the registry stored digest %s, want %s", d, desc.Digest)
		}
		return nil
	case http.StatusAccepted:
	default:
		return responseError(resp)
	}
	location, err := resp.Location()
	if err != nil {
		return fmt.Errorf("POST blob upload: %w", err)
	}
	// The session URL receives credentials: it must stay on the registry
	// (as oras-go checks, GHSA-jxpm-75mh-9fp7) and never leave HTTPS.
	if !sameHost(location, resp.Request.URL) {
		return fmt.Errorf("blob upload Location %q is on a different host than the registry %q: refused", location.Host, resp.Request.URL.Host)
	}
	if resp.Request.URL.Scheme == "https" && location.Scheme != "https" {
		return fmt.Errorf("blob upload Location %q downgrades from https: refused", RedactURL(location))
	}
	q := location.Query()
	q.Set("digest", desc.Digest.String())
	location.RawQuery = q.Encode()
	if a := resp.Request.Header.Get("Authorization"); a != "" {
		hdr.Set("Authorization", a) // the token of the POST, as oras-go does
	}
	put, err := r.do(ctx, http.MethodPut, location.String(), b, hdr, auth.ActionPull, auth.ActionPush)
	if err != nil {
		return err
	}
	defer drainClose(put.Body)
	if put.StatusCode != http.StatusCreated {
		return responseError(put)
	}
	return nil
}

// sameHost reports whether a and b name the same host and port, with the
// scheme's default port made explicit.
func sameHost(a, b *url.URL) bool {
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		if u.Scheme == "https" {
			return "443"
		}
		return "80"
	}
	return a.Hostname() == b.Hostname() && port(a) == port(b)
}
