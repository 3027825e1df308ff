package signature_test

import (
	"bytes"
	stdcrypto "crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/spec"
)

func TestSignVerifyRoundTrip(t *testing.T) {
	signingTime := time.Now().Truncate(time.Second).In(time.FixedZone("CET", 3600))
	requests := map[string]signature.SignRequest{
		"plain": {Target: target, SigningTime: signingTime},
		"annotations, expiry and agent": {
			Target:       target,
			Annotations:  map[string]string{"io.nv2.build": "42", "org.opencontainers.image.source": "https://example.com/<repo>&"},
			SigningTime:  signingTime,
			Expiry:       signingTime.Add(90 * 24 * time.Hour),
			SigningAgent: "nv2/0.1.0",
		},
	}
	tests := []struct {
		keyType nvcrypto.KeyType
		ca      bool
		want    nvcrypto.Algorithm
	}{
		{nvcrypto.ECDSAP256, false, nvcrypto.ES256},
		{nvcrypto.ECDSAP256, true, nvcrypto.ES256},
		{nvcrypto.ECDSAP384, true, nvcrypto.ES384},
		{nvcrypto.ECDSAP521, true, nvcrypto.ES512},
		{nvcrypto.RSA2048, false, nvcrypto.PS256},
		{nvcrypto.RSA3072, true, nvcrypto.PS384},
		{nvcrypto.RSA4096, true, nvcrypto.PS512},
	}
	for _, tt := range tests {
		c := credentials(t, tt.keyType, tt.ca)
		s := newSigner(t, c)
		if s.Algorithm() != tt.want {
			t.Fatalf("%s: Algorithm() = %s; want %s", tt.keyType, s.Algorithm(), tt.want)
		}
		for name, req := range requests {
			t.Run(string(tt.want)+"/"+string(tt.keyType)+map[bool]string{true: "+ca"}[tt.ca]+"/"+name, func(t *testing.T) {
				env := sign(t, s, req)
				got, err := signature.Verify(env)
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				want := ocispec.Descriptor{MediaType: target.MediaType, Digest: target.Digest, Size: target.Size, Annotations: req.Annotations}
				if !descriptorEqual(got.Payload.TargetArtifact, want) {
					t.Errorf("target = %+v; want %+v", got.Payload.TargetArtifact, want)
				}
				if !got.SigningTime.Equal(req.SigningTime) || !got.Expiry.Equal(req.Expiry) {
					t.Errorf("times = %s, %s; want %s, %s", got.SigningTime, got.Expiry, req.SigningTime, req.Expiry)
				}
				if _, offset := got.SigningTime.Zone(); offset != 3600 {
					t.Errorf("signing time lost its offset: %s", got.SigningTime)
				}
				if got.Algorithm != tt.want || got.SigningScheme != spec.SigningSchemeX509 || got.SigningAgent != req.SigningAgent {
					t.Errorf("alg, scheme, agent = %s, %s, %q", got.Algorithm, got.SigningScheme, got.SigningAgent)
				}
				if !slices.Equal(nvcrypto.Thumbprints(got.Chain), nvcrypto.Thumbprints(c.Chain)) {
					t.Error("x5c is not the signer's chain, leaf first")
				}
				checkWireFormat(t, env, req)
			})
		}
	}
}

func descriptorEqual(a, b ocispec.Descriptor) bool {
	return a.MediaType == b.MediaType && a.Digest == b.Digest && a.Size == b.Size && maps.Equal(a.Annotations, b.Annotations) &&
		a.URLs == nil && a.Platform == nil && a.ArtifactType == "" && a.Data == nil
}

