package trust

import (
	"errors"
	"strings"
	"testing"
)

// The blob trust policy of the Notary Project's trust store and trust policy
// specification ("Blob trust policy"): policies are chosen by name, and the
// one with globalPolicy when no name is given.
const validBlobPolicy = `{
  "version": "1.0",
  "trustPolicies": [
    {
      "name": "wabbit-networks-blobs",
      "signatureVerification": {"level": "strict"},
      "trustStores": ["ca:wabbit-networks"],
      "trustedIdentities": ["x509.subject: C=US, ST=WA, O=wabbit-networks.io"]
    },
    {
      "name": "skip-blobs",
      "signatureVerification": {"level": "skip"}
    },
    {
      "name": "global",
      "globalPolicy": true,
      "signatureVerification": {"level": "audit", "override": {"expiry": "enforce"}},
      "trustStores": ["ca:acme"],
      "trustedIdentities": ["*"]
    }
  ]
}`

func TestBlobPolicySelectsByNameElseGlobal(t *testing.T) {
	doc, err := ParseBlobPolicy([]byte(validBlobPolicy))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"wabbit-networks-blobs": "wabbit-networks-blobs", "skip-blobs": "skip-blobs", "global": "global", "": "global"} {
		p, err := doc.PolicyByName(name)
		if err != nil || p.Name != want {
			t.Errorf("PolicyByName(%q) = %v, %v; want %s", name, p, err, want)
		}
	}
	// "If there is no matching trust policy with that name, ... MUST consider
	// the blob as untrusted": a name that matches nothing is never the global.
	if _, err := doc.PolicyByName("wabbit"); !errors.Is(err, ErrNoBlobPolicy) {
		t.Errorf("unknown name: %v, want ErrNoBlobPolicy", err)
	}
	noGlobal, err := ParseBlobPolicy([]byte(strings.Replace(validBlobPolicy, `"globalPolicy": true,`, ``, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noGlobal.PolicyByName(""); !errors.Is(err, ErrNoBlobPolicy) {
		t.Errorf("no name and no global policy: %v, want ErrNoBlobPolicy", err)
	}
}

func TestParseBlobPolicyRefusesWithLineAndReason(t *testing.T) {
	replace := func(old, new string) string { return strings.Replace(validBlobPolicy, old, new, 1) }
	cases := []struct {
		name, doc string
		line      int
		reason    string
	}{
		// "There MUST be only one trust policy with globalPolicy set to true".
		{"two global policies", replace(`"name": "wabbit-networks-blobs",`, `"name": "wabbit-networks-blobs", "globalPolicy": true,`), 14, "at most one"},
		// "signatureVerification MUST not be set to skip if the policy is
		// marked as a global policy".
		{"global skip", replace(`"level": "audit", "override": {"expiry": "enforce"}`, `"level": "skip"`), 14, "must not have level"},
		{"registry scopes belong to OCI policies", replace(`"name": "global",`, `"name": "global", "registryScopes": ["*"],`), 15, "registryScopes"},
		{"duplicate name", replace(`"skip-blobs"`, `"global"`), 14, "unique"},
		{"no name", replace(`"name": "skip-blobs",`, ``), 10, "no name"},
		{"bad version", replace(`"1.0"`, `"2.0"`), 2, "version"},
		{"strict without identities", replace(`"trustedIdentities": ["x509.subject: C=US, ST=WA, O=wabbit-networks.io"]`, `"trustedIdentities": []`), 4, "trustedIdentities"},
		{"identity lacks ST", replace(`ST=WA, `, ``), 4, "lacks ST"},
		{"no policies", `{"version": "1.0", "trustPolicies": []}`, 0, "no trustPolicies"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseBlobPolicy([]byte(tc.doc))
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

func FuzzParseBlobPolicy(f *testing.F) {
	f.Add([]byte(validBlobPolicy))
	f.Add([]byte(`{"version":"1.0","trustPolicies":[{"name":"g","globalPolicy":true,"signatureVerification":{"level":"skip"}}]}`))
	f.Add([]byte(`{"version":"1.0","trustPolicies":[{}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := ParseBlobPolicy(data)
		if err != nil {
			var pe *PolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("error is not a *PolicyError: %v", err)
			}
			return
		}
		// A document that parses selects each policy by its name, and
		// has at most one global policy, which does not skip.
		globals := 0
		for _, p := range doc.TrustPolicies {
			if got, err := doc.PolicyByName(p.Name); err != nil || got.Name != p.Name {
				t.Fatalf("policy %q of an accepted document is not found by name: %v", p.Name, err)
			}
			if p.GlobalPolicy {
				globals++
				if p.SignatureVerification.Level == LevelSkip {
					t.Fatal("an accepted global policy skips verification")
				}
			}
		}
		if globals > 1 {
			t.Fatalf("accepted %d global policies", globals)
		}
	})
}
