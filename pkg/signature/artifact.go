package signature

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/nv2-signing/nv2/pkg/spec"
)

// EmptyConfig is the content of a signature manifest's config blob.
var EmptyConfig = []byte("{}")

// Artifact is a signature artifact: the OCI image manifest that stores an
// envelope as a referrer of the manifest it signs.
type Artifact struct {
	// Descriptor is the signature manifest's descriptor, with the
	// artifactType and annotations of the manifest, as a referrers listing
	// shows it.
	Descriptor ocispec.Descriptor
	// Manifest is the decoded signature manifest; Raw its bytes.
	Manifest ocispec.Manifest
	Raw      []byte
	// Envelope is the signature envelope; EnvelopeDescriptor the manifest's
	// layer that holds it.
	Envelope           []byte
	EnvelopeDescriptor ocispec.Descriptor
}

// ArtifactOptions are the annotations of a signature manifest.
type ArtifactOptions struct {
	// Thumbprints are the lowercase SHA-256 hex thumbprints of the envelope's
	// certificate chain, leaf first. They become the
	// spec.AnnotationThumbprints annotation (a JSON array), a hint verifiers
	// use to try likely signatures first. Omitted when empty.
	Thumbprints []string
	// Created becomes spec.AnnotationCreated (RFC 3339, UTC, seconds). When
	// zero, the envelope's signing time (io.cncf.notary.signingTime in its
	// protected header) is used if it has one, else the current time. The
	// manifest is then a function of the envelope and these options, so
	// building it again from the same envelope gives the same manifest.
	Created time.Time
}

// NewArtifact builds the signature manifest DESIGN.md specifies: an OCI
// image manifest with artifactType and config media type both
// spec.ArtifactTypeSignature, config EmptyConfig, one spec.MediaTypeEnvelope
// layer holding envelope, subject (a manifest's descriptor with media type
// and size), and the thumbprint and creation annotations. It does not
// verify the envelope.
func NewArtifact(subject ocispec.Descriptor, envelope []byte, opts ArtifactOptions) (*Artifact, error) {
	if err := checkArtifactInputs(subject, envelope); err != nil {
		return nil, err
	}
	annotations, err := artifactAnnotations(envelope, opts)
	if err != nil {
		return nil, err
	}
	env := ocispec.Descriptor{MediaType: spec.MediaTypeEnvelope, Digest: digest.FromBytes(envelope), Size: int64(len(envelope))}
	subj := ocispec.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}
	m := ocispec.Manifest{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: spec.ArtifactTypeSignature,
		Config:       ocispec.Descriptor{MediaType: spec.ArtifactTypeSignature, Digest: spec.EmptyJSONDigest, Size: int64(len(EmptyConfig))},
		Layers:       []ocispec.Descriptor{env},
		Subject:      &subj,
		Annotations:  annotations,
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(raw), Size: int64(len(raw)),
		ArtifactType: spec.ArtifactTypeSignature, Annotations: annotations}
	return &Artifact{Descriptor: desc, Manifest: m, Raw: raw, Envelope: envelope, EnvelopeDescriptor: env}, nil
}

// checkArtifactInputs refuses a subject that is not a manifest's descriptor
// and an envelope that is empty or over spec.MaxEnvelopeSize.
func checkArtifactInputs(subject ocispec.Descriptor, envelope []byte) error {
	if err := subject.Digest.Validate(); err != nil {
		return fmt.Errorf("invalid subject digest %q: %w", subject.Digest, err)
	}
	if !spec.IsManifestType(subject.MediaType) || subject.Size <= 0 {
		return fmt.Errorf("subject %s must be a manifest descriptor with media type and size (got media type %q, size %d)", subject.Digest, subject.MediaType, subject.Size)
	}
	if len(envelope) == 0 {
		return errors.New("the signature envelope is empty")
	}
	if len(envelope) > spec.MaxEnvelopeSize {
		return fmt.Errorf("the signature envelope is %d bytes, over the limit of %d", len(envelope), spec.MaxEnvelopeSize)
	}
	return nil
}

// artifactAnnotations returns the thumbprint and creation annotations.
func artifactAnnotations(envelope []byte, opts ArtifactOptions) (map[string]string, error) {
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
	return annotations, nil
}

// signingTime returns the io.cncf.notary.signingTime of a JWS JSON envelope's
// protected header, or the zero time. It is a convenience for ArtifactOptions
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

// ParseManifest decodes and checks a signature manifest. It accepts every
// form DESIGN.md lists: artifactType spec.ArtifactTypeSignature with an
// empty (spec.MediaTypeEmptyJSON) or spec.ArtifactTypeSignature config, or
// no artifactType and config media type spec.ArtifactTypeSignature
// (notation 1.x). It refuses, with the reason, anything else: not an OCI
// image manifest, other than exactly one spec.MediaTypeEnvelope layer of
// 1..spec.MaxEnvelopeSize bytes, or no subject. It does not check which
// subject: that is the verifier's job.
func ParseManifest(raw []byte) (*ocispec.Manifest, error) {
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
	if !IsSignatureForm(m.ArtifactType, m.Config.MediaType) {
		return nil, fmt.Errorf("not a notary signature: artifactType %q with config media type %q (want artifactType %s with config %s or %s, or config %s alone)",
			m.ArtifactType, m.Config.MediaType, spec.ArtifactTypeSignature, spec.MediaTypeEmptyJSON, spec.ArtifactTypeSignature, spec.ArtifactTypeSignature)
	}
	if err := checkEnvelopeLayer(m.Layers); err != nil {
		return nil, err
	}
	if m.Subject == nil {
		return nil, errors.New("has no subject: it signs nothing")
	}
	if err := m.Subject.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("subject digest %q: %w", m.Subject.Digest, err)
	}
	return &m, nil
}

// checkEnvelopeLayer checks that layers is exactly one envelope descriptor.
func checkEnvelopeLayer(layers []ocispec.Descriptor) error {
	if len(layers) != 1 {
		return fmt.Errorf("has %d layers, want exactly one %s layer", len(layers), spec.MediaTypeEnvelope)
	}
	layer := layers[0]
	if layer.MediaType != spec.MediaTypeEnvelope {
		return fmt.Errorf("layer media type is %q, want %s", layer.MediaType, spec.MediaTypeEnvelope)
	}
	if layer.Size <= 0 || layer.Size > spec.MaxEnvelopeSize {
		return fmt.Errorf("envelope size %d is not within 1..%d bytes", layer.Size, spec.MaxEnvelopeSize)
	}
	if err := layer.Digest.Validate(); err != nil {
		return fmt.Errorf("envelope digest %q: %w", layer.Digest, err)
	}
	return nil
}

// IsSignatureForm reports whether a manifest's artifactType and config media
// type are one of the signature forms ParseManifest accepts.
func IsSignatureForm(artifactType, configType string) bool {
	switch artifactType {
	case spec.ArtifactTypeSignature:
		return configType == spec.MediaTypeEmptyJSON || configType == spec.ArtifactTypeSignature
	case "":
		return configType == spec.ArtifactTypeSignature
	}
	return false
}
