package signature

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"time"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/spec"
)

// criticalHeaders are the crit names nv2 processes.
var criticalHeaders = []string{spec.HeaderSigningScheme, spec.HeaderExpiry}

// mustBeCritical are the Notary Project headers that the JWS envelope
// specification marks "(critical)": when present, crit must list them.
var mustBeCritical = []string{
	spec.HeaderSigningScheme, spec.HeaderExpiry, spec.HeaderAuthenticSigningTime,
	spec.HeaderVerificationPlugin, spec.HeaderVerificationPluginMinVersion,
}

// pluginHeaders name a verification plugin. The signature specification
// says an implementation that cannot perform the plugin's verification
// "MUST fail signature verification"; nv2 runs no plugins.
var pluginHeaders = []string{spec.HeaderVerificationPlugin, spec.HeaderVerificationPluginMinVersion}

// maxCertificates bounds x5c: real chains have a handful of certificates.
const maxCertificates = 16

// descriptorMembers are the JSON names of an OCI descriptor.
var descriptorMembers = []string{"mediaType", "digest", "size", "annotations", "urls", "platform", "artifactType", "data"}

// Verify parses a JWS envelope strictly and checks its integrity: the envelope
// is at most spec.MaxEnvelopeSize bytes of flattened JWS JSON with exactly the
// members payload, protected, header and signature; alg is one of the six
// Notary Project algorithms and matches the leaf key of x5c; crit lists
// exactly headers nv2 processes and every one that must be critical; cty is
// the Notary payload type; the signing scheme is notary.x509; signingTime (and
// expiry if present) are RFC 3339; the signature over the JWS signing input
// is the leaf key's; the payload describes a target artifact.
//
// Verify makes no trust decision: it does not check that the chain is
// trusted, valid in time, or that the signature has not expired.
func Verify(envelopeBytes []byte) (*Envelope, error) {
	if len(envelopeBytes) > spec.MaxEnvelopeSize {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d: this is not a signature nv2 accepts", ErrTooLarge, len(envelopeBytes), spec.MaxEnvelopeSize)
	}
	top, err := decodeObject(envelopeBytes)
	if err != nil {
		return nil, malformed("the envelope is not a JSON object: %v", err)
	}
	for name := range top {
		if !slices.Contains([]string{"payload", "protected", "header", "signature"}, name) {
			return nil, malformed("unexpected member %q: a Notary Project JWS envelope has only payload, protected, header and signature", name)
		}
	}
	// The base64url members are used where they stand in envelopeBytes: an
	// envelope at the size limit is not copied to be checked.
	payloadB64, err := base64Member(top, "payload")
	if err != nil {
		return nil, err
	}
	protectedB64, err := base64Member(top, "protected")
	if err != nil {
		return nil, err
	}
	signatureB64, err := base64Member(top, "signature")
	if err != nil {
		return nil, err
	}
	rawHeader, ok := top["header"]
	if !ok {
		return nil, malformed("member \"header\" is missing")
	}
	// The payload is checked now and decoded once its signature verifies.
	if err := checkBase64URL("payload", payloadB64); err != nil {
		return nil, err
	}
	protectedJSON, err := decodeBase64URL("protected", protectedB64)
	if err != nil {
		return nil, err
	}
	sig, err := decodeBase64URL("signature", signatureB64)
	if err != nil {
		return nil, err
	}

	env := &Envelope{SignatureValue: sig}
	if err := parseProtected(protectedJSON, env); err != nil {
		return nil, err
	}
	if err := parseHeader(rawHeader, env); err != nil {
		return nil, err
	}

	leaf := env.Chain[0]
	leafAlg, err := nvcrypto.AlgorithmFor(leaf.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("%w: signing certificate %q: %v", ErrUnsupportedAlgorithm, leaf.Subject.String(), err)
	}
	if leafAlg != env.Algorithm {
		return nil, fmt.Errorf("%w: alg is %s but the key of certificate %q signs with %s: the envelope was forged or built wrong; re-sign it",
			ErrAlgorithmMismatch, env.Algorithm, leaf.Subject.String(), leafAlg)
	}
	// The signature is checked before the payload is decoded: a forged
	// envelope costs no more memory than its own bytes.
	if err := verifySignature(leaf, env.Algorithm, sig, protectedB64, []byte("."), payloadB64); err != nil {
		return nil, fmt.Errorf("%w: %v: the envelope or its payload was changed after signing, or it was not signed by the key of certificate %q; re-sign the artifact",
			ErrInvalidSignature, err, leaf.Subject.String())
	}
	payload, err := decodeBase64URL("payload", payloadB64)
	if err != nil {
		return nil, err
	}
	if err := parsePayload(payload, env); err != nil {
		return nil, err
	}
	return env, nil
}

