package main

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nv2-signing/nv2/internal/testregistry"
	"github.com/nv2-signing/nv2/internal/testrevocation"
	"github.com/nv2-signing/nv2/internal/testsign"
)

// revocationSetup is an image signed by a leaf of a testrevocation
// hierarchy (OpenSSL answers its OCSP requests and issues its CRLs), with
// the root trusted directly (--cert) and through a permissive policy.
type revocationSetup struct {
	c          *cliUser
	reg        *testregistry.Registry
	e          *testrevocation.Env
	leaf       *x509.Certificate
	root       string // the root certificate file
	chain      string // the signing chain's file
	permissive string // a trust policy file: level permissive, the root trusted
	ref        string
}

func newRevocationSetup(t *testing.T, opts testrevocation.LeafOptions) *revocationSetup {
	t.Helper()
	reg := testregistry.Start(t, testregistry.GGCR)
	testregistry.PushImage(t, reg, "net-monitor", "v1", "revocation")
	e := testrevocation.New(t)
	leaf, key := e.SigningLeaf(opts)
	c := newCLI(t, "NV2_REGISTRY="+reg.Host)
	s := &revocationSetup{c: c, reg: reg, e: e, leaf: leaf, ref: "net-monitor:v1",
		chain: testsign.WritePEM(t, c.dir, "chain.pem", e.Chain(leaf)...), root: testsign.WritePEM(t, c.dir, "root.pem", e.Root.Cert),
		permissive: filepath.Join(c.dir, "permissive.json")}
	keyFile := testsign.WriteKey(t, c.dir, "leaf.key", key)
	policy := `{"version": "1.0", "trustPolicies": [{"name": "permissive", "registryScopes": ["*"],
		"signatureVerification": {"level": "permissive"}, "trustStores": ["ca:revocation"], "trustedIdentities": ["*"]}]}`
	if err := os.WriteFile(s.permissive, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	c.must(0, "cert", "add", "--store", "revocation", s.root)
	c.must(0, "sign", "--key", keyFile, "--cert", s.chain, s.ref)
	return s
}

// TestVerifyRevocation: the trust policy's revocation check, through nv2
// verify against a real registry and OpenSSL's responder and CRLs. Strict
// (--cert) refuses a revoked certificate or an unknown status with exit 4
// and a reason naming the certificate and the responder; permissive
// verifies and warns with the same words.
func TestVerifyRevocation(t *testing.T) {
	testrevocation.Require(t)
	type setupFunc func(s *revocationSetup)
	cases := []struct {
		name  string
		leaf  testrevocation.LeafOptions
		setup setupFunc
		flags []string
		// found is in the output when the signature verifies (a "good"
		// line) or in the reason and the permissive warning.
		found   string
		revoked bool // strict refuses it
	}{
		{name: "good", found: "good, by ocsp from "},
		{name: "OCSP down and CRL good", setup: func(s *revocationSetup) { s.e.SetOCSPDown(true) }, found: "good, by crl from "},
		{name: "revoked by OCSP", setup: func(s *revocationSetup) { s.e.Revoke(s.leaf, "keyCompromise") },
			found: "(keyCompromise) according to the OCSP responder at ", revoked: true},
		{name: "revoked by CRL", leaf: testrevocation.LeafOptions{NoOCSP: true}, setup: func(s *revocationSetup) { s.e.Revoke(s.leaf, "keyCompromise") },
			found: "(keyCompromise) according to the CRL at ", revoked: true},
		{name: "on hold", setup: func(s *revocationSetup) { s.e.Revoke(s.leaf, "certificateHold") },
			found: "(certificateHold) according to the OCSP responder at ", revoked: true},
		{name: "on hold by CRL", leaf: testrevocation.LeafOptions{NoOCSP: true}, setup: func(s *revocationSetup) { s.e.Revoke(s.leaf, "certificateHold") },
			found: "(certificateHold) according to the CRL at ", revoked: true},
		{name: "responders down", setup: func(s *revocationSetup) { s.e.SetOCSPDown(true); s.e.SetCRLDown(true) },
			found: "is unknown: revocation check of CN=leaf", revoked: true},
		{name: "responder slower than --revocation-timeout", setup: func(s *revocationSetup) { s.e.SetDelay(time.Minute) },
			flags: []string{"--revocation-timeout", "300ms"}, found: "timed out", revoked: true},
		{name: "CRL expired", leaf: testrevocation.LeafOptions{NoOCSP: true}, setup: func(s *revocationSetup) { s.e.SetCRLExpired(true) },
			found: "revocation data not current", revoked: true},
		{name: "CRL signed by the wrong key", leaf: testrevocation.LeafOptions{NoOCSP: true}, setup: func(s *revocationSetup) { s.e.SetCRLWrongKey(true) },
			found: "invalid revocation data", revoked: true},
		{name: "OCSP response for another certificate", setup: func(s *revocationSetup) {
			s.e.SetOCSPAnswerAbout(s.e.Leaf(testrevocation.LeafOptions{}))
			s.e.SetCRLDown(true)
		}, found: "response for another certificate", revoked: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newRevocationSetup(t, tc.leaf)
			if tc.setup != nil {
				tc.setup(s)
			}
			strict := s.c.run(append([]string{"verify", "--cert", s.root, s.ref}, tc.flags...)...)
			permissive := s.c.must(0, append([]string{"verify", "--policy", s.permissive, s.ref}, tc.flags...)...)
			if !tc.revoked {
				expectExit(t, 0, strict, "nv2", []string{"verify --cert (strict)"})
				for _, r := range []result{strict, permissive} {
					if !strings.Contains(r.stdout, "revocation:") || !strings.Contains(r.stdout, tc.found) {
						t.Errorf("verify does not report %q:\n%s", tc.found, r.stdout)
					}
				}
				return
			}
			expectExit(t, 4, strict, "nv2", []string{"verify --cert (strict)"})
			subject := "CN=" + s.leaf.Subject.CommonName
			for _, want := range []string{"revocation: ", tc.found, subject} {
				if !strings.Contains(strict.stderr, want) {
					t.Errorf("strict: the reason lacks %q:\n%s", want, strict.stderr)
				}
				if !strings.Contains(permissive.stderr, "Warning: "+s.ref+": revocation: ") || !strings.Contains(permissive.stderr, want) {
					t.Errorf("permissive: the warning lacks %q:\n%s", want, permissive.stderr)
				}
			}
			if !strings.Contains(strict.stderr, "--revocation-timeout") {
				t.Errorf("strict: no advice for a revocation failure:\n%s", strict.stderr)
			}
			if !strings.Contains(strict.stderr, s.e.URL) {
				t.Errorf("strict: the reason does not name the responder %s:\n%s", s.e.URL, strict.stderr)
			}
		})
	}
}

