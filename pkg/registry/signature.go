package registry

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry/remote/auth"

	"github.com/nv2-signing/nv2/pkg/spec"
)

// emptyJSON is the content of a signature manifest's config blob.
const emptyJSON = "{}"

// SignatureOptions are the annotations of a signature manifest.
type SignatureOptions struct {
	// Thumbprints are the lowercase SHA-256 hex thumbprints of the envelope's
	// certificate chain, leaf first. They become the
	// spec.AnnotationThumbprints annotation (a JSON array), a hint verifiers
	// use to try likely signatures first. Omitted when empty.
	Thumbprints []string
	// Created becomes spec.AnnotationCreated (RFC 3339, UTC, seconds). When
	// zero, the envelope's signing time (io.cncf.notary.signingTime in its
	// protected header) is used if it has one, else the current time. The
	// manifest is then a function of the envelope and these options, so
	// pushing the same envelope again writes the same manifest.
	Created time.Time
}

// signatureArtifact is a signature manifest ready to push.
type signatureArtifact struct {
	manifest []byte
	desc     ocispec.Descriptor // of the manifest, with artifactType and annotations
	config   ocispec.Descriptor
	envelope ocispec.Descriptor
	subject  ocispec.Descriptor
}

// newSignatureArtifact builds the manifest DESIGN.md specifies: an OCI image
// manifest with artifactType and config media type both
// spec.ArtifactTypeSignature, config "{}", one envelope layer, the subject,
// and the thumbprint and creation annotations.
func newSignatureArtifact(subject ocispec.Descriptor, envelope []byte, opts SignatureOptions) (*signatureArtifact, error) {
	if err := subject.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("invalid subject digest %q: %w", subject.Digest, err)
	}
	if !isManifestType(subject.MediaType) || subject.Size <= 0 {
		return nil, fmt.Errorf("subject %s must be a manifest descriptor with media type and size (got media type %q, size %d)", subject.Digest, subject.MediaType, subject.Size)
	}
	if len(envelope) == 0 {
		return nil, errors.New("the signature envelope is empty")
	}
	if len(envelope) > spec.MaxEnvelopeSize {
		return nil, fmt.Errorf("the signature envelope is %d bytes, over the limit of %d", len(envelope), spec.MaxEnvelopeSize)
	}
	annotations := map[string]string{}
	if len(opts.Thumbprints) > 0 {
		tps := make([]string, len(opts.Thumbprints))
		for i, tp := range opts.Thumbprints {
			tp = strings.ToLower(tp)
			if b, err := hex.DecodeString(tp); err != nil || len(b) != 32 {
				return nil, fmt.Errorf("thumbprint %q is not a SHA-256 hex digest", opts.Thumbprints[i])
			}
			tps[i] = tp
		}
		b, err := json.Marshal(tps)
		if err != nil {
			return nil, err
		}
		annotations[spec.AnnotationThumbprints] = string(b)
	}
	created := opts.Created
	if created.IsZero() {
		created = signingTime(envelope)
	}
	if created.IsZero() {
		created = time.Now()
	}
	annotations[spec.AnnotationCreated] = created.UTC().Truncate(time.Second).Format(time.RFC3339)

	config := ocispec.Descriptor{MediaType: spec.ArtifactTypeSignature, Digest: spec.EmptyJSONDigest, Size: int64(len(emptyJSON))}
	env := content.NewDescriptorFromBytes(spec.MediaTypeEnvelope, envelope)
	subj := ocispec.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}
	m := ocispec.Manifest{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: spec.ArtifactTypeSignature,
		Config:       config,
		Layers:       []ocispec.Descriptor{env},
		Subject:      &subj,
		Annotations:  annotations,
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	desc := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, b)
	desc.ArtifactType = spec.ArtifactTypeSignature
	desc.Annotations = annotations
	return &signatureArtifact{manifest: b, desc: desc, config: config, envelope: env, subject: subj}, nil
}