// malformed returns an ErrMalformed error saying what is wrong.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s (not a valid Notary Project JWS envelope: re-sign the artifact with a Notary Project signer)", ErrMalformed, fmt.Sprintf(format, args...))
}

// decodeObject splits one JSON object into its members, refusing
// duplicate names and anything after the object. The members' values are
// valid JSON and share data's memory: nothing is copied.
func decodeObject(data []byte) (map[string]json.RawMessage, error) {
	i := skipSpace(data, 0)
	if i == len(data) || data[i] != '{' {
		return nil, errors.New("not a JSON object")
	}
	members := map[string]json.RawMessage{}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		i++
	} else {
		for {
			end, err := valueEnd(data, i)
			if err != nil || data[i] != '"' {
				return nil, errors.New("invalid member name")
			}
			var name string
			if err := json.Unmarshal(data[i:end], &name); err != nil {
				return nil, errors.New("invalid member name")
			}
			if _, dup := members[name]; dup {
				return nil, fmt.Errorf("member %q appears twice", name)
			}
			if i = skipSpace(data, end); i == len(data) || data[i] != ':' {
				return nil, fmt.Errorf("member %q has no value", name)
			}
			i = skipSpace(data, i+1)
			if end, err = valueEnd(data, i); err != nil || !json.Valid(data[i:end]) {
				return nil, fmt.Errorf("member %q is not valid JSON", name)
			}
			members[name] = data[i:end:end]
			if i = skipSpace(data, end); i < len(data) && data[i] == ',' {
				i = skipSpace(data, i+1)
				continue
			}
			if i == len(data) || data[i] != '}' {
				return nil, errors.New("unterminated object")
			}
			i++
			break
		}
	}
	if skipSpace(data, i) != len(data) {
		return nil, errors.New("data after the JSON object")
	}
	return members, nil
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// valueEnd returns the index just after the JSON value that starts at i:
// a string, an object or array (nesting and strings followed), or a
// literal or number (up to the next delimiter). It only finds the extent;
// json.Valid checks the value.
func valueEnd(data []byte, i int) (int, error) {
	if i >= len(data) {
		return 0, errors.New("unexpected end of JSON")
	}
	depth := 0
	for j := i; j < len(data); j++ {
		switch c := data[j]; {
		case c == '"':
			k := j + 1
			for k < len(data) && data[k] != '"' {
				if data[k] == '\\' {
					k++
				}
				k++
			}
			if k >= len(data) {
				return 0, errors.New("unterminated string")
			}
			j = k
			if depth == 0 {
				return j + 1, nil
			}
		case c == '{' || c == '[':
			depth++
		case depth == 0 && j > i && (c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return j, nil // the end of a literal or number
		case c == '}' || c == ']':
			if depth--; depth < 0 {
				return 0, errors.New("unbalanced JSON")
			}
			if depth == 0 {
				return j + 1, nil
			}
		}
	}
	if depth != 0 {
		return 0, errors.New("unterminated JSON value")
	}
	return len(data), nil
}

// base64Member returns the text of the string member name of obj, which
// must hold base64url characters only (so no JSON escapes): it shares
// obj's memory.
func base64Member(obj map[string]json.RawMessage, name string) ([]byte, error) {
	raw, ok := obj[name]
	if !ok {
		return nil, malformed("member %q is missing", name)
	}
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, malformed("member %q is not a string", name)
	}
	text := raw[1 : len(raw)-1]
	if bytes.IndexByte(text, '\\') >= 0 {
		return nil, malformed("member %q is not unpadded base64url: it holds a JSON escape", name)
	}
	return text, nil
}

// decodeBase64URL decodes unpadded base64url strictly (no padding, no line
// breaks, no stray bits), as JWS requires.
func decodeBase64URL(name string, s []byte) ([]byte, error) {
	if bytes.ContainsAny(s, "\r\n") {
		return nil, malformed("member %q contains a line break", name)
	}
	enc := base64.RawURLEncoding.Strict()
	b := make([]byte, enc.DecodedLen(len(s)))
	n, err := enc.Decode(b, s)
	if err != nil {
		return nil, malformed("member %q is not unpadded base64url: %v", name, err)
	}
	return b[:n], nil
}