// TestRevocationFlags: with --cert, --revocation sets what the check does;
// a trust policy decides it itself. A certificate naming no responder is
// not revoked, with a warning.
func TestRevocationFlags(t *testing.T) {
	testrevocation.Require(t)
	s := newRevocationSetup(t, testrevocation.LeafOptions{})
	s.e.Revoke(s.leaf, "keyCompromise")
	verify := func(want int, flags ...string) result {
		t.Helper()
		return s.c.must(want, append(append([]string{"verify"}, flags...), s.ref)...)
	}
	if r := verify(0, "--cert", s.root, "--revocation", "skip"); strings.Contains(r.stdout, "revocation:") || strings.Contains(r.stderr, "revoked") {
		t.Errorf("--revocation skip still checked:\n%s%s", r.stdout, r.stderr)
	}
	if r := verify(0, "--cert", s.root, "--revocation", "log"); !strings.Contains(r.stderr, "Warning: "+s.ref+": revocation: certificate") {
		t.Errorf("--revocation log does not warn:\n%s", r.stderr)
	}
	verify(4, "--cert", s.root, "--revocation", "enforce")
	verify(4, "--cert", s.root)
	if r := verify(2, "--policy", s.permissive, "--revocation", "skip"); !strings.Contains(r.stderr, "override") {
		t.Errorf("--revocation with a policy: %s", r.stderr)
	}
	verify(2, "--cert", s.root, "--revocation", "sometimes")

	plain := newRevocationSetup(t, testrevocation.LeafOptions{NoOCSP: true, NoCRL: true})
	r := plain.c.must(0, "verify", "--cert", plain.root, plain.ref)
	if !strings.Contains(r.stderr, "Warning: "+plain.ref+": revocation: not checked for \"CN="+plain.leaf.Subject.CommonName) {
		t.Errorf("a certificate without responders verifies without a warning:\n%s", r.stderr)
	}
}

// TestRevocationCostsOneLevel: with nothing cached, every certificate of the
// chain is checked at once (one request each, in flight together) and the
// registry sees the same requests as without revocation; with the cache
// warm from the first run, revocation costs no request.
func TestRevocationCostsOneLevel(t *testing.T) {
	testrevocation.Require(t)
	s := newRevocationSetup(t, testrevocation.LeafOptions{})
	s.e.SetDelay(200 * time.Millisecond)
	levels := func(flags ...string) int {
		t.Helper()
		s.reg.Counter.Reset()
		s.c.must(0, append(append([]string{"verify", "--cert", s.root}, flags...), s.ref)...)
		return s.reg.Counter.Levels()
	}
	without := levels("--revocation", "skip")
	if got := levels(); got != without {
		t.Errorf("verify with revocation took %d registry round-trip levels, %d without", got, without)
	}
	if o, c := s.e.Requests(); o != 2 || c != 0 || s.e.MaxConcurrent() != 2 {
		t.Errorf("cold: %d OCSP and %d CRL requests, at most %d at once; want 2, 0 and 2 (both certificates at once)", o, c, s.e.MaxConcurrent())
	}
	s.e.ResetCounts()
	if r := s.c.must(0, "verify", "--cert", s.root, s.ref); !strings.Contains(r.stdout, "(cache)") {
		t.Errorf("warm: the answer does not come from the cache:\n%s", r.stdout)
	}
	if o, c := s.e.Requests(); o+c != 0 {
		t.Errorf("warm: %d OCSP and %d CRL requests, want none", o, c)
	}
}

