package testregistry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/nv2-signing/nv2/pkg/spec"
)

// Envelope is a signature envelope made by a test, with the SHA-256
// thumbprints of its certificate chain (the manifest's hint annotation).
type Envelope struct {
	Data        []byte
	Thumbprints []string
}

// PushSignatures stores n signature manifests of subject in host/repo (plain
// HTTP) quickly, for scale tests and benchmarks: the envelopes' blobs once,
// then n manifests in nv2's format, 16 at a time, manifest i carrying
// envelope i%len(envs) and a creation time of its own so that every manifest
// has its own digest. On a registry without the referrers API (its referrers
// GET answers 404) the referrers tag schema index is then written once,
// with the entries already there kept first. Only one writer may run at a
// time: this is test setup, not nv2's concurrent-safe push.
func PushSignatures(ctx context.Context, host, repo string, subject ocispec.Descriptor, envs []Envelope, n int) ([]ocispec.Descriptor, error) {
	if len(envs) == 0 {
		return nil, errors.New("PushSignatures: no envelope")
	}
	r, err := remote.NewRepository(host + "/" + repo)
	if err != nil {
		return nil, err
	}
	r.PlainHTTP = true
	r.SkipReferrersGC = true
	// Manifests are pushed as they are: the index is written below, once.
	if err := r.SetReferrersCapability(true); err != nil {
		return nil, err
	}
	config := content.NewDescriptorFromBytes(spec.ArtifactTypeSignature, []byte("{}"))
	if err := r.Push(ctx, config, strings.NewReader("{}")); err != nil {
		return nil, fmt.Errorf("push config: %w", err)
	}
	layers := make([]ocispec.Descriptor, len(envs))
	for i, e := range envs {
		layers[i] = content.NewDescriptorFromBytes(spec.MediaTypeEnvelope, e.Data)
		if err := r.Push(ctx, layers[i], bytes.NewReader(e.Data)); err != nil {
			return nil, fmt.Errorf("push envelope: %w", err)
		}
	}
	subj := ocispec.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]ocispec.Descriptor, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range n {
		e := envs[i%len(envs)]
		tps, _ := json.Marshal(e.Thumbprints)
		annotations := map[string]string{
			spec.AnnotationThumbprints: string(tps),
			spec.AnnotationCreated:     base.Add(time.Duration(i) * time.Second).Format(time.RFC3339),
		}
		m := ocispec.Manifest{
			Versioned:    specs.Versioned{SchemaVersion: 2},
			MediaType:    ocispec.MediaTypeImageManifest,
			ArtifactType: spec.ArtifactTypeSignature,
			Config:       config,
			Layers:       []ocispec.Descriptor{layers[i%len(layers)]},
			Subject:      &subj,
			Annotations:  annotations,
		}
		raw, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		d := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, raw)
		d.ArtifactType, d.Annotations = spec.ArtifactTypeSignature, annotations
		out[i] = d
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := r.Push(ctx, d, bytes.NewReader(raw)); err != nil {
				errs <- fmt.Errorf("push signature manifest %d: %w", i, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	hasAPI, err := hasReferrersAPI(ctx, host, repo, subject)
	if err != nil || hasAPI {
		return out, err
	}
	return out, appendToIndex(ctx, r, subject, out)
}

// hasReferrersAPI asks the registry's referrers API about subject.
func hasReferrersAPI(ctx context.Context, host, repo string, subject ocispec.Descriptor) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+"/v2/"+repo+"/referrers/"+subject.Digest.String(), nil)
	if err != nil {
		return false, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK && strings.HasPrefix(resp.Header.Get("Content-Type"), ocispec.MediaTypeImageIndex), nil
}

// appendToIndex writes subject's referrers tag schema index: the entries it
// holds now, then add.
func appendToIndex(ctx context.Context, r *remote.Repository, subject ocispec.Descriptor, add []ocispec.Descriptor) error {
	tag := "sha256-" + subject.Digest.Encoded()
	idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex}
	if _, rc, err := r.FetchReference(ctx, tag); err == nil {
		err = json.NewDecoder(rc).Decode(&idx)
		rc.Close()
		if err != nil {
			return fmt.Errorf("read the referrers index: %w", err)
		}
	}
	idx.Manifests = append(idx.Manifests, add...)
	raw, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	d := content.NewDescriptorFromBytes(ocispec.MediaTypeImageIndex, raw)
	if err := r.PushReference(ctx, d, bytes.NewReader(raw), tag); err != nil {
		return fmt.Errorf("write the referrers index: %w", err)
	}
	return nil
}
