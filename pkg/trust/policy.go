package trust

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Verification levels of a trust policy, as the Notary Project defines them.
const (
	LevelStrict     = "strict"
	LevelPermissive = "permissive"
	LevelAudit      = "audit"
	LevelSkip       = "skip"
)

// Trust store types a policy can name in "type:name".
const (
	StoreCA               = "ca"
	StoreSigningAuthority = "signingAuthority"
	// StoreTSA holds the root certificates of trusted Time Stamping
	// Authorities, for the timestamps of signatures.
	StoreTSA = "tsa"
)

// PolicyVersion is the only trust policy document version nv2 reads.
const PolicyVersion = "1.0"

// ErrNoScope: the trust policy has no policy for an artifact outside a
// registry (an OCI layout or a manifest file), which only a policy with
// registryScopes ["*"] covers.
var ErrNoScope = errors.New("no trust policy applies to an artifact outside a registry (an OCI layout or a manifest file): only a policy with registryScopes [\"*\"] covers it")

// PolicyDocument is a trust policy document in the Notary Project's format
// (trustpolicy.json), so that one file serves nv2 and notation alike.
type PolicyDocument struct {
	Version       string   `json:"version"`
	TrustPolicies []Policy `json:"trustPolicies"`
}

// Policy is one entry of a trust policy document: which repositories it
// covers, how strictly their signatures are checked, and whom to trust.
type Policy struct {
	Name                  string                `json:"name"`
	RegistryScopes        []string              `json:"registryScopes"`
	SignatureVerification SignatureVerification `json:"signatureVerification"`
	TrustStores           []string              `json:"trustStores,omitempty"`
	TrustedIdentities     []string              `json:"trustedIdentities,omitempty"`
}

// SignatureVerification names the level, any per-check overrides, and
// when a trusted timestamp is checked (VerifyTimestampAlways, the default,
// or VerifyTimestampAfterCertExpiry; it matters only with a tsa trust store).
type SignatureVerification struct {
	Level           string            `json:"level"`
	Override        map[string]string `json:"override,omitempty"`
	VerifyTimestamp string            `json:"verifyTimestamp,omitempty"`
}

// PolicyError is a trust policy that cannot be used, with the line of the
// document where the problem is (0 when it concerns the document as a whole).
type PolicyError struct {
	Line   int
	Reason string
}

func (e *PolicyError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("trust policy line %d: %s", e.Line, e.Reason)
	}
	return "trust policy: " + e.Reason
}

// ParsePolicy reads and validates a trust policy document. Every problem is
// reported as a *PolicyError carrying the line it was found on; a document
// that parses is safe to use for verification.
func ParsePolicy(data []byte) (*PolicyDocument, error) {
	var doc PolicyDocument
	line, err := decodeDocument(data, &doc, func() (string, int) { return doc.Version, len(doc.TrustPolicies) })
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	scopes := map[string]string{}
	for i, p := range doc.TrustPolicies {
		fail, err := checkName(names, i, line(i), p.Name)
		if err != nil {
			return nil, err
		}
		if len(p.RegistryScopes) == 0 {
			return nil, fail(`no registryScopes: list repositories such as "registry.example/app", or "*"`)
		}
		for _, s := range p.RegistryScopes {
			if s == "*" && len(p.RegistryScopes) > 1 {
				return nil, fail(`"*" must be the only registry scope of its policy`)
			}
			if s != "*" && !validScope(s) {
				return nil, fail("registry scope %q must be a repository such as \"registry.example/app\" (a host and a path, no tag or digest)", s)
			}
			if other, ok := scopes[s]; ok {
				return nil, fail("registry scope %q is also in policy %q: each scope may appear once", s, other)
			}
			scopes[s] = p.Name
		}
		if err := checkRule(p.SignatureVerification, p.TrustStores, p.TrustedIdentities); err != nil {
			return nil, fail("%v", err)
		}
	}
	return &doc, nil
}