// signingTime returns the io.cncf.notary.signingTime of a JWS JSON envelope's
// protected header, or the zero time. It is a convenience for SignatureOptions
// defaults, not a parse of the envelope: nothing is verified here.
func signingTime(envelope []byte) time.Time {
	var jws struct {
		Protected string `json:"protected"`
	}
	if json.Unmarshal(envelope, &jws) != nil {
		return time.Time{}
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(jws.Protected, "="))
	if err != nil {
		return time.Time{}
	}
	var hdr map[string]any
	if json.Unmarshal(raw, &hdr) != nil {
		return time.Time{}
	}
	s, _ := hdr[spec.HeaderSigningTime].(string)
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// PushSignature stores envelope as a signature of subject and returns the
// descriptor of the signature manifest (with artifactType and annotations,
// as a referrers listing shows it).
//
// The manifest has artifactType and config media type
// spec.ArtifactTypeSignature, config "{}", one spec.MediaTypeEnvelope layer
// and subject; see newSignatureArtifact. Pushing the same envelope with the
// same options again is harmless: the manifest is the same, and the subject
// keeps one referrer for it.
//
// On a registry with the referrers API nothing else is written: no tag. The
// config blob upload, the envelope upload (both as single-POST uploads,
// see pushSmallBlob: no existence check first) and, the first time a
// Client meets the repository, one referrers GET that tells whether the API
// exists run in parallel, then the manifest is PUT: 4 requests in 2
// sequential round trips on a registry that takes single-POST uploads
// (go-containerregistry's), whether or not the config blob was there; 2
// once the Client has pushed to the repository. In an OCI layout the
// layout's index.json records the manifest.
//
// Without the referrers API the signature is also added to the referrers
// tag schema index, the "<alg>-<hex>" tag of subject, with a
// read-merge-verify protocol that is safe across processes with no lock
// (9 requests on CNCF distribution, which takes uploads in a POST and a
// PUT, whether or not the config blob was there; 6 once the Client has
// pushed to the repository):
//
//  1. the index is read in parallel with the manifest PUT;
//  2. every entry ever seen plus the new one is written back (entries are
//     never removed, old indexes never deleted);
//  3. after a settle delay (jittered, at least twice this writer's own
//     read-to-write time and 50 ms) the index is read again; if any entry
//     this signer has seen is missing, because a concurrent writer replaced
//     the tag from an older read, it merges and writes again and repeats, up
//     to a bounded number of attempts.
//
// Guarantees: when PushSignature returns nil, the new entry and every entry
// this signer saw were in the index at its last read. Concurrent nv2
// signers, each following this protocol, all end up in the index as long as
// each one's read-to-write time stays below the others' settle delay (the
// registry answers in a comparable time for all of them). It cannot protect
// an entry from a writer that does not follow it (oras attach, older tools)
// writing from a stale read after this signer's last check, nor from a
// registry that serves stale reads for longer than the settle delay; the
// signature manifest is stored regardless, and pushing the same envelope
// again re-indexes it. Since entries are never removed, one deleted by
// another tool during a push may be restored; readers must tolerate a
// listed referrer that no longer exists. When the index does not settle
// within the attempts, PushSignature returns the descriptor and an error.
func (t *Target) PushSignature(ctx context.Context, subject ocispec.Descriptor, envelope []byte, opts SignatureOptions) (ocispec.Descriptor, error) {
	sa, err := newSignatureArtifact(subject, envelope, opts)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("push signature of %s to %s: %w", subject.Digest, t, err)
	}
	if t.layout != "" {
		if err := t.pushSignatureToLayout(ctx, sa, envelope); err != nil {
			return ocispec.Descriptor{}, err
		}
		return sa.desc, nil
	}

	// One token (on token-auth registries) for every request of the push.
	ctx = auth.AppendRepositoryScope(ctx, t.repo.Reference, auth.ActionPull, auth.ActionPush)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxParallel)
	configKnown := t.cap.hasConfig.Load()
	if !configKnown {
		g.Go(func() error { return t.pushConfig(gctx, sa.config) })
	}
	g.Go(func() error {
		var err error
		if len(envelope) <= maxSinglePost {
			err = t.pushSmallBlob(gctx, sa.envelope, envelope)
		} else {
			err = t.repo.Blobs().Push(gctx, sa.envelope, bytes.NewReader(envelope))
		}
		if err != nil {
			return t.fail(err, "push the signature envelope to %s", t)
		}
		return nil
	})
	if t.cap.load() == capUnknown {
		// The referrers GET a listing would send; it tells whether to
		// maintain the fallback index, without a request more.
		g.Go(func() error { return t.probeReferrersAPI(gctx, subject) })
	}
	if err := g.Wait(); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("push signature of %s: %w", subject.Digest, err)
	}
	err = t.pushReferrer(ctx, sa.desc, sa.manifest, sa.subject)
	if err != nil && configKnown && isBlobUnknown(err) {
		// This Client pushed the config before, but the registry lost it
		// since (garbage collection): push it and the manifest again.
		t.cap.hasConfig.Store(false)
		if err = t.pushConfig(ctx, sa.config); err == nil {
			err = t.pushReferrer(ctx, sa.desc, sa.manifest, sa.subject)
		}
	}
	if err != nil {
		if errors.Is(err, errUnsettled) {
			return sa.desc, fmt.Errorf("push signature of %s: %w", subject.Digest, err)
		}
		return ocispec.Descriptor{}, fmt.Errorf("push signature of %s: %w", subject.Digest, err)
	}
	return sa.desc, nil
}

