// Package spec holds the names that the Notary Project v1 signature formats and
// the OCI specifications give to media types, header fields and annotations.
// Beyond IsManifestType it has no logic: the signature and registry packages
// share these names.
package spec

// Media types of the signature envelope and its payload.
const (
	// MediaTypeEnvelope is the media type of a JWS signature envelope.
	MediaTypeEnvelope = "application/jose+json"
	// MediaTypePayload is the content type (cty) of the signed payload.
	MediaTypePayload = "application/vnd.cncf.notary.payload.v1+json"
)

// Types of the signature artifact stored in a registry or an OCI image layout.
const (
	// ArtifactTypeSignature is the artifactType of a signature manifest, and the
	// media type of its config descriptor (see DESIGN.md for why both).
	ArtifactTypeSignature = "application/vnd.cncf.notary.signature"
	// MediaTypeEmptyJSON is the OCI 1.1 empty descriptor's media type, which
	// other writers use for the config of a signature manifest.
	MediaTypeEmptyJSON = "application/vnd.oci.empty.v1+json"
	// EmptyJSONDigest is the digest of the two bytes "{}".
	EmptyJSONDigest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
)

// Protected and unprotected header names of the JWS envelope.
const (
	HeaderSigningScheme = "io.cncf.notary.signingScheme"
	HeaderSigningTime   = "io.cncf.notary.signingTime"
	HeaderExpiry        = "io.cncf.notary.expiry"
	HeaderSigningAgent  = "io.cncf.notary.signingAgent"
	// Headers nv2 does not produce or process, and that the JWS envelope
	// specification marks critical: present, they must be listed in crit.
	HeaderAuthenticSigningTime         = "io.cncf.notary.authenticSigningTime"
	HeaderVerificationPlugin           = "io.cncf.notary.verificationPlugin"
	HeaderVerificationPluginMinVersion = "io.cncf.notary.verificationPluginMinVersion"
	// HeaderTimestampSignature is the unprotected header holding an RFC 3161
	// timestamp token over the signature value, base64 (standard, padded).
	HeaderTimestampSignature = "io.cncf.notary.timestampSignature"
	// SigningSchemeX509 is the only signing scheme nv2 produces and accepts.
	SigningSchemeX509 = "notary.x509"
)

// Annotations on a signature manifest.
const (
	// AnnotationThumbprints is a JSON array of the lowercase SHA-256 hex
	// thumbprints of the envelope's certificate chain, leaf first. It is a
	// hint for choosing which signatures to verify first; it is never trusted.
	AnnotationThumbprints = "io.cncf.notary.x509chain.thumbprint#S256"
	// AnnotationCreated is the OCI creation-time annotation (RFC 3339).
	AnnotationCreated = "org.opencontainers.image.created"
)

// Size limits for content read from a registry or a layout.
const (
	// MaxManifestSize bounds any manifest or index nv2 reads.
	MaxManifestSize = 4 << 20
	// MaxEnvelopeSize bounds a signature envelope.
	MaxEnvelopeSize = 32 << 20
)

// Manifest media types of Docker's image format, which registries still
// serve and which nv2 signs like OCI manifests.
const (
	MediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
)

// IsManifestType reports whether mt is the media type of a manifest or an
// index, OCI or Docker: what a signature's subject may be.
func IsManifestType(mt string) bool {
	switch mt {
	case "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
		MediaTypeDockerManifest, MediaTypeDockerManifestList:
		return true
	}
	return false
}

// Limits on what a registry's referrers listing may hold.
const (
	// MaxReferrers bounds the referrers nv2 reads for one subject, over all
	// pages of the referrers API or in one referrers tag schema index.
	MaxReferrers = 10000
	// MaxReferrerPages bounds the pages of one referrers API listing.
	MaxReferrerPages = 1000
)