// checkWireFormat checks the envelope members and headers named by the Notary
// Project JWS format, independently of Verify.
func checkWireFormat(t *testing.T, env []byte, req signature.SignRequest) {
	t.Helper()
	var top map[string]json.RawMessage
	if err := json.Unmarshal(env, &top); err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(top)); !slices.Equal(got, []string{"header", "payload", "protected", "signature"}) {
		t.Errorf("envelope members = %v; want exactly header, payload, protected, signature", got)
	}
	p := split(t, env)
	wantCrit := []any{spec.HeaderSigningScheme}
	wantProtected := []string{"alg", "crit", "cty", spec.HeaderSigningScheme, spec.HeaderSigningTime}
	if !req.Expiry.IsZero() {
		wantCrit = append(wantCrit, spec.HeaderExpiry)
		wantProtected = append(wantProtected, spec.HeaderExpiry)
	}
	if got := slices.Sorted(maps.Keys(p.Protected)); !slices.Equal(got, slices.Sorted(slices.Values(wantProtected))) {
		t.Errorf("protected header members = %v; want %v", got, wantProtected)
	}
	if crit, _ := p.Protected["crit"].([]any); !slices.Equal(crit, wantCrit) {
		t.Errorf("crit = %v; want %v", p.Protected["crit"], wantCrit)
	}
	if p.Protected["cty"] != spec.MediaTypePayload || p.Protected[spec.HeaderSigningScheme] != spec.SigningSchemeX509 {
		t.Errorf("cty, signing scheme = %v, %v", p.Protected["cty"], p.Protected[spec.HeaderSigningScheme])
	}
	if got := p.Protected[spec.HeaderSigningTime]; got != req.SigningTime.Format(time.RFC3339) {
		t.Errorf("signing time = %v; want %s", got, req.SigningTime.Format(time.RFC3339))
	}
	wantHeader := []string{"x5c"}
	if req.SigningAgent != "" {
		wantHeader = append(wantHeader, spec.HeaderSigningAgent)
	}
	if got := slices.Sorted(maps.Keys(p.Header)); !slices.Equal(got, slices.Sorted(slices.Values(wantHeader))) {
		t.Errorf("header members = %v; want %v", got, wantHeader)
	}
	for _, c := range p.Header["x5c"].([]any) {
		der, err := base64.StdEncoding.DecodeString(c.(string))
		if err != nil {
			t.Fatalf("x5c entry is not standard base64: %v", err)
		}
		if _, err := x509.ParseCertificate(der); err != nil {
			t.Fatal(err)
		}
	}
	var payload map[string]map[string]any
	if err := json.Unmarshal(p.Payload, &payload); err != nil || len(payload) != 1 || payload["targetArtifact"] == nil {
		t.Fatalf("payload %s is not {\"targetArtifact\": ...}: %v", p.Payload, err)
	}
	if _, ok := payload["targetArtifact"]["annotations"]; ok != (len(req.Annotations) > 0) {
		t.Errorf("payload %s: annotations present = %v; want %v", p.Payload, ok, len(req.Annotations) > 0)
	}
}

func TestSignDefaultsSigningTimeToNow(t *testing.T) {
	s := newSigner(t, credentials(t, nvcrypto.ECDSAP256, false))
	before := time.Now().Truncate(time.Second)
	env, err := signature.Verify(sign(t, s, signature.SignRequest{Target: target}))
	if err != nil {
		t.Fatal(err)
	}
	if env.SigningTime.Before(before) || env.SigningTime.After(time.Now()) || !env.Expiry.IsZero() {
		t.Errorf("signing time %s, expiry %s; want now and none", env.SigningTime, env.Expiry)
	}
}

func TestNewSignerRefuses(t *testing.T) {
	c := credentials(t, nvcrypto.ECDSAP256, true)
	other := credentials(t, nvcrypto.ECDSAP384, true)
	tests := []struct {
		name    string
		creds   *nvcrypto.Credentials
		wantIs  error
		wantMsg string
	}{
		{"no key", &nvcrypto.Credentials{Chain: c.Chain}, nil, "no private key"},
		{"no chain", &nvcrypto.Credentials{Key: c.Key}, nil, "no certificate chain"},
		{"key of another certificate", &nvcrypto.Credentials{Key: other.Key, Chain: c.Chain}, nvcrypto.ErrKeyMismatch, "does not match"},
		{"CA key with the CA as leaf", &nvcrypto.Credentials{Key: c.CAKey, Chain: c.Chain[1:]}, nvcrypto.ErrInvalidChain, "is a CA"},
		{"chain in the wrong order", &nvcrypto.Credentials{Key: c.Key, Chain: []*x509.Certificate{c.Chain[0], other.Chain[1]}}, nvcrypto.ErrInvalidChain, "issued by"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := signature.NewSigner(tt.creds.Key, tt.creds.Chain)
			if err == nil || (tt.wantIs != nil && !errors.Is(err, tt.wantIs)) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("NewSigner error = %v; want %v mentioning %q", err, tt.wantIs, tt.wantMsg)
			}
		})
	}
}

