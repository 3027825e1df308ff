package trust

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/nv2-signing/nv2/internal/testsign"
	"github.com/nv2-signing/nv2/internal/testtsa"
	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/spec"
	"github.com/nv2-signing/nv2/pkg/timestamp"
)

// stamped signs subject with a certificate valid from notBefore for
// validity, at signingTime, timestamped by tsa when it is not nil.
func stamped(t *testing.T, tsa *testtsa.TSA, subject ocispec.Descriptor, notBefore time.Time, validity time.Duration, signingTime time.Time) ([]byte, []*x509.Certificate) {
	t.Helper()
	s, creds := testsign.Signer(t, nvcrypto.GenerateOptions{CommonName: "signer", NotBefore: notBefore, Validity: validity})
	req := signature.SignRequest{Target: subject, SigningTime: signingTime}
	if tsa != nil {
		req.Timestamper = (&timestamp.Client{URL: tsa.URL, Roots: []*x509.Certificate{tsa.Root()}}).Timestamp
	}
	env, err := s.SignContext(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return env, creds.Chain
}

// withTokenOf returns env carrying the timestamp token of other.
func withTokenOf(t *testing.T, env, other []byte) []byte {
	t.Helper()
	var a, b map[string]map[string]any
	json.Unmarshal(env, &a)
	json.Unmarshal(other, &b)
	var m map[string]any
	json.Unmarshal(env, &m)
	h := a["header"]
	h[spec.HeaderTimestampSignature] = b["header"][spec.HeaderTimestampSignature]
	m["header"] = h
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// policyWithTSA is a "*" policy of level with verifyTimestamp vt, trusting
// chain's root (ca:signer) and, with tsaRoot, a tsa store.
func policyWithTSA(t *testing.T, level, vt, override string, chain []*x509.Certificate, tsaRoot *x509.Certificate) *Verifier {
	t.Helper()
	cfg := Config{Dir: t.TempDir()}
	dir := t.TempDir()
	if _, err := cfg.AddCertificates(StoreCA, "signer", []string{testsign.WritePEM(t, dir, "ca.crt", chain[len(chain)-1])}); err != nil {
		t.Fatal(err)
	}
	stores := `["ca:signer"]`
	if tsaRoot != nil {
		if _, err := cfg.AddCertificates(StoreTSA, "tsa", []string{testsign.WritePEM(t, dir, "tsa.crt", tsaRoot)}); err != nil {
			t.Fatal(err)
		}
		stores = `["ca:signer","tsa:tsa"]`
	}
	sv := fmt.Sprintf(`{"level":%q`, level)
	if vt != "" {
		sv += fmt.Sprintf(`,"verifyTimestamp":%q`, vt)
	}
	if override != "" {
		sv += `,"override":{"authenticTimestamp":"` + override + `"}`
	}
	doc, err := ParsePolicy([]byte(`{"version":"1.0","trustPolicies":[{"name":"p","registryScopes":["*"],"signatureVerification":` + sv + `},"trustStores":` + stores + `,"trustedIdentities":["*"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return NewPolicyVerifier(doc, cfg)
}

// The trust policy's authenticTimestamp check with a tsa trust store, as
// the Notary Project's trust policy specifies it and notation implements it.
func TestTimestampedSignatures(t *testing.T) {
	tsa := testtsa.New(t)
	subject := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, []byte(`{"mediaType":"`+ocispec.MediaTypeImageManifest+`"}`))
	now := time.Now()
	during, after := now, now.Add(2*time.Hour) // the signing certificate expires in an hour
	envTS, chain := stamped(t, tsa, subject, now.Add(-time.Hour), 2*time.Hour, now)
	envPlain, plainChain := stamped(t, nil, subject, now.Add(-time.Hour), 2*time.Hour, now)
	other, _ := stamped(t, tsa, subject, now.Add(-time.Hour), 2*time.Hour, now)
	swapped := withTokenOf(t, envTS, other)
	// A certificate that expired yesterday, a signing time it covered, and a
	// timestamp made now: the signing time is a lie the timestamp exposes.
	envLate, lateChain := stamped(t, tsa, subject, now.Add(-48*time.Hour), time.Hour, now.Add(-47*time.Hour))
	stranger := testsign.NewPKI(t, "other TSA").Root
	root := tsa.Root()

	cases := []struct {
		name   string
		v      *Verifier
		env    []byte
		at     time.Time
		reason string // "" verifies
		ts     bool   // a verified timestamp is reported
	}{
		{"no tsa store, valid certificate: as without a timestamp", policyWithTSA(t, LevelStrict, "", "", chain, nil), envTS, during, "", false},
		{"no tsa store, expired certificate fails", policyWithTSA(t, LevelStrict, "", "", chain, nil), envTS, after, "expired", false},
		{"tsa store, always: verified timestamp", policyWithTSA(t, LevelStrict, "", "", chain, root), envTS, during, "", true},
		{"tsa store, always: expired after a timestamped signing verifies", policyWithTSA(t, LevelStrict, VerifyTimestampAlways, "", chain, root), envTS, after, "", true},
		{"tsa store, always: no timestamp fails", policyWithTSA(t, LevelStrict, "", "", plainChain, root), envPlain, during, "no timestamp", false},
		{"tsa store, afterCertExpiry: no timestamp while valid", policyWithTSA(t, LevelStrict, VerifyTimestampAfterCertExpiry, "", plainChain, root), envPlain, during, "", false},
		{"tsa store, afterCertExpiry: no timestamp once expired fails", policyWithTSA(t, LevelStrict, VerifyTimestampAfterCertExpiry, "", plainChain, root), envPlain, after, "no timestamp", false},
		{"tsa store, afterCertExpiry: timestamp checked once expired", policyWithTSA(t, LevelStrict, VerifyTimestampAfterCertExpiry, "", chain, root), envTS, after, "", true},
		{"token from an untrusted TSA", policyWithTSA(t, LevelStrict, "", "", chain, stranger), envTS, during, "not from a trusted time stamping authority", false},
		{"token over another signature", policyWithTSA(t, LevelStrict, "", "", chain, root), swapped, during, "over another message", false},
		{"token outside the certificate's validity (expired before signing)", policyWithTSA(t, LevelStrict, "", "", lateChain, root), envLate, during, "outside the certificate's validity", false},
		{"permissive logs a missing timestamp", policyWithTSA(t, LevelPermissive, "", "", plainChain, root), envPlain, during, "", false},
		{"override skip: no time check at all", policyWithTSA(t, LevelStrict, "", actionSkip, chain, nil), envTS, after, "", false},
		{"--cert with --tsa-cert", NewCertVerifier(chain[len(chain)-1:], root), envTS, after, "", true},
		{"--cert with --tsa-cert, no timestamp", NewCertVerifier(plainChain[len(plainChain)-1:], root), envPlain, during, "no timestamp", false},
		{"--cert without --tsa-cert, expired", NewCertVerifier(chain[len(chain)-1:]), envTS, after, "expired", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.v.Now = func() time.Time { return tc.at }
			res := tc.v.VerifyDetached("", tc.env, subject)
			if tc.reason == "" {
				if res.Status != Verified {
					t.Fatalf("status %s: %v %v", res.Status, res.Err, res.Rejected)
				}
				if got := res.Signature.Timestamp != nil; got != tc.ts {
					t.Fatalf("timestamp reported: %v, want %v", got, tc.ts)
				}
				if tc.ts && !res.Signature.Timestamp.TSAChain[0].Equal(tsa.Leaf()) {
					t.Fatalf("the timestamp names %s, not the TSA", res.Signature.Timestamp.TSAChain[0].Subject)
				}
				return
			}
			if res.Status != NotVerified || len(res.Rejected) != 1 {
				t.Fatalf("status %s, want %s", res.Status, NotVerified)
			}
			err := res.Rejected[0].Err
			if !strings.Contains(err.Error(), tc.reason) || !strings.HasPrefix(err.Error(), checkAuthenticTimestamp) {
				t.Fatalf("reason %q, want the authenticTimestamp check saying %q", err, tc.reason)
			}
		})
	}
}

func TestTimestampErrorsAreTyped(t *testing.T) {
	tsa := testtsa.New(t)
	subject := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, []byte(`{}`))
	now := time.Now()
	env, chain := stamped(t, tsa, subject, now.Add(-time.Hour), 2*time.Hour, now)
	plain, _ := stamped(t, nil, subject, now.Add(-time.Hour), 2*time.Hour, now)
	res := NewCertVerifier(chain[len(chain)-1:], testsign.NewPKI(t, "x").Root).VerifyDetached("", env, subject)
	if len(res.Rejected) != 1 || !errors.Is(res.Rejected[0].Err, timestamp.ErrUntrusted) {
		t.Fatalf("untrusted TSA: %+v", res.Rejected)
	}
	res = NewCertVerifier(chain[len(chain)-1:], tsa.Root()).VerifyDetached("", withTokenOf(t, plain, env), subject)
	if len(res.Rejected) == 0 || res.Rejected[0].Err == nil {
		t.Fatalf("a token of another envelope verified")
	}
}

func TestTSAStoreHoldsRoots(t *testing.T) {
	cfg := Config{Dir: t.TempDir()}
	p := testsign.NewPKI(t, "tsa")
	dir := t.TempDir()
	if _, err := cfg.AddCertificates(StoreTSA, "acme", []string{testsign.WritePEM(t, dir, "root.crt", p.Root)}); err != nil {
		t.Fatalf("a root: %v", err)
	}
	if _, err := cfg.AddCertificates(StoreTSA, "acme", []string{testsign.WritePEM(t, dir, "inter.crt", p.Inter)}); err == nil || !strings.Contains(err.Error(), "not self-signed") {
		t.Fatalf("an intermediate in a tsa store: %v", err)
	}
	certs, err := cfg.Certificates("tsa:acme")
	if err != nil || len(certs) != 1 || !certs[0].Equal(p.Root) {
		t.Fatalf("tsa:acme: %v %v", certs, err)
	}
	entries, err := cfg.List()
	if err != nil || len(entries) != 1 || entries[0].Type != StoreTSA {
		t.Fatalf("List: %+v %v", entries, err)
	}
	for _, vt := range []string{"sometimes", "Always"} {
		_, err := ParsePolicy([]byte(`{"version":"1.0","trustPolicies":[{"name":"p","registryScopes":["*"],"signatureVerification":{"level":"strict","verifyTimestamp":"` + vt + `"},"trustStores":["ca:a","tsa:acme"],"trustedIdentities":["*"]}]}`))
		if err == nil || !strings.Contains(err.Error(), "verifyTimestamp") {
			t.Fatalf("verifyTimestamp %q: %v", vt, err)
		}
	}
}
