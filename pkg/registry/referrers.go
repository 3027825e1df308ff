package registry

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

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
	orasregistry "oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/nv2-signing/nv2/pkg/spec"
)

// constError is an error that can be a constant.
type constError string

func (e constError) Error() string { return string(e) }

// errNoReferrersAPI means the registry answered that it has no referrers API.
const errNoReferrersAPI constError = "the registry has no referrers API"

// Referrers lists the manifests whose subject is subject: every page of the
// registry's referrers API, or, on a registry without it, the referrers tag
// schema index; in a layout, the manifests it holds. With artifactType set,
// only referrers of that type are returned; "" returns all, as the registry
// describes them.
//
// The type is decided correctly even when a registry misreports it: a
// descriptor of the wanted type counts; one whose reported type is empty or
// the empty-config type (what go-containerregistry reports for a manifest
// with artifactType and an empty config) is decided from its manifest,
// fetched in parallel. Returned descriptors keep their annotations (the
// thumbprint hints). At most spec.MaxReferrers are read; more is an error.
func (t *Target) Referrers(ctx context.Context, subject ocispec.Descriptor, artifactType string) ([]ocispec.Descriptor, error) {
	if err := subject.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("list referrers in %s: invalid subject digest %q: %w", t, subject.Digest, err)
	}
	refs, err := t.listReferrers(ctx, subject, artifactType)
	if err != nil {
		return nil, t.fail(err, "list referrers of %s in %s", subject.Digest, t)
	}
	refs, err = t.filterReferrers(ctx, refs, artifactType)
	if err != nil {
		return nil, t.fail(err, "list referrers of %s in %s", subject.Digest, t)
	}
	return refs, nil
}

// listReferrers returns the referrers as the registry or layout lists them.
// artifactType is passed to the registry as a filter (which it may ignore).
func (t *Target) listReferrers(ctx context.Context, subject ocispec.Descriptor, artifactType string) ([]ocispec.Descriptor, error) {
	if t.layout != "" {
		s, err := t.layoutStore(false)
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if subject.MediaType == "" {
			// Named by digest alone: the layout knows what it is, at no cost.
			if subject, err = s.Resolve(ctx, subject.Digest.String()); err != nil {
				return nil, err
			}
		}
		if !isManifestType(subject.MediaType) {
			return nil, fmt.Errorf("subject %s has media type %q, not a manifest's", subject.Digest, subject.MediaType)
		}
		return orasregistry.Referrers(ctx, s, subject, "")
	}
	if t.cap.load() != capUnsupported {
		refs, err := t.referrersByAPI(ctx, subject, artifactType)
		if !errors.Is(err, errNoReferrersAPI) {
			return refs, err
		}
	}
	snap, err := t.readIndex(ctx, subject)
	if err != nil {
		return nil, err
	}
	return snap.entries, nil
}