// TestRevocationOffline: 'nv2 revocation fetch' on a connected machine
// writes what verify --revocation-data needs on a machine with no network.
func TestRevocationOffline(t *testing.T) {
	testrevocation.Require(t)
	for _, revoked := range []bool{false, true} {
		s := newRevocationSetup(t, testrevocation.LeafOptions{})
		if revoked {
			s.e.Revoke(s.leaf, "keyCompromise")
		}
		byRef, byChain := filepath.Join(s.c.dir, "by-ref"), filepath.Join(s.c.dir, "by-chain")
		s.c.must(0, "revocation", "fetch", "--out", byRef, s.ref)
		s.c.must(0, "revocation", "fetch", "--out", byChain, "--chain", s.chain)
		// No responder from now on, and an empty cache.
		s.e.Stop()
		offline := newCLI(t, "NV2_REGISTRY="+s.reg.Host)
		want := map[bool]int{false: 0, true: 4}[revoked]
		for _, dir := range []string{byRef, byChain} {
			r := offline.must(want, "verify", "--cert", s.root, "--revocation-data", dir, s.ref)
			if !revoked && !strings.Contains(r.stdout, "(offline)") {
				t.Errorf("the answer does not come from the offline data:\n%s", r.stdout)
			}
			if revoked && !strings.Contains(r.stderr, "was revoked") {
				t.Errorf("offline: %s", r.stderr)
			}
		}
		offline.must(4, "verify", "--cert", s.root, s.ref) // unknown without the data
		if r := s.c.must(1, "revocation", "fetch", "--out", filepath.Join(s.c.dir, "none"), s.ref); !strings.Contains(r.stderr, "could not be fetched") {
			t.Errorf("fetch with the responders down: %s", r.stderr)
		}
		s.c.must(2, "revocation", "fetch", s.ref)
	}
}

// TestRevocationReported: verify's JSON and inspect (text and JSON) say
// what the check found; pull refuses a revoked signer.
func TestRevocationReported(t *testing.T) {
	testrevocation.Require(t)
	s := newRevocationSetup(t, testrevocation.LeafOptions{})
	s.e.Revoke(s.leaf, "keyCompromise")
	type rev struct{ Subject, Status, Method, Responder, Reason string }
	var v struct {
		Results []struct {
			Signature struct{ Revocation []rev }
		}
	}
	decode(t, s.c.must(0, "verify", "--policy", s.permissive, "-o", "json", s.ref).stdout, &v)
	var ins struct{ Signatures []struct{ Revocation []rev } }
	decode(t, s.c.must(0, "inspect", "-o", "json", s.ref).stdout, &ins)
	s.c.must(2, "inspect", "--revocation", "sometimes", s.ref)
	if r := s.c.must(0, "inspect", "--revocation", "skip", s.ref); strings.Contains(r.stdout, "revocation") {
		t.Errorf("inspect --revocation skip checked:\n%s", r.stdout)
	}
	text := s.c.must(0, "inspect", s.ref).stdout
	for _, got := range [][]rev{v.Results[0].Signature.Revocation, ins.Signatures[0].Revocation} {
		want := rev{Subject: "CN=" + s.leaf.Subject.CommonName, Status: "revoked", Method: "ocsp", Responder: s.e.OCSPURL(s.e.Intermediate), Reason: "keyCompromise"}
		if len(got) != 2 || got[0] != want || got[1].Status != "good" {
			t.Errorf("revocation reported as %+v, want %+v and the intermediate good", got, want)
		}
	}
	if !strings.Contains(text, "revoked at") || !strings.Contains(text, "(keyCompromise)") {
		t.Errorf("inspect does not say the certificate is revoked:\n%s", text)
	}
	layout := filepath.Join(s.c.dir, "pulled")
	s.c.must(4, "pull", "--cert", s.root, "--to-oci-layout", layout, s.ref)
	if fileExists(layout) {
		t.Errorf("pull of a revoked signer wrote %s", layout)
	}
}

// TestDockerPullRevoked: docker nv2 pull checks revocation as verify does,
// and nothing reaches docker from a revoked signer.
func TestDockerPullRevoked(t *testing.T) {
	testrevocation.Require(t)
	s := newRevocationSetup(t, testrevocation.LeafOptions{})
	s.e.Revoke(s.leaf, "keyCompromise")
	u := newDockerUser(t)
	docker := u.standIn()
	ref := s.reg.Host + "/" + s.ref
	u.must(0, "nv2", "config", "set", "--verify-cert", s.root)
	u.must(0, "nv2", "config", "enable")
	if r := u.must(exitNotVerified, "nv2", "pull", ref); !strings.Contains(r.stderr, "was revoked") || len(docker.calls()) != 0 {
		t.Fatalf("docker nv2 pull of a revoked signer: docker ran %q\n%s", docker.calls(), r.stderr)
	}
	u.must(0, "nv2", "pull", "--revocation", "log", ref)
	if calls := docker.calls(); len(calls) == 0 || !strings.HasPrefix(calls[0], "pull ") {
		t.Fatalf("docker nv2 pull --revocation log: docker ran %q", calls)
	}
}