// parseProtected checks the protected header and records it in env.
func parseProtected(data []byte, env *Envelope) error {
	h, err := decodeObject(data)
	if err != nil {
		return malformed("the protected header is not a JSON object: %v", err)
	}
	str := func(name string) (string, bool, error) {
		raw, ok := h[name]
		if !ok {
			return "", false, nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", true, malformed("protected header %q is not a string", name)
		}
		return s, true, nil
	}

	alg, ok, err := str("alg")
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnsupportedAlgorithm, err)
	}
	if !ok {
		return fmt.Errorf("%w: the protected header has no alg", ErrUnsupportedAlgorithm)
	}
	if env.Algorithm, err = nvcrypto.ParseAlgorithm(alg); err != nil {
		return fmt.Errorf("%w: %v", ErrUnsupportedAlgorithm, err)
	}

	rawCrit, ok := h["crit"]
	if !ok {
		return fmt.Errorf("%w: the protected header has no crit; it must list %s", ErrMissingCritical, spec.HeaderSigningScheme)
	}
	var crit []string
	if err := json.Unmarshal(rawCrit, &crit); err != nil || len(crit) == 0 {
		return malformed("crit must be a non-empty array of header names")
	}
	for _, name := range mustBeCritical {
		if _, present := h[name]; present && !slices.Contains(crit, name) {
			return fmt.Errorf("%w: %q is in the protected header but not in crit: the envelope was not made by a Notary Project signer", ErrMissingCritical, name)
		}
	}
	for _, name := range pluginHeaders {
		if raw, present := h[name]; present {
			return fmt.Errorf("%w: %s is %s, and nv2 runs no verification plugins, so it cannot check what the signer required", ErrPluginRequired, name, raw)
		}
	}
	for i, name := range crit {
		if !slices.Contains(criticalHeaders, name) {
			return fmt.Errorf("%w: crit lists %q, which nv2 does not process: this signature needs a newer or different verifier", ErrUnknownCritical, name)
		}
		if slices.Contains(crit[:i], name) {
			return malformed("crit lists %q twice", name)
		}
		if _, present := h[name]; !present {
			return malformed("crit lists %q but the protected header has no such member", name)
		}
	}

	cty, _, err := str("cty")
	if err != nil {
		return err
	}
	if cty != spec.MediaTypePayload {
		return fmt.Errorf("%w: cty is %q, want %q", ErrContentType, cty, spec.MediaTypePayload)
	}

	if env.SigningScheme, _, err = str(spec.HeaderSigningScheme); err != nil {
		return err
	}
	if env.SigningScheme != spec.SigningSchemeX509 {
		return fmt.Errorf("%w: %q, nv2 verifies only %q signatures", ErrUnsupportedScheme, env.SigningScheme, spec.SigningSchemeX509)
	}

	st, ok, err := str(spec.HeaderSigningTime)
	if err != nil {
		return err
	}
	if !ok {
		return malformed("the protected header has no %s", spec.HeaderSigningTime)
	}
	if env.SigningTime, err = parseRFC3339(st); err != nil {
		return malformed("%s %q is not an RFC 3339 time", spec.HeaderSigningTime, st)
	}
	if ex, ok, err := str(spec.HeaderExpiry); err != nil {
		return err
	} else if ok {
		if env.Expiry, err = parseRFC3339(ex); err != nil {
			return malformed("%s %q is not an RFC 3339 time", spec.HeaderExpiry, ex)
		}
	}
	return nil
}

