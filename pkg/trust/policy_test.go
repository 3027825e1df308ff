package trust

import (
	"errors"
	"strings"
	"testing"
)

const validPolicy = `{
  "version": "1.0",
  "trustPolicies": [
    {
      "name": "app",
      "registryScopes": ["registry.example/team/app"],
      "signatureVerification": {"level": "strict"},
      "trustStores": ["ca:acme"],
      "trustedIdentities": ["x509.subject: C=US, ST=WA, O=Acme, CN=signer"]
    },
    {
      "name": "rest",
      "registryScopes": ["*"],
      "signatureVerification": {"level": "permissive", "override": {"expiry": "enforce"}},
      "trustStores": ["ca:acme", "signingAuthority:acme-sa"],
      "trustedIdentities": ["*"]
    }
  ]
}`

func TestParsePolicyAcceptsTheNotaryFormat(t *testing.T) {
	doc, err := ParsePolicy([]byte(validPolicy))
	if err != nil {
		t.Fatal(err)
	}
	for repo, want := range map[string]string{"registry.example/team/app": "app", "registry.example/team/other": "rest", "": "rest"} {
		p, err := doc.PolicyFor(repo)
		if err != nil || p.Name != want {
			t.Errorf("PolicyFor(%q) = %v, %v; want %s", repo, p, err, want)
		}
	}
}

func TestParsePolicyRefusesWithLineAndReason(t *testing.T) {
	replace := func(old, new string) string { return strings.Replace(validPolicy, old, new, 1) }
	cases := []struct {
		name, doc string
		line      int
		reason    string
	}{
		{"bad version", replace(`"1.0"`, `"2.0"`), 2, "version"},
		{"unknown level", replace(`"strict"`, `"sometimes"`), 4, "sometimes"},
		{"no scopes", replace(`["registry.example/team/app"]`, `[]`), 4, "registryScopes"},
		{"scope with tag", replace(`registry.example/team/app"`, `registry.example/team/app:v1"`), 4, "scope"},
		{"duplicate scope", replace(`["*"]`, `["registry.example/team/app"]`), 11, "also in policy"},
		{"duplicate name", replace(`"rest"`, `"app"`), 11, "unique"},
		{"bad store", replace(`"ca:acme"]`, `"acme"]`), 4, "trust store"},
		{"identity lacks O", replace(`O=Acme, `, ``), 4, "lacks O"},
		{"identity without prefix", replace(`x509.subject: `, ``), 4, "x509.subject"},
		{"wildcard identity with others", replace(`"trustedIdentities": ["*"]`, `"trustedIdentities": ["*", "x509.subject: C=US, ST=WA, O=Acme"]`), 11, `"*" must be the only`},
		{"override integrity", replace(`"expiry": "enforce"`, `"integrity": "skip"`), 11, "integrity"},
		{"override unknown check", replace(`"expiry": "enforce"`, `"speed": "enforce"`), 11, "unknown check"},
		{"skip with stores", replace(`"permissive", "override": {"expiry": "enforce"}`, `"skip"`), 11, "skip"},
		{"strict without stores", replace(`"trustStores": ["ca:acme"],`, ``), 4, "trustStores"},
		{"unknown field", replace(`"name": "app",`, `"name": "app", "colour": "red",`), 5, "colour"},
		{"syntax error", replace(`"level": "strict"}`, `"level": "strict"`), 11, "invalid JSON"},
		{"wrong type", replace(`"trustStores": ["ca:acme"]`, `"trustStores": "ca:acme"`), 8, "trustStores"},
		{"empty", "", 1, "empty"},
		{"trailing data", validPolicy + "{}", 19, "after"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePolicy([]byte(tc.doc))
			var pe *PolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("want a *PolicyError, got %v", err)
			}
			if pe.Line != tc.line || !strings.Contains(pe.Error(), tc.reason) {
				t.Fatalf("got %q (line %d), want line %d mentioning %q", pe.Error(), pe.Line, tc.line, tc.reason)
			}
		})
	}
}

func TestPolicyForWithoutWildcard(t *testing.T) {
	doc, err := ParsePolicy([]byte(strings.Replace(validPolicy, `["*"]`, `["registry.example/x"]`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := doc.PolicyFor("registry.example/other"); err == nil || !strings.Contains(err.Error(), "registryScopes") {
		t.Fatalf("want an error that says how to cover the repository, got %v", err)
	}
}

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte(validPolicy))
	f.Add([]byte(`{"version":"1.0","trustPolicies":[{"name":"s","registryScopes":["*"],"signatureVerification":{"level":"skip"}}]}`))
	f.Add([]byte(`{"version":"1.0","trustPolicies":[{}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := ParsePolicy(data)
		if err != nil {
			var pe *PolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("error is not a *PolicyError: %v", err)
			}
			return
		}
		// A document that parses must be usable.
		for _, p := range doc.TrustPolicies {
			for _, s := range p.RegistryScopes {
				if _, err := doc.PolicyFor(s); err != nil {
					t.Fatalf("scope %q of an accepted policy finds no policy: %v", s, err)
				}
			}
			_ = actions(p.SignatureVerification.Level, p.SignatureVerification.Override)
		}
	})
}
