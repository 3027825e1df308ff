package distribution

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/nv2-signing/nv2/pkg/spec"
)

// Referrers API support of a repository, as learned from its answers.
const (
	unknown int32 = iota
	supported
	unsupported
)

// Capability records whether a repository serves the referrers API. It is
// learned from the OCI-Subject header of a manifest PUT or from a referrers
// GET, never from an extra request. It also remembers the blobs a client
// stored in the repository, so that later pushes skip them. It is safe for
// concurrent use; the zero value knows nothing.
type Capability struct {
	v      atomic.Int32
	stored sync.Map // digest -> true
}

func (c *Capability) load() int32 { return c.v.Load() }
func (c *Capability) set(v int32) { c.v.Store(v) }

// Unknown reports whether the repository's referrers API support is still
// unknown: then a push should Probe beside its uploads.
func (c *Capability) Unknown() bool { return c.load() == unknown }

// Supported reports whether the repository is known to serve the
// referrers API.
func (c *Capability) Supported() bool { return c.load() == supported }

// Unsupported reports whether the repository is known to lack the
// referrers API.
func (c *Capability) Unsupported() bool { return c.load() == unsupported }

// Stored reports whether the blob with digest d was stored in the
// repository by this client; MarkStored and Forget record and drop that.
func (c *Capability) Stored(d string) bool {
	_, ok := c.stored.Load(d)
	return ok
}

// MarkStored records that the blob with digest d is stored.
func (c *Capability) MarkStored(d string) { c.stored.Store(d, true) }

// Forget drops what MarkStored recorded for d.
func (c *Capability) Forget(d string) { c.stored.Delete(d) }

// errNoReferrersAPI means the registry answered that it has no referrers API.
const errNoReferrersAPI constError = "the registry has no referrers API"

// Referrers returns the referrers of subject as the registry lists them:
// every page of its referrers API, or, on a registry without it, the
// referrers tag schema index. artifactType is passed to the registry as a
// filter, which it may ignore.
func (r *Repository) Referrers(ctx context.Context, subject ocispec.Descriptor, artifactType string) ([]ocispec.Descriptor, error) {
	if r.Cap.load() != unsupported {
		refs, err := r.referrersByAPI(ctx, subject, artifactType)
		if !errors.Is(err, errNoReferrersAPI) {
			return refs, err
		}
	}
	snap, err := r.ReadIndex(ctx, subject)
	if err != nil {
		return nil, err
	}
	return snap.entries, nil
}

// referrersURL is the first page of the referrers API for subject.
func (r *Repository) referrersURL(subject ocispec.Descriptor, artifactType string) string {
	u := r.URL() + "/referrers/" + subject.Digest.String()
	if artifactType != "" {
		u += "?" + url.Values{"artifactType": {artifactType}}.Encode()
	}
	return u
}

// referrersByAPI reads every page of the referrers API, one request a page.
// It returns errNoReferrersAPI when the registry has no such API and
// records what it learned in r.Cap.
func (r *Repository) referrersByAPI(ctx context.Context, subject ocispec.Descriptor, artifactType string) ([]ocispec.Descriptor, error) {
	next := r.referrersURL(subject, artifactType)
	var all []ocispec.Descriptor
	seen := map[string]bool{}
	visited := map[string]bool{} // page URLs read: a link back to one is a loop
	for page := 0; next != ""; page++ {
		if page >= spec.MaxReferrerPages {
			return nil, fmt.Errorf("the referrers listing has more than %d pages", spec.MaxReferrerPages)
		}
		if key := pageKey(next); visited[key] {
			return nil, fmt.Errorf("the registry's next-page links loop back to %s after %d pages: refused", RedactURL(mustParseURL(next)), page)
		} else {
			visited[key] = true
		}
		idx, link, err := r.referrersPage(ctx, next, page == 0)
		if err != nil {
			return nil, err
		}
		for _, d := range idx.Manifests {
			if seen[d.Digest.String()] {
				continue
			}
			seen[d.Digest.String()] = true
			all = append(all, d)
		}
		if len(all) > spec.MaxReferrers {
			return nil, fmt.Errorf("the registry lists more than %d referrers", spec.MaxReferrers)
		}
		next = link
	}
	return all, nil
}

// Probe learns whether the repository has the referrers API with
// the one GET a listing would send anyway. A repository the registry does
// not know yet leaves the capability unknown.
func (r *Repository) Probe(ctx context.Context, subject ocispec.Descriptor, artifactType string) error {
	_, _, err := r.referrersPage(ctx, r.referrersURL(subject, artifactType), true)
	var er *errcode.ErrorResponse
	switch {
	case err == nil, errors.Is(err, errNoReferrersAPI):
		return nil
	case errors.As(err, &er) && er.StatusCode == http.StatusNotFound:
		return nil // NAME_UNKNOWN: a new repository; decide after the manifest PUT
	}
	return fmt.Errorf("query the referrers API of %s: %w", r, err)
}