// pushConfig stores the signature config blob "{}" (one request on a
// registry with single-POST uploads, else two) and remembers, for the
// Client's later pushes to this repository, that it is there.
func (t *Target) pushConfig(ctx context.Context, config ocispec.Descriptor) error {
	if err := t.pushSmallBlob(ctx, config, []byte(emptyJSON)); err != nil {
		return t.fail(err, "push the signature config blob to %s", t)
	}
	t.cap.hasConfig.Store(true)
	return nil
}

// pushSignatureToLayout writes the config, envelope and manifest into the
// layout; the layout's index.json records the manifest, and oras-go's
// layout store derives referrers from the manifests it holds.
func (t *Target) pushSignatureToLayout(ctx context.Context, sa *signatureArtifact, envelope []byte) error {
	for _, c := range []struct {
		desc ocispec.Descriptor
		data []byte
	}{{sa.config, []byte(emptyJSON)}, {sa.envelope, envelope}, {sa.desc, sa.manifest}} {
		if err := t.pushBlob(ctx, c.desc, c.data); err != nil {
			return fmt.Errorf("push signature of %s to OCI layout %s: %w", sa.subject.Digest, t, err)
		}
	}
	return nil
}

// Signature is a signature artifact read and checked by FetchSignature.
type Signature struct {
	// Descriptor is the signature manifest's descriptor, with the
	// artifactType and annotations of the manifest itself.
	Descriptor ocispec.Descriptor
	// Manifest is the decoded signature manifest.
	Manifest ocispec.Manifest
	// Envelope is the signature envelope, its digest verified.
	Envelope []byte
	// EnvelopeDescriptor is the manifest's layer that holds Envelope.
	EnvelopeDescriptor ocispec.Descriptor
}

// FetchSignature reads the signature manifest desc describes and its
// envelope. It accepts every form DESIGN.md lists: artifactType
// spec.ArtifactTypeSignature with an empty (application/vnd.oci.empty.v1+json)
// or spec.ArtifactTypeSignature config, or no artifactType and config media
// type spec.ArtifactTypeSignature (notation 1.x). It refuses, with the
// reason, anything else: a media type other than an OCI image manifest, a
// manifest over spec.MaxManifestSize or an envelope over
// spec.MaxEnvelopeSize, content that does not match its digest, other than
// exactly one spec.MediaTypeEnvelope layer, or no subject. It does not check
// which subject: that is the caller's (the verifier's) job.
func (t *Target) FetchSignature(ctx context.Context, desc ocispec.Descriptor) (*Signature, error) {
	if desc.MediaType != ocispec.MediaTypeImageManifest {
		return nil, fmt.Errorf("signature %s in %s: media type %q is not %s", desc.Digest, t, desc.MediaType, ocispec.MediaTypeImageManifest)
	}
	raw, err := t.fetchVerified(ctx, desc, spec.MaxManifestSize)
	if err != nil {
		return nil, t.fail(err, "fetch signature manifest %s from %s", desc.Digest, t)
	}
	m, err := parseSignatureManifest(raw)
	if err != nil {
		return nil, fmt.Errorf("signature manifest %s in %s: %w", desc.Digest, t, err)
	}
	layer := m.Layers[0]
	env, err := t.fetchVerified(ctx, layer, spec.MaxEnvelopeSize)
	if err != nil {
		return nil, t.fail(err, "fetch signature envelope %s of %s from %s", layer.Digest, desc.Digest, t)
	}
	d := ocispec.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size, ArtifactType: spec.ArtifactTypeSignature, Annotations: m.Annotations}
	return &Signature{Descriptor: d, Manifest: *m, Envelope: env, EnvelopeDescriptor: layer}, nil
}

