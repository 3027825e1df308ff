package main

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nv2-signing/nv2/internal/testregistry"
	"github.com/nv2-signing/nv2/internal/testrevocation"
)

// revocationSetup is an image signed by a leaf of a testrevocation
// hierarchy (OpenSSL answers its OCSP requests and issues its CRLs), with
// the root trusted directly (--cert) and through a permissive policy.
type revocationSetup struct {
	c          *cliUser
	e          *testrevocation.Env
	leaf       *x509.Certificate
	root       string // the root certificate file
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
	s := &revocationSetup{c: c, e: e, leaf: leaf, ref: "net-monitor:v1",
		root: filepath.Join(c.dir, "root.pem"), permissive: filepath.Join(c.dir, "permissive.json")}
	keyFile, chainFile := filepath.Join(c.dir, "leaf.key"), filepath.Join(c.dir, "chain.pem")
	writePEMFile(t, keyFile, key)
	writePEMFile(t, chainFile, leaf, e.Intermediate.Cert, e.Root.Cert)
	writePEMFile(t, s.root, e.Root.Cert)
	policy := `{"version": "1.0", "trustPolicies": [{"name": "permissive", "registryScopes": ["*"],
		"signatureVerification": {"level": "permissive"}, "trustStores": ["ca:revocation"], "trustedIdentities": ["*"]}]}`
	if err := os.WriteFile(s.permissive, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	c.must(0, "cert", "add", "--store", "revocation", s.root)
	c.must(0, "sign", "--key", keyFile, "--cert", chainFile, s.ref)
	return s
}

func writePEMFile(t *testing.T, path string, items ...any) {
	t.Helper()
	var out []byte
	for _, it := range items {
		switch v := it.(type) {
		case *x509.Certificate:
			out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: v.Raw})...)
		case crypto.Signer:
			der, err := x509.MarshalPKCS8PrivateKey(v)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})...)
		}
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
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
			if !strings.Contains(strict.stderr, s.e.URL) {
				t.Errorf("strict: the reason does not name the responder %s:\n%s", s.e.URL, strict.stderr)
			}
		})
	}
}