// referrersPage reads one page of the referrers API and returns it with the
// URL of the next page ("" for the last).
func (r *Repository) referrersPage(ctx context.Context, u string, first bool) (*ocispec.Index, string, error) {
	resp, err := r.do(ctx, http.MethodGet, u, nil, http.Header{"Accept": {ocispec.MediaTypeImageIndex}}, auth.ActionPull)
	if err != nil {
		return nil, "", err
	}
	defer drainClose(resp.Body)
	if err := r.checkPage(resp, first); err != nil {
		return nil, "", err
	}
	if resp.ContentLength > spec.MaxManifestSize {
		return nil, "", fmt.Errorf("a referrers page is over %d bytes (Content-Length %d)", spec.MaxManifestSize, resp.ContentLength)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, spec.MaxManifestSize+1))
	if err != nil {
		return nil, "", fmt.Errorf("read referrers page: %w", err)
	}
	idx, err := parseReferrersPage(body)
	if err != nil {
		return nil, "", err
	}
	next, err := nextLink(resp.Request.URL, resp.Header.Values("Link"))
	if err != nil {
		return nil, "", err
	}
	return idx, next, nil
}

// checkPage checks the status and type of a referrers API answer and
// learns from it whether the API exists: an answer of the first page that
// says it does not is errNoReferrersAPI.
func (r *Repository) checkPage(resp *http.Response, first bool) error {
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		err := responseError(resp)
		var er *errcode.ErrorResponse
		if errors.As(err, &er) && hasCode(er, errcode.ErrorCodeNameUnknown) || !first {
			return err
		}
		r.Cap.set(unsupported)
		return errNoReferrersAPI
	case http.StatusMethodNotAllowed, http.StatusNotImplemented:
		if first {
			r.Cap.set(unsupported)
			return errNoReferrersAPI
		}
		return responseError(resp)
	default:
		return responseError(resp)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != ocispec.MediaTypeImageIndex {
		if first {
			r.Cap.set(unsupported)
			return errNoReferrersAPI
		}
		return fmt.Errorf("GET %s: answer of type %q, want %s", RedactURL(resp.Request.URL), mt, ocispec.MediaTypeImageIndex)
	}
	r.Cap.set(supported)
	return nil
}

// parseReferrersPage decodes one page of a referrers API answer, an image
// index of at most spec.MaxManifestSize bytes listing at most
// spec.MaxReferrers descriptors. It is pure, so it can be fuzzed: the page
// comes from the registry and is untrusted.
func parseReferrersPage(body []byte) (*ocispec.Index, error) {
	if len(body) > spec.MaxManifestSize {
		return nil, fmt.Errorf("a referrers page is over %d bytes", spec.MaxManifestSize)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(body, &idx); err != nil {
		return nil, fmt.Errorf("decode referrers page: %w", err)
	}
	if len(idx.Manifests) > spec.MaxReferrers {
		return nil, fmt.Errorf("a referrers page lists %d referrers, more than %d", len(idx.Manifests), spec.MaxReferrers)
	}
	return &idx, nil
}

// pageKey identifies a page URL however its query is spelled (order,
// escaping), so that a loop of links is seen as one.
func pageKey(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	u.RawQuery, u.Fragment, u.RawFragment = u.Query().Encode(), "", ""
	return u.String()
}

// mustParseURL parses a URL nv2 built or already parsed once.
func mustParseURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		return &url.URL{Opaque: "(invalid URL)"}
	}
	return u
}

// nextLink returns the rel="next" target of the Link header values links,
// resolved against base (the page's URL), or "". It refuses a link to
// another origin (scheme and host): the registry's answer is untrusted, and
// the next request carries the registry's credentials.
func nextLink(base *url.URL, links []string) (string, error) {
	for _, link := range links {
		for _, part := range strings.Split(link, ",") {
			part = strings.TrimSpace(part)
			if !strings.HasPrefix(part, "<") {
				continue
			}
			end := strings.IndexByte(part, '>')
			if end < 0 || !isNextRel(part[end+1:]) {
				continue
			}
			u, err := base.Parse(part[1:end])
			if err != nil {
				return "", fmt.Errorf("invalid Link header: %w", err)
			}
			if u.Scheme != base.Scheme || u.Host != base.Host {
				return "", fmt.Errorf("the registry's next-page link %q leaves %s: refused", RedactURL(u), base.Host)
			}
			return u.String(), nil
		}
	}
	return "", nil
}

// isNextRel reports whether Link parameters (`; rel="next"`) say "next".
func isNextRel(params string) bool {
	for _, p := range strings.Split(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "rel") {
			for _, r := range strings.Fields(strings.Trim(strings.TrimSpace(v), `"`)) {
				if strings.EqualFold(r, "next") {
					return true
				}
			}
		}
	}
	return false
}
