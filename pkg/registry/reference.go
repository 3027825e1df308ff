package registry

import (
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"
	"oras.land/oras-go/v2/errdef"
	orasregistry "oras.land/oras-go/v2/registry"
)

// Names of Docker Hub, as the docker CLI spells them.
const (
	// DockerHub is the registry of a reference that has no host when no
	// default registry is given. Its API is served by registry-1.docker.io.
	DockerHub = "docker.io"
	// dockerHubAPIHost is the host that serves docker.io's registry API.
	dockerHubAPIHost = "registry-1.docker.io"
)

// Reference names an artifact in a registry (Registry, Repository) or in an
// OCI image layout (Layout), by tag, by digest, or both. The zero Tag and
// Digest name the repository or layout itself.
type Reference struct {
	// Registry is "host[:port]" as the user wrote it ("docker.io" for Docker
	// Hub); empty for a layout.
	Registry string
	// Repository is the repository path, e.g. "library/alpine"; empty for a
	// layout.
	Repository string
	// Tag and Digest select the artifact; either or both may be empty.
	Tag, Digest string
	// Layout is the path of an OCI image layout, set only for references
	// returned by ParseLayoutReference.
	Layout string
}

// String returns "host/repo[:tag][@digest]" for a registry reference and
// "PATH[:tag|@digest]" for a layout reference. ParseReference and
// ParseLayoutReference accept what String returns.
func (r Reference) String() string {
	var b strings.Builder
	if r.Layout != "" {
		b.WriteString(r.Layout)
	} else {
		b.WriteString(r.Registry)
		b.WriteByte('/')
		b.WriteString(r.Repository)
	}
	if r.Tag != "" && (r.Layout == "" || r.Digest == "") {
		b.WriteByte(':')
		b.WriteString(r.Tag)
	}
	if r.Digest != "" {
		b.WriteByte('@')
		b.WriteString(r.Digest)
	}
	return b.String()
}

// Reference returns what selects the artifact inside its repository or
// layout: the digest when set, else the tag, else "".
func (r Reference) Reference() string {
	if r.Digest != "" {
		return r.Digest
	}
	return r.Tag
}

// WithDigest returns r pinned to d: same repository or layout, tag dropped.
func (r Reference) WithDigest(d digest.Digest) Reference {
	r.Tag, r.Digest = "", d.String()
	return r
}

// IsLayout reports whether r names an OCI image layout.
func (r Reference) IsLayout() bool { return r.Layout != "" }

// ParseReference parses "host[:port]/repo[:tag][@digest]". A name whose first
// path component is not a host (no ".", no ":", not "localhost") gets the
// registry from defaultRegistry ("host[:port][/namespace]") when it is not
// empty, else Docker Hub's rules apply: "alpine" is
// "docker.io/library/alpine". A reference may carry no tag and no digest;
// callers that need one must check Reference(). The error of a malformed
// reference says which part is wrong; a malformed defaultRegistry is a
// *DefaultRegistryError.
func ParseReference(s, defaultRegistry string) (Reference, error) {
	if s == "" {
		return Reference{}, fmt.Errorf("%w: empty; expected host[:port]/repository[:tag|@digest]", ErrInvalidReference)
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return Reference{}, invalidReference(s, "contains white space")
	}
	full, err := qualify(s, defaultRegistry)
	if err != nil {
		return Reference{}, err
	}

	// Split the tag and digest ourselves: oras drops a tag that comes with a
	// digest without validating it.
	host, path, _ := strings.Cut(full, "/")
	var ref Reference
	if at := strings.LastIndexByte(path, '@'); at >= 0 {
		ref.Digest = path[at+1:]
		path = path[:at]
		if ref.Digest == "" {
			return Reference{}, invalidReference(s, "empty digest after '@'")
		}
	}
	if colon := strings.LastIndexByte(path, ':'); colon >= 0 {
		ref.Tag = path[colon+1:]
		path = path[:colon]
		if ref.Tag == "" {
			return Reference{}, invalidReference(s, "empty tag after ':'")
		}
		if !isTag(ref.Tag) {
			return Reference{}, invalidReference(s, fmt.Sprintf("invalid tag %q (a tag is up to 128 letters, digits, '_', '.', '-', not starting with '.' or '-')", ref.Tag))
		}
	}
	check := host + "/" + path
	if ref.Digest != "" {
		check += "@" + ref.Digest
	}
	o, err := orasregistry.ParseReference(check)
	if err != nil {
		return Reference{}, invalidReference(s, explainReferenceError(trimInvalid(err)))
	}
	ref.Registry, ref.Repository = o.Registry, o.Repository
	if ref.Registry == "index.docker.io" || ref.Registry == dockerHubAPIHost {
		ref.Registry = DockerHub
	}
	if ref.Registry == DockerHub && !strings.Contains(ref.Repository, "/") {
		ref.Repository = "library/" + ref.Repository
	}
	return ref, nil
}