// rfc3339 is RFC 3339's date-time (section 5.6): full-date "T" full-time,
// with an optional time-secfrac and a "Z" or numeric offset; "T" and "Z"
// may be lowercase (section 5.6, NOTE). Go's time.Parse accepts more, such
// as a comma before the fraction.
var rfc3339 = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$`)

// parseRFC3339 parses s, which must be an RFC 3339 date-time: the signing
// time and expiry are "RFC 3339 formatted" (signature-envelope-jws.md).
func parseRFC3339(s string) (time.Time, error) {
	if !rfc3339.MatchString(s) {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 date-time", s)
	}
	return time.Parse(time.RFC3339Nano, strings.ToUpper(s))
}

// parseHeader reads x5c, the signing agent and the timestamp token from the
// unprotected header. Other members are unsigned and ignored.
func parseHeader(data json.RawMessage, env *Envelope) error {
	h, err := decodeObject(data)
	if err != nil {
		return malformed("the unprotected header is not a JSON object: %v", err)
	}
	if raw, ok := h[spec.HeaderSigningAgent]; ok {
		if err := json.Unmarshal(raw, &env.SigningAgent); err != nil {
			return malformed("%s is not a string", spec.HeaderSigningAgent)
		}
	}
	if err := parseTimestampSignature(h, env); err != nil {
		return err
	}
	raw, ok := h["x5c"]
	if !ok {
		return fmt.Errorf("%w: the header has no x5c: the envelope must carry the signing certificate chain", ErrMissingCertificates)
	}
	var x5c []string
	if err := json.Unmarshal(raw, &x5c); err != nil {
		return fmt.Errorf("%w: x5c is not an array of strings", ErrMissingCertificates)
	}
	if len(x5c) == 0 {
		return fmt.Errorf("%w: x5c is empty: the envelope must carry the signing certificate chain", ErrMissingCertificates)
	}
	if len(x5c) > maxCertificates {
		return fmt.Errorf("%w: x5c holds %d certificates, more than the %d nv2 accepts", ErrMissingCertificates, len(x5c), maxCertificates)
	}
	for i, s := range x5c {
		der, err := base64.StdEncoding.Strict().DecodeString(s)
		if err != nil || strings.ContainsAny(s, "\r\n") {
			return fmt.Errorf("%w: x5c[%d] is not base64", ErrMissingCertificates, i)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return fmt.Errorf("%w: x5c[%d]: %v", ErrMissingCertificates, i, err)
		}
		env.Chain = append(env.Chain, cert)
	}
	return nil
}

// checkBase64URL reports whether decodeBase64URL would accept s, decoding it
// through a small buffer.
func checkBase64URL(name string, s []byte) error {
	if bytes.ContainsAny(s, "\r\n") {
		return malformed("member %q contains a line break", name)
	}
	if _, err := io.Copy(io.Discard, base64.NewDecoder(base64.RawURLEncoding.Strict(), bytes.NewReader(s))); err != nil {
		return malformed("member %q is not unpadded base64url: %v", name, err)
	}
	return nil
}

// verifySignature checks sig, a JWS signature of alg, with the leaf's public
// key over the signing input: the concatenation of input's parts, hashed
// as they are, without joining them.
func verifySignature(leaf *x509.Certificate, alg nvcrypto.Algorithm, sig []byte, input ...[]byte) error {
	hash := alg.Hash()
	h := hash.New()
	for _, part := range input {
		h.Write(part)
	}
	digest := h.Sum(nil)
	switch pub := leaf.PublicKey.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPSS(pub, hash, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case *ecdsa.PublicKey:
		size := (pub.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return fmt.Errorf("an %s signature has %d bytes, this one %d", alg, 2*size, len(sig))
		}
		r := new(big.Int).SetBytes(sig[:size])
		s := new(big.Int).SetBytes(sig[size:])
		if !ecdsa.Verify(pub, digest, r, s) {
			return errors.New("ECDSA verification failed")
		}
		return nil
	}
	return fmt.Errorf("%T keys are not supported", leaf.PublicKey)
}

// ecdsaDERToJWS converts an ASN.1 ECDSA signature to the JWS form R || S,
// each padded to size bytes.
func ecdsaDERToJWS(der []byte, size int) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil || len(rest) != 0 || sig.R == nil || sig.S == nil || sig.R.Sign() <= 0 || sig.S.Sign() <= 0 {
		return nil, errors.New("the key returned an invalid ECDSA signature")
	}
	if sig.R.BitLen() > 8*size || sig.S.BitLen() > 8*size {
		return nil, errors.New("the key returned an ECDSA signature too large for its curve")
	}
	out := make([]byte, 2*size)
	sig.R.FillBytes(out[:size])
	sig.S.FillBytes(out[size:])
	return out, nil
}

// parsePayload decodes the signed payload strictly into env.Payload: a JSON
// object with only targetArtifact, an OCI descriptor with at least mediaType,
// a valid digest and a size. Member names must match exactly (encoding/json
// alone would accept "MediaType" or a name given twice).
func parsePayload(data []byte, env *Envelope) error {
	p, err := decodeObject(data)
	if err != nil {
		return malformed("the payload is not a JSON object: %v", err)
	}
	for name := range p {
		if name != "targetArtifact" {
			return malformed("the payload has an unexpected member %q", name)
		}
	}
	raw, ok := p["targetArtifact"]
	if !ok {
		return malformed("the payload has no targetArtifact")
	}
	members, err := decodeObject(raw)
	if err != nil {
		return malformed("the payload's targetArtifact is not a JSON object: %v", err)
	}
	for name := range members {
		if !slices.Contains(descriptorMembers, name) {
			return malformed("the payload's targetArtifact has an unexpected member %q", name)
		}
	}
	if _, ok := members["size"]; !ok {
		return malformed("the payload's targetArtifact has no size")
	}
	ta := &env.Payload.TargetArtifact
	if err := json.Unmarshal(raw, ta); err != nil {
		return malformed("the payload's targetArtifact is not an OCI descriptor: %v", err)
	}
	if ta.MediaType == "" {
		return malformed("the payload's targetArtifact has no mediaType")
	}
	if err := ta.Digest.Validate(); err != nil {
		return malformed("the payload's targetArtifact digest %q is invalid: %v", ta.Digest, err)
	}
	if ta.Size < 0 {
		return malformed("the payload's targetArtifact size %d is negative", ta.Size)
	}
	return nil
}