// parseSignatureManifest decodes and checks a signature manifest.
func parseSignatureManifest(raw []byte) (*ocispec.Manifest, error) {
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("not a JSON manifest: %w", err)
	}
	if m.SchemaVersion != 2 {
		return nil, fmt.Errorf("schemaVersion is %d, want 2", m.SchemaVersion)
	}
	if m.MediaType != ocispec.MediaTypeImageManifest {
		return nil, fmt.Errorf("mediaType is %q, want %s", m.MediaType, ocispec.MediaTypeImageManifest)
	}
	if !isSignatureForm(m.ArtifactType, m.Config.MediaType) {
		return nil, fmt.Errorf("not a notary signature: artifactType %q with config media type %q (want artifactType %s with config %s or %s, or config %s alone)",
			m.ArtifactType, m.Config.MediaType, spec.ArtifactTypeSignature, spec.MediaTypeEmptyJSON, spec.ArtifactTypeSignature, spec.ArtifactTypeSignature)
	}
	if len(m.Layers) != 1 {
		return nil, fmt.Errorf("has %d layers, want exactly one %s layer", len(m.Layers), spec.MediaTypeEnvelope)
	}
	layer := m.Layers[0]
	if layer.MediaType != spec.MediaTypeEnvelope {
		return nil, fmt.Errorf("layer media type is %q, want %s", layer.MediaType, spec.MediaTypeEnvelope)
	}
	if layer.Size <= 0 || layer.Size > spec.MaxEnvelopeSize {
		return nil, fmt.Errorf("envelope size %d is not within 1..%d bytes", layer.Size, spec.MaxEnvelopeSize)
	}
	if err := layer.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("envelope digest %q: %w", layer.Digest, err)
	}
	if m.Subject == nil {
		return nil, errors.New("has no subject: it signs nothing")
	}
	if err := m.Subject.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("subject digest %q: %w", m.Subject.Digest, err)
	}
	return &m, nil
}

// isSignatureForm reports whether a manifest's artifactType and config media
// type are one of the signature forms nv2 accepts.
func isSignatureForm(artifactType, configType string) bool {
	switch artifactType {
	case spec.ArtifactTypeSignature:
		return configType == spec.MediaTypeEmptyJSON || configType == spec.ArtifactTypeSignature
	case "":
		return configType == spec.ArtifactTypeSignature
	}
	return false
}

// artifactTypeOf is the artifact type a manifest declares: its artifactType,
// else its config media type (the OCI 1.1 rule).
func artifactTypeOf(raw []byte) (string, *ocispec.Descriptor, error) {
	var m struct {
		ArtifactType string              `json:"artifactType"`
		Config       *ocispec.Descriptor `json:"config"`
		Subject      *ocispec.Descriptor `json:"subject"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return "", nil, err
	}
	if m.ArtifactType != "" || m.Config == nil {
		return m.ArtifactType, m.Subject, nil
	}
	return m.Config.MediaType, m.Subject, nil
}

// isManifestType reports whether a media type is one of a manifest or index.
func isManifestType(mt string) bool {
	switch mt {
	case ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageIndex,
		spec.MediaTypeDockerManifest, spec.MediaTypeDockerManifestList:
		return true
	}
	return false
}
