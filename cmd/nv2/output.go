package main

import (
	"crypto/x509"
	"fmt"
	"io"
	"sort"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
)

// descriptor is the JSON form of an OCI descriptor in nv2's output.
type descriptor struct {
	MediaType    string            `json:"mediaType"`
	ArtifactType string            `json:"artifactType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	Annotations  map[string]string `json:"annotations"`
}

func toDescriptor(d ocispec.Descriptor) descriptor {
	return descriptor{MediaType: d.MediaType, ArtifactType: d.ArtifactType, Digest: d.Digest.String(), Size: d.Size, Annotations: orEmpty(d.Annotations)}
}

// orEmpty and listOf make JSON show {} and [] for nothing, never null, so
// that scripts can iterate without checks.
func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func listOf[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// certificate is the JSON form of a certificate in nv2's output.
type certificate struct {
	Subject    string    `json:"subject"`
	Issuer     string    `json:"issuer"`
	NotBefore  time.Time `json:"notBefore"`
	NotAfter   time.Time `json:"notAfter"`
	Thumbprint string    `json:"sha256Thumbprint"`
}

func toCertificates(chain []*x509.Certificate) []certificate {
	out := make([]certificate, len(chain))
	for i, c := range chain {
		out[i] = certificate{Subject: c.Subject.String(), Issuer: c.Issuer.String(), NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(), Thumbprint: nvcrypto.Thumbprint(c)}
	}
	return out
}

// printf writes to a result stream; a failed write to stdout is not worth
// a second error message.
func printf(w io.Writer, format string, a ...any) {
	_, _ = fmt.Fprintf(w, format, a...)
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// optDescriptor is the JSON form of an optional descriptor.
func optDescriptor(d *ocispec.Descriptor) *descriptor {
	if d == nil {
		return nil
	}
	out := toDescriptor(*d)
	return &out
}
