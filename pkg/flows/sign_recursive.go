package flows

import (
	"context"
	"errors"
	"fmt"
	"sync"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/nv2-signing/nv2/pkg/registry"
)

// resolvedSubject is a manifest Sign signs without resolving anything.
type resolvedSubject struct {
	t    *Target
	desc ocispec.Descriptor
}

// resolveSubject is the subject of opts: the one already resolved, else
// opts.Artifact resolved once.
func (c *Client) resolveSubject(ctx context.Context, opts SignOptions) (*Target, ocispec.Descriptor, error) {
	if r := opts.resolved; r != nil {
		return r.t, r.desc, nil
	}
	return c.Resolve(ctx, opts.Artifact)
}

// signIndex is Sign with Recursive or Platform: it fetches the index
// opts.Artifact names once (one GET), then signs the index and every
// manifest it lists (Recursive), or only the platform's manifest
// (Platform). Each signature is a referrer of its own subject; they are
// made and pushed in parallel. When some fail, the result lists what was
// signed and the error joins every failure.
func (c *Client) signIndex(ctx context.Context, opts SignOptions) (*SignResult, error) {
	switch {
	case opts.Recursive && opts.Platform != nil:
		return nil, usagef("sign every platform of an index or one platform, not both")
	case opts.Manifest != nil || opts.SignatureOut != "" || opts.SignatureOnly:
		return nil, usagef("an image index and its platforms are signed in their registry or OCI layout: no manifest file or signature file")
	case opts.Expiry < 0:
		return nil, usagef("expiry %s must be positive", opts.Expiry)
	}
	t, err := c.openNamed(opts.Artifact)
	if err != nil {
		return nil, err
	}
	desc, raw, err := registry.FetchManifestReference(ctx, t.Storage, t.Ref.Reference())
	if err != nil {
		return nil, err
	}
	tag := ""
	if t.Ref.Digest == "" {
		tag = t.Ref.Tag
	}
	one := opts
	one.Recursive, one.Platform = false, nil
	if opts.Platform != nil {
		if !registry.IsIndex(desc.MediaType) {
			return nil, fmt.Errorf("%s is a single manifest (%s), not an image index: sign it without a platform", t.Pinned(desc.Digest), desc.MediaType)
		}
		m, err := pickPlatform(raw, desc, t.Pinned(desc.Digest), opts.Platform)
		if err != nil {
			return nil, err
		}
		one.resolved = &resolvedSubject{t: t, desc: m}
		res, err := c.Sign(ctx, one)
		if res != nil {
			res.ResolvedTag, res.Platform, res.Index = tag, m.Platform, t.Pinned(desc.Digest)
		}
		return res, err
	}
	var children []registry.IndexChild
	if registry.IsIndex(desc.MediaType) {
		if children, err = registry.IndexChildren(ctx, t.Storage, desc, raw); err != nil {
			return nil, err
		}
	}
	results := make([]*SignResult, 1+len(children))
	errs := make([]error, len(results))
	var wg sync.WaitGroup
	sem := make(chan struct{}, VerifyParallel)
	for i := range results {
		d := desc
		if i > 0 {
			d = children[i-1].Descriptor
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			o := one
			o.resolved = &resolvedSubject{t: t, desc: d}
			results[i], errs[i] = c.Sign(ctx, o)
			if results[i] != nil && i > 0 {
				results[i].Platform, results[i].Index = d.Platform, t.Pinned(children[i-1].Parent)
			}
		}()
	}
	wg.Wait()
	res := results[0]
	if res == nil {
		res = &SignResult{Reference: t.Pinned(desc.Digest), Subject: desc, Algorithm: opts.Signer.Algorithm()}
	}
	res.ResolvedTag = tag
	for _, r := range results[1:] {
		if r != nil {
			res.Children = append(res.Children, r)
		}
	}
	return res, errors.Join(errs...)
}