func TestSignRefuses(t *testing.T) {
	s := newSigner(t, credentials(t, nvcrypto.ECDSAP256, false))
	now := time.Now()
	tests := map[string]signature.SignRequest{
		"no media type":          {Target: ocispec.Descriptor{Digest: target.Digest, Size: 1}},
		"invalid digest":         {Target: ocispec.Descriptor{MediaType: target.MediaType, Digest: "sha256:abc", Size: 1}},
		"negative size":          {Target: ocispec.Descriptor{MediaType: target.MediaType, Digest: target.Digest, Size: -1}},
		"expiry before signing":  {Target: target, SigningTime: now, Expiry: now.Add(-time.Hour)},
		"expiry at signing time": {Target: target, SigningTime: now, Expiry: now},
	}
	for name, req := range tests {
		if _, err := s.Sign(req); err == nil {
			t.Errorf("%s: Sign succeeded; want an error", name)
		}
	}
}

// TestVerifyRefuses changes a valid envelope in one way each and checks that
// Verify refuses it for that reason.
func TestVerifyRefuses(t *testing.T) {
	c := credentials(t, nvcrypto.ECDSAP256, true)
	key := c.Key
	signingTime := time.Now().UTC().Truncate(time.Second)
	valid := sign(t, newSigner(t, c), signature.SignRequest{
		Target: target, SigningTime: signingTime, Expiry: signingTime.Add(time.Hour), SigningAgent: "nv2/test",
		Annotations: map[string]string{"a": "b"},
	})
	otherLeaf := base64.StdEncoding.EncodeToString(credentials(t, nvcrypto.ECDSAP256, false).Chain[0].Raw)

	// edit changes the parts; resign signs the result with key again, so the
	// edit is the only thing wrong with the envelope.
	type edit func(p *parts)
	tests := []struct {
		name   string
		edit   edit
		resign bool
		raw    func(env []byte) []byte // instead of edit: change the bytes
		wantIs error
	}{
		// Integrity.
		{"payload changed after signing", func(p *parts) { p.Payload = bytes.Replace(p.Payload, []byte("528"), []byte("529"), 1) }, false, nil, signature.ErrInvalidSignature},
		{"signing time changed after signing", func(p *parts) { p.Protected[spec.HeaderSigningTime] = "2027-01-02T03:04:05Z" }, false, nil, signature.ErrInvalidSignature},
		{"expiry removed after signing", func(p *parts) {
			delete(p.Protected, spec.HeaderExpiry)
			p.Protected["crit"] = []string{spec.HeaderSigningScheme}
		}, false, nil, signature.ErrInvalidSignature},
		{"signature bit flipped", func(p *parts) { p.Signature[5] ^= 1 }, false, nil, signature.ErrInvalidSignature},
		{"signature truncated", func(p *parts) { p.Signature = p.Signature[:len(p.Signature)-1] }, false, nil, signature.ErrInvalidSignature},
		{"signature empty", func(p *parts) { p.Signature = nil }, false, nil, signature.ErrInvalidSignature},
		{"x5c leaf of another key", func(p *parts) { p.Header["x5c"] = []string{otherLeaf} }, false, nil, signature.ErrInvalidSignature},

		// Algorithm.
		{"alg missing", func(p *parts) { delete(p.Protected, "alg") }, true, nil, signature.ErrUnsupportedAlgorithm},
		{"alg none", func(p *parts) { p.Protected["alg"] = "none" }, true, nil, signature.ErrUnsupportedAlgorithm},
		{"alg HS256", func(p *parts) { p.Protected["alg"] = "HS256" }, true, nil, signature.ErrUnsupportedAlgorithm},
		{"alg RS256", func(p *parts) { p.Protected["alg"] = "RS256" }, true, nil, signature.ErrUnsupportedAlgorithm},
		{"alg lower case", func(p *parts) { p.Protected["alg"] = "es256" }, true, nil, signature.ErrUnsupportedAlgorithm},
		{"alg not a string", func(p *parts) { p.Protected["alg"] = 256 }, true, nil, signature.ErrUnsupportedAlgorithm},
		{"alg ES384 on a P-256 key", func(p *parts) { p.Protected["alg"] = "ES384" }, true, nil, signature.ErrAlgorithmMismatch},
		{"alg PS256 on a P-256 key", func(p *parts) { p.Protected["alg"] = "PS256" }, true, nil, signature.ErrAlgorithmMismatch},

		// Critical headers.
		{"crit names an unknown header", func(p *parts) {
			p.Protected["io.example.policy"] = "x"
			p.Protected["crit"] = []string{spec.HeaderSigningScheme, spec.HeaderExpiry, "io.example.policy"}
		}, true, nil, signature.ErrUnknownCritical},
		{"crit names b64", func(p *parts) {
			p.Protected["b64"] = true
			p.Protected["crit"] = []string{spec.HeaderSigningScheme, spec.HeaderExpiry, "b64"}
		}, true, nil, signature.ErrUnknownCritical},
		{"crit without signingScheme", func(p *parts) { p.Protected["crit"] = []string{spec.HeaderExpiry} }, true, nil, signature.ErrMissingCritical},
		{"crit missing", func(p *parts) { delete(p.Protected, "crit") }, true, nil, signature.ErrMissingCritical},
		{"expiry present but not in crit", func(p *parts) { p.Protected["crit"] = []string{spec.HeaderSigningScheme} }, true, nil, signature.ErrMissingCritical},
		{"crit empty", func(p *parts) { p.Protected["crit"] = []string{} }, true, nil, signature.ErrMalformed},
		{"crit not an array", func(p *parts) { p.Protected["crit"] = spec.HeaderSigningScheme }, true, nil, signature.ErrMalformed},
		{"crit names a header that is absent", func(p *parts) { delete(p.Protected, spec.HeaderExpiry) }, true, nil, signature.ErrMalformed},
		{"crit lists a name twice", func(p *parts) {
			p.Protected["crit"] = []string{spec.HeaderSigningScheme, spec.HeaderExpiry, spec.HeaderExpiry}
		}, true, nil, signature.ErrMalformed},
		// signature-envelope-jws.md marks authenticSigningTime,
		// verificationPlugin and verificationPluginMinVersion "(critical)":
		// present, they must be in crit.
		{"authenticSigningTime present but not in crit", func(p *parts) {
			p.Protected[spec.HeaderAuthenticSigningTime] = "2026-01-02T03:04:05Z"
		}, true, nil, signature.ErrMissingCritical},
		{"verificationPlugin present but not in crit", func(p *parts) {
			p.Protected[spec.HeaderVerificationPlugin] = "com.example.plugin"
		}, true, nil, signature.ErrMissingCritical},
		{"verificationPluginMinVersion present but not in crit", func(p *parts) {
			p.Protected[spec.HeaderVerificationPluginMinVersion] = "1.0.0"
		}, true, nil, signature.ErrMissingCritical},
		// "An implementation MUST fail signature verification if it cannot
		// perform the equivalent verification logic" of the plugin.
		{"a verification plugin, critical", func(p *parts) {
			p.Protected[spec.HeaderVerificationPlugin] = "com.example.plugin"
			p.Protected["crit"] = []string{spec.HeaderSigningScheme, spec.HeaderExpiry, spec.HeaderVerificationPlugin}
		}, true, nil, signature.ErrPluginRequired},
		{"a verification plugin's minimum version, critical", func(p *parts) {
			p.Protected[spec.HeaderVerificationPlugin] = "com.example.plugin"
			p.Protected[spec.HeaderVerificationPluginMinVersion] = "1.0.0"
			p.Protected["crit"] = []string{spec.HeaderSigningScheme, spec.HeaderExpiry, spec.HeaderVerificationPlugin, spec.HeaderVerificationPluginMinVersion}
		}, true, nil, signature.ErrPluginRequired},
		// The JWS envelope specification: the signing time and expiry are
		// "RFC 3339 formatted"; time.Parse accepts more than RFC 3339.
		{"signing time with a comma before the fraction", func(p *parts) { p.Protected[spec.HeaderSigningTime] = "2026-01-02T03:04:05,5Z" }, true, nil, signature.ErrMalformed},
		{"signing time without seconds", func(p *parts) { p.Protected[spec.HeaderSigningTime] = "2026-01-02T03:04Z" }, true, nil, signature.ErrMalformed},
		{"signing time with a space for T", func(p *parts) { p.Protected[spec.HeaderSigningTime] = "2026-01-02 03:04:05Z" }, true, nil, signature.ErrMalformed},
		{"signing time without a zone", func(p *parts) { p.Protected[spec.HeaderSigningTime] = "2026-01-02T03:04:05" }, true, nil, signature.ErrMalformed},
		{"signing time with a one-digit hour", func(p *parts) { p.Protected[spec.HeaderSigningTime] = "2026-01-02T3:04:05Z" }, true, nil, signature.ErrMalformed},
		{"expiry with a comma before the fraction", func(p *parts) { p.Protected[spec.HeaderExpiry] = "2126-01-02T03:04:05,5Z" }, true, nil, signature.ErrMalformed},

		// Other protected headers.
		{"cty wrong", func(p *parts) { p.Protected["cty"] = "application/json" }, true, nil, signature.ErrContentType},
		{"cty missing", func(p *parts) { delete(p.Protected, "cty") }, true, nil, signature.ErrContentType},
		{"signing scheme signingAuthority", func(p *parts) { p.Protected[spec.HeaderSigningScheme] = "notary.x509.signingAuthority" }, true, nil, signature.ErrUnsupportedScheme},
		{"signing time missing", func(p *parts) { delete(p.Protected, spec.HeaderSigningTime) }, true, nil, signature.ErrMalformed},
		{"signing time not RFC 3339", func(p *parts) { p.Protected[spec.HeaderSigningTime] = "2026-01-02 03:04:05" }, true, nil, signature.ErrMalformed},
		{"expiry not RFC 3339", func(p *parts) { p.Protected[spec.HeaderExpiry] = 1767322000 }, true, nil, signature.ErrMalformed},

		// Certificates.
		{"x5c missing", func(p *parts) { delete(p.Header, "x5c") }, true, nil, signature.ErrMissingCertificates},
		{"x5c empty", func(p *parts) { p.Header["x5c"] = []string{} }, true, nil, signature.ErrMissingCertificates},
		{"x5c null", func(p *parts) { p.Header["x5c"] = nil }, true, nil, signature.ErrMissingCertificates},
		{"x5c not base64", func(p *parts) { p.Header["x5c"] = []string{"not base64!"} }, true, nil, signature.ErrMissingCertificates},
		{"x5c base64url instead of base64", func(p *parts) {
			p.Header["x5c"] = []string{base64.RawURLEncoding.EncodeToString(c.Chain[0].Raw)}
		}, true, nil, signature.ErrMissingCertificates},
		{"x5c with 17 certificates", func(p *parts) {
			p.Header["x5c"] = slices.Repeat([]string{base64.StdEncoding.EncodeToString(c.Chain[0].Raw)}, 17)
		}, true, nil, signature.ErrMissingCertificates},
		{"x5c not a certificate", func(p *parts) { p.Header["x5c"] = []string{"AAAA"} }, true, nil, signature.ErrMissingCertificates},
		{"header not an object", func(p *parts) { p.Header = nil }, true, nil, signature.ErrMalformed},

		// Payload.
		{"payload not JSON", func(p *parts) { p.Payload = []byte("hello") }, true, nil, signature.ErrMalformed},
		{"payload without targetArtifact", func(p *parts) { p.Payload = []byte(`{}`) }, true, nil, signature.ErrMalformed},
		{"payload with an unknown member", func(p *parts) { p.Payload = []byte(`{"targetArtifact":` + targetJSON + `,"extra":1}`) }, true, nil, signature.ErrMalformed},
		{"payload digest invalid", func(p *parts) {
			p.Payload = []byte(`{"targetArtifact":{"mediaType":"a/b","digest":"sha256:1234","size":1}}`)
		}, true, nil, signature.ErrMalformed},
		{"payload size missing", func(p *parts) {
			p.Payload = []byte(`{"targetArtifact":{"mediaType":"a/b","digest":"` + string(target.Digest) + `"}}`)
		}, true, nil, signature.ErrMalformed},
		{"payload member name in another case", func(p *parts) {
			p.Payload = []byte(`{"TargetArtifact":` + targetJSON + `}`)
		}, true, nil, signature.ErrMalformed},
		{"payload descriptor member name in another case", func(p *parts) {
			p.Payload = []byte(`{"targetArtifact":{"mediatype":"a/b","digest":"` + string(target.Digest) + `","size":1}}`)
		}, true, nil, signature.ErrMalformed},
		{"payload targetArtifact given twice", func(p *parts) {
			p.Payload = []byte(`{"targetArtifact":` + targetJSON + `,"targetArtifact":` + targetJSON + `}`)
		}, true, nil, signature.ErrMalformed},
		{"payload size negative", func(p *parts) {
			p.Payload = []byte(`{"targetArtifact":{"mediaType":"a/b","digest":"` + string(target.Digest) + `","size":-1}}`)
		}, true, nil, signature.ErrMalformed},
		{"payload media type missing", func(p *parts) {
			p.Payload = []byte(`{"targetArtifact":{"digest":"` + string(target.Digest) + `","size":1}}`)
		}, true, nil, signature.ErrMalformed},

		// Envelope JSON and encoding.
		{"malformed JSON", nil, false, func(env []byte) []byte { return env[:len(env)-1] }, signature.ErrMalformed},
		{"not an object", nil, false, func([]byte) []byte { return []byte(`["payload"]`) }, signature.ErrMalformed},
		{"empty input", nil, false, func([]byte) []byte { return nil }, signature.ErrMalformed},
		{"data after the object", nil, false, func(env []byte) []byte { return append(env, []byte(" {}")...) }, signature.ErrMalformed},
		{"extra top-level member", nil, false, func(env []byte) []byte { return withMember(t, env, "signatures", `[]`) }, signature.ErrMalformed},
		{"duplicate member", nil, false, func(env []byte) []byte {
			return append([]byte(`{"payload":"e30",`), env[1:]...)
		}, signature.ErrMalformed},
		{"member missing", nil, false, func(env []byte) []byte { return withoutMember(t, env, "header") }, signature.ErrMalformed},
		{"payload padded base64url", nil, false, func(env []byte) []byte {
			return editMember(t, env, "payload", func(s string) string { return s + "==" })
		}, signature.ErrMalformed},
		{"payload standard base64", nil, false, func(env []byte) []byte {
			return editMember(t, env, "payload", func(s string) string { return strings.NewReplacer("-", "+", "_", "/").Replace(s) + "+/" })
		}, signature.ErrMalformed},
		{"signature with stray bits in base64url", nil, false, func(env []byte) []byte {
			// 64 signature bytes leave 4 unused bits in the last character.
			return editMember(t, env, "signature", func(s string) string {
				const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
				last := strings.IndexByte(alphabet, s[len(s)-1])
				return s[:len(s)-1] + string(alphabet[last^1])
			})
		}, signature.ErrMalformed},
		{"protected with a line break", nil, false, func(env []byte) []byte {
			return editMember(t, env, "protected", func(s string) string { return s[:8] + "\n" + s[8:] })
		}, signature.ErrMalformed},
		{"signature not a string", nil, false, func(env []byte) []byte { return withMember(t, withoutMember(t, env, "signature"), "signature", `42`) }, signature.ErrMalformed},
		{"protected not JSON", nil, false, func(env []byte) []byte {
			return editMember(t, env, "protected", func(string) string { return base64.RawURLEncoding.EncodeToString([]byte("alg")) })
		}, signature.ErrMalformed},
		{"protected with a duplicate member", nil, false, func(env []byte) []byte {
			return editMember(t, env, "protected", func(s string) string {
				h := b64decode(t, s)
				return base64.RawURLEncoding.EncodeToString(append([]byte(`{"alg":"ES256",`), h[1:]...))
			})
		}, signature.ErrMalformed},
		{"larger than 32 MiB", nil, false, func(env []byte) []byte {
			return append(env, bytes.Repeat([]byte(" "), spec.MaxEnvelopeSize)...)
		}, signature.ErrTooLarge},
	}
	if _, err := signature.Verify(valid); err != nil {
		t.Fatalf("the envelope to tamper with does not verify: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var env []byte
			if tt.raw != nil {
				env = tt.raw(bytes.Clone(valid))
			} else {
				p := split(t, valid)
				tt.edit(&p)
				var k = key
				if !tt.resign {
					k = nil
				}
				env = p.join(t, k)
			}
			_, err := signature.Verify(env)
			if !errors.Is(err, tt.wantIs) {
				t.Fatalf("Verify error = %v; want %v", err, tt.wantIs)
			}
			if len(err.Error()) < len(tt.wantIs.Error())+10 {
				t.Errorf("error %q says no more than its kind", err)
			}
		})
	}
}