// qualify prefixes s with its registry when its first path component is not
// a host: defaultRegistry, else Docker Hub's.
func qualify(s, defaultRegistry string) (string, error) {
	first, _, hasSlash := strings.Cut(s, "/")
	switch {
	case hasSlash && looksLikeHost(first):
		return s, nil
	case defaultRegistry != "":
		def := strings.TrimSuffix(defaultRegistry, "/")
		if _, err := orasregistry.ParseReference(def + "/x"); err != nil {
			return "", &DefaultRegistryError{Value: def, Reason: trimInvalid(err)}
		}
		return def + "/" + s, nil
	case hasSlash:
		return DockerHub + "/" + s, nil
	}
	return DockerHub + "/library/" + s, nil
}

// DefaultRegistryError is a default registry given to ParseReference that
// is not "host[:port][/namespace]". It wraps ErrInvalidReference.
type DefaultRegistryError struct {
	// Value is the default registry given; Reason what is wrong with it.
	Value, Reason string
}

func (e *DefaultRegistryError) Error() string {
	return fmt.Sprintf("%v: default registry %q is not host[:port][/namespace]: %s", ErrInvalidReference, e.Value, e.Reason)
}
func (e *DefaultRegistryError) Unwrap() error { return ErrInvalidReference }

// ErrInvalidReference is wrapped by the errors of ParseReference and
// ParseLayoutReference: the user wrote a malformed name (a usage error).
var ErrInvalidReference = errdef.ErrInvalidReference

// invalidReference is the error for a malformed reference s.
func invalidReference(s, reason string) error {
	return fmt.Errorf("%w %q: %s", ErrInvalidReference, s, reason)
}

// trimInvalid returns oras-go's message without its "invalid reference: "
// prefix, which invalidReference adds back once.
func trimInvalid(err error) string {
	return strings.TrimPrefix(err.Error(), errdef.ErrInvalidReference.Error()+": ")
}

// explainReferenceError adds the rule a user broke to oras' terse message.
func explainReferenceError(msg string) string {
	switch {
	case strings.Contains(msg, "invalid repository"):
		return msg + " (a repository is lowercase letters, digits and separators '.', '_', '__', '-', '/')"
	case strings.Contains(msg, "invalid registry"):
		return msg + " (a registry is host[:port])"
	case strings.Contains(msg, "invalid digest"):
		return msg + " (a digest is algorithm:hex, e.g. sha256:<64 hex digits>)"
	}
	return msg
}

// looksLikeHost applies the docker CLI's rule for the first path component.
func looksLikeHost(s string) bool {
	return strings.ContainsAny(s, ".:") || s == "localhost" || (strings.HasPrefix(s, "[") && strings.Contains(s, "]"))
}

// ParseLayoutReference parses "PATH[:tag|@digest]", the name of an artifact
// in an OCI image layout. The text after the last '@' is a digest; else the
// text after the last ':' is a tag when it is a valid tag (so "C:\dir" and
// "./a:b/c" are plain paths).
func ParseLayoutReference(s string) (Reference, error) {
	if s == "" {
		return Reference{}, fmt.Errorf("%w: empty OCI layout reference; expected PATH[:tag|@digest]", ErrInvalidReference)
	}
	ref := Reference{Layout: s}
	if at := strings.LastIndexByte(s, '@'); at >= 0 {
		d, err := digest.Parse(s[at+1:])
		if err != nil {
			return Reference{}, fmt.Errorf("%w: OCI layout reference %q: invalid digest %q: %v", ErrInvalidReference, s, s[at+1:], err)
		}
		ref.Layout, ref.Digest = s[:at], d.String()
	} else if colon := strings.LastIndexByte(s, ':'); colon >= 0 && isTag(s[colon+1:]) {
		ref.Layout, ref.Tag = s[:colon], s[colon+1:]
	}
	if ref.Layout == "" {
		return Reference{}, fmt.Errorf("%w: OCI layout reference %q: empty path", ErrInvalidReference, s)
	}
	return ref, nil
}

// orasReference converts r for oras-go; reference is the tag or digest to
// address (may be empty).
func (r Reference) orasReference(reference string) orasregistry.Reference {
	return orasregistry.Reference{Registry: r.Registry, Repository: r.Repository, Reference: reference}
}

// isTag reports whether s matches the OCI distribution spec's tag grammar,
// [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}.
func isTag(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_':
		case (c == '.' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}