// decodeDocument decodes a trust policy document of either kind into doc,
// refusing unknown fields and trailing content, and checks what both kinds
// share: the version and at least one policy (header reports them after
// decoding). It returns the line on which the i-th policy opens.
func decodeDocument(data []byte, doc any, header func() (version string, policies int)) (func(i int) int, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(doc); err != nil {
		return nil, jsonError(data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &PolicyError{Line: lineAt(data, int(dec.InputOffset())), Reason: "unexpected content after the policy document"}
	}
	version, n := header()
	if version != PolicyVersion {
		return nil, &PolicyError{Line: keyLine(data, "version"), Reason: fmt.Sprintf("version %q is not supported: use %q", version, PolicyVersion)}
	}
	if n == 0 {
		return nil, &PolicyError{Reason: "no trustPolicies: add at least one policy"}
	}
	lines := policyLines(data)
	return func(i int) int {
		if i < len(lines) {
			return lines[i]
		}
		return 0
	}, nil
}

// checkName checks that the i-th policy, on line, has a name no earlier
// one has (names holds those), and returns how to report its problems.
func checkName(names map[string]bool, i, line int, name string) (fail func(format string, a ...any) error, err error) {
	fail = func(format string, a ...any) error {
		return &PolicyError{Line: line, Reason: fmt.Sprintf("policy %q: ", name) + fmt.Sprintf(format, a...)}
	}
	if name == "" {
		return nil, &PolicyError{Line: line, Reason: fmt.Sprintf("policy #%d has no name", i+1)}
	}
	if names[name] {
		return nil, fail("the name is used by another policy: names must be unique")
	}
	names[name] = true
	return fail, nil
}

// checkRule validates what every trust policy entry, OCI or blob, holds:
// the level and its overrides, the trust stores and the trusted identities.
func checkRule(sv SignatureVerification, stores, ids []string) error {
	switch sv.Level {
	case LevelStrict, LevelPermissive, LevelAudit:
		if len(stores) == 0 {
			return fmt.Errorf("level %q needs trustStores, such as \"ca:acme\"", sv.Level)
		}
		if len(ids) == 0 {
			return fmt.Errorf(`level %q needs trustedIdentities: "*" or "x509.subject: ..."`, sv.Level)
		}
	case LevelSkip:
		if len(stores) > 0 || len(ids) > 0 {
			return errors.New("level \"skip\" must not name trustStores or trustedIdentities")
		}
	default:
		return fmt.Errorf("signatureVerification level %q is not one of strict, permissive, audit, skip", sv.Level)
	}
	switch sv.VerifyTimestamp {
	case "", VerifyTimestampAlways, VerifyTimestampAfterCertExpiry:
	default:
		return fmt.Errorf("verifyTimestamp %q is not %q or %q", sv.VerifyTimestamp, VerifyTimestampAlways, VerifyTimestampAfterCertExpiry)
	}
	for check, action := range sv.Override {
		if _, ok := checkNames[check]; !ok {
			return fmt.Errorf("override of unknown check %q (known: integrity, authenticity, authenticTimestamp, expiry, revocation)", check)
		}
		if action != actionEnforce && action != actionLog && action != actionSkip {
			return fmt.Errorf("override %q: action %q is not enforce, log or skip", check, action)
		}
		if check == checkIntegrity {
			return errors.New("the integrity check cannot be overridden")
		}
	}
	for _, ts := range stores {
		typ, name, ok := strings.Cut(ts, ":")
		if !ok || !validStoreType(typ) || !validStoreName(name) {
			return fmt.Errorf("trust store %q must be \"ca:NAME\", \"signingAuthority:NAME\" or \"tsa:NAME\"", ts)
		}
	}
	for _, id := range ids {
		if id == "*" {
			if len(ids) > 1 {
				return errors.New(`"*" must be the only trusted identity of its policy`)
			}
			continue
		}
		if _, err := parseIdentity(id); err != nil {
			return err
		}
	}
	return nil
}

// PolicyFor returns the policy whose registryScopes name repository
// ("host/path"), else the policy with scope "*", else an error.
func (d *PolicyDocument) PolicyFor(repository string) (*Policy, error) {
	var wildcard *Policy
	for i := range d.TrustPolicies {
		p := &d.TrustPolicies[i]
		for _, s := range p.RegistryScopes {
			if s == repository {
				return p, nil
			}
			if s == "*" {
				wildcard = p
			}
		}
	}
	if wildcard != nil {
		return wildcard, nil
	}
	if repository == "" {
		return nil, ErrNoScope
	}
	return nil, fmt.Errorf("no trust policy applies to %q: add it to a policy's registryScopes, or add a policy with scope \"*\"", repository)
}

func validScope(s string) bool {
	host, path, ok := strings.Cut(s, "/")
	return ok && host != "" && path != "" && !strings.ContainsAny(s, "@ ") && !strings.Contains(path, ":") && !strings.HasSuffix(s, "/")
}

func validStoreType(t string) bool {
	return t == StoreCA || t == StoreSigningAuthority || t == StoreTSA
}

func validStoreName(n string) bool {
	if n == "" || n == "." || n == ".." {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// jsonError turns a decoding error into a PolicyError with its line.
func jsonError(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return &PolicyError{Line: lineAt(data, int(syn.Offset)), Reason: "invalid JSON: " + syn.Error()}
	case errors.As(err, &typ):
		return &PolicyError{Line: lineAt(data, int(typ.Offset)), Reason: fmt.Sprintf("%s must be a JSON %s, not %s", typ.Field, typ.Type, typ.Value)}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &PolicyError{Line: lineAt(data, len(data)), Reason: "the document is empty or ends too early"}
	}
	if strings.HasPrefix(err.Error(), "json: unknown field ") {
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &PolicyError{Line: keyLine(data, field), Reason: fmt.Sprintf("unknown field %q", field)}
	}
	return &PolicyError{Reason: err.Error()}
}

func lineAt(data []byte, offset int) int {
	if offset > len(data) {
		offset = len(data)
	}
	if offset < 0 {
		offset = 0
	}
	return bytes.Count(data[:offset], []byte("\n")) + 1
}

// keyLine finds the line of the first occurrence of a JSON key.
func keyLine(data []byte, key string) int {
	i := bytes.Index(data, []byte(`"`+key+`"`))
	if i < 0 {
		return 0
	}
	return lineAt(data, i)
}

// policyLines returns the line on which each element of trustPolicies opens.
func policyLines(data []byte) []int {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil
		}
		if k != "trustPolicies" {
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return nil
			}
			continue
		}
		if t, err := dec.Token(); err != nil || t != json.Delim('[') {
			return nil
		}
		var lines []int
		for dec.More() {
			off := int(dec.InputOffset())
			for off < len(data) && strings.ContainsRune(" \t\r\n,", rune(data[off])) {
				off++
			}
			lines = append(lines, lineAt(data, off))
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return lines
			}
		}
		return lines
	}
	return nil
}