var targetJSON = `{"mediaType":"` + target.MediaType + `","digest":"` + string(target.Digest) + `","size":528}`

// withMember adds a member to a JSON object.
func withMember(t *testing.T, obj []byte, name, value string) []byte {
	t.Helper()
	return append([]byte(`{"`+name+`":`+value+`,`), obj[1:]...)
}

func withoutMember(t *testing.T, obj []byte, name string) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, name)
	b, _ := json.Marshal(m)
	return b
}

// editMember replaces a string member of a JSON object by edit(old).
func editMember(t *testing.T, obj []byte, name string, edit func(string) string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(obj, &m); err != nil {
		t.Fatal(err)
	}
	m[name] = edit(m[name].(string))
	b, _ := json.Marshal(m)
	return b
}

// TestVerifyIgnoresUnknownUnsignedHeaders: unprotected members are not signed
// and change nothing nv2 decides (notation puts a timestamp there).
func TestVerifyIgnoresUnknownUnsignedHeaders(t *testing.T) {
	c := credentials(t, nvcrypto.ECDSAP256, false)
	p := split(t, sign(t, newSigner(t, c), signature.SignRequest{Target: target}))
	p.Header["io.cncf.notary.timestamp"] = "AAAA"
	if _, err := signature.Verify(p.join(t, nil)); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

// TestSignWithOpaqueKey signs with a crypto.Signer that is not an *ecdsa or
// *rsa private key, as an HSM or KMS key would be.
func TestSignWithOpaqueKey(t *testing.T) {
	for _, kt := range []nvcrypto.KeyType{nvcrypto.ECDSAP256, nvcrypto.ECDSAP521, nvcrypto.RSA2048} {
		c := credentials(t, kt, false)
		s, err := signature.NewSigner(opaque{c.Key}, c.Chain)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := signature.Verify(sign(t, s, signature.SignRequest{Target: target})); err != nil {
			t.Errorf("%s: Verify: %v", kt, err)
		}
	}
}

// opaque hides the concrete type of a key.
type opaque struct{ stdcrypto.Signer }