// filterReferrers keeps the referrers of artifactType, in order, deciding
// ambiguous ones from their manifests (see Referrers).
func (t *Target) filterReferrers(ctx context.Context, refs []ocispec.Descriptor, artifactType string) ([]ocispec.Descriptor, error) {
	if artifactType == "" {
		return refs, nil
	}
	keep := make([]bool, len(refs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxParallel)
	for i, d := range refs {
		switch {
		case d.ArtifactType == artifactType:
			keep[i] = true
		case (d.ArtifactType == "" || d.ArtifactType == spec.MediaTypeEmptyJSON) && isManifestType(d.MediaType):
			g.Go(func() error {
				raw, err := t.fetchVerified(gctx, d, spec.MaxManifestSize)
				if errors.Is(err, ErrNotFound) {
					return nil // a dangling index entry: nothing to list
				}
				if err != nil {
					return fmt.Errorf("read referrer %s to learn its type: %w", d.Digest, err)
				}
				at, _, err := artifactTypeOf(raw)
				if err == nil && at == artifactType {
					refs[i].ArtifactType = at
					keep[i] = true
				}
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := make([]ocispec.Descriptor, 0, len(refs))
	for i, d := range refs {
		if keep[i] {
			out = append(out, d)
		}
	}
	return out, nil
}

// referrersURL is the first page of the referrers API for subject.
func (t *Target) referrersURL(subject ocispec.Descriptor, artifactType string) string {
	u := t.repositoryURL() + "/referrers/" + subject.Digest.String()
	if artifactType != "" {
		u += "?" + url.Values{"artifactType": {artifactType}}.Encode()
	}
	return u
}

// referrersByAPI reads every page of the referrers API, one request a page.
// It returns errNoReferrersAPI when the registry has no such API and
// records what it learned in t.cap.
func (t *Target) referrersByAPI(ctx context.Context, subject ocispec.Descriptor, artifactType string) ([]ocispec.Descriptor, error) {
	next := t.referrersURL(subject, artifactType)
	var all []ocispec.Descriptor
	seen := map[string]bool{}
	visited := map[string]bool{} // page URLs read: a link back to one is a loop
	for page := 0; next != ""; page++ {
		if page >= spec.MaxReferrerPages {
			return nil, fmt.Errorf("the referrers listing has more than %d pages", spec.MaxReferrerPages)
		}
		if key := pageKey(next); visited[key] {
			return nil, fmt.Errorf("the registry's next-page links loop back to %s after %d pages: refused", redactURL(mustParseURL(next)), page)
		} else {
			visited[key] = true
		}
		idx, link, err := t.referrersPage(ctx, next, page == 0)
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

// probeReferrersAPI learns whether the repository has the referrers API with
// the one GET a listing would send anyway. A repository the registry does
// not know yet leaves the capability unknown.
func (t *Target) probeReferrersAPI(ctx context.Context, subject ocispec.Descriptor) error {
	_, _, err := t.referrersPage(ctx, t.referrersURL(subject, spec.ArtifactTypeSignature), true)
	var er *errcode.ErrorResponse
	switch {
	case err == nil, errors.Is(err, errNoReferrersAPI):
		return nil
	case errors.As(err, &er) && er.StatusCode == http.StatusNotFound:
		return nil // NAME_UNKNOWN: a new repository; decide after the manifest PUT
	}
	return t.fail(err, "query the referrers API of %s", t)
}

// referrersPage reads one page of the referrers API and returns it with the
// URL of the next page ("" for the last).
func (t *Target) referrersPage(ctx context.Context, u string, first bool) (*ocispec.Index, string, error) {
	resp, err := t.do(ctx, http.MethodGet, u, nil, http.Header{"Accept": {ocispec.MediaTypeImageIndex}}, auth.ActionPull)
	if err != nil {
		return nil, "", err
	}
	defer drainClose(resp.Body)
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		err := responseError(resp)
		var er *errcode.ErrorResponse
		if errors.As(err, &er) && hasCode(er, errcode.ErrorCodeNameUnknown) {
			return nil, "", err
		}
		if first {
			t.cap.set(capUnsupported)
			return nil, "", errNoReferrersAPI
		}
		return nil, "", err
	case http.StatusMethodNotAllowed, http.StatusNotImplemented:
		if first {
			t.cap.set(capUnsupported)
			return nil, "", errNoReferrersAPI
		}
		return nil, "", responseError(resp)
	default:
		return nil, "", responseError(resp)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != ocispec.MediaTypeImageIndex {
		if first {
			t.cap.set(capUnsupported)
			return nil, "", errNoReferrersAPI
		}
		return nil, "", fmt.Errorf("GET %s: answer of type %q, want %s", redactURL(resp.Request.URL), mt, ocispec.MediaTypeImageIndex)
	}
	t.cap.set(capSupported)
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
				return "", fmt.Errorf("the registry's next-page link %q leaves %s: refused", redactURL(u), base.Host)
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

func hasCode(er *errcode.ErrorResponse, code string) bool {
	for _, e := range er.Errors {
		if e.Code == code {
			return true
		}
	}
	return false
}

// drainClose reads a little of what is left so the connection can be
// reused, then closes.
func drainClose(rc io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(rc, 64<<10))
	_ = rc.Close()
}

// Node is an artifact in a tree of referrers.
type Node struct {
	ocispec.Descriptor
	// Referrers are the artifacts whose subject is this one.
	Referrers []*Node
}

// ReferrersTree returns subject with its referrers, their referrers, and so
// on, down to depth levels (depth <= 0: all levels). artifactType filters
// every level as in Referrers. An artifact reached twice is listed once,
// which also stops cycles a misbehaving registry could report; at most
// spec.MaxReferrers nodes are read. The referrers of one level are listed in
// parallel; on a registry without the referrers API, one tag listing tells
// which artifacts of a large level have any (see indexTags).
func (t *Target) ReferrersTree(ctx context.Context, subject ocispec.Descriptor, artifactType string, depth int) (*Node, error) {
	root := &Node{Descriptor: subject}
	seen := map[string]bool{subject.Digest.String(): true}
	level := []*Node{root}
	total := 0
	for d := 1; len(level) > 0 && (depth <= 0 || d <= depth); d++ {
		lists := make([][]ocispec.Descriptor, len(level))
		tags := t.indexTags(ctx, len(level)) // nil: ask about every node
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(maxParallel)
		var mu sync.Mutex
		for i, n := range level {
			if !isManifestType(n.MediaType) {
				continue
			}
			if tag, err := referrersTag(n.Descriptor); tags != nil && err == nil && !tags[tag] {
				continue // no referrers tag schema index: no referrers
			}
			g.Go(func() error {
				refs, err := t.Referrers(gctx, n.Descriptor, artifactType)
				mu.Lock()
				lists[i] = refs
				mu.Unlock()
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
		var next []*Node
		for i, n := range level {
			for _, r := range lists[i] {
				if seen[r.Digest.String()] {
					continue
				}
				seen[r.Digest.String()] = true
				total++
				if total > spec.MaxReferrers {
					return nil, fmt.Errorf("referrers tree of %s in %s has more than %d nodes", subject.Digest, t, spec.MaxReferrers)
				}
				c := &Node{Descriptor: r}
				n.Referrers = append(n.Referrers, c)
				next = append(next, c)
			}
		}
		level = next
	}
	return root, nil
}
