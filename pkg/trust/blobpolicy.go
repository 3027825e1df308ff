package trust

import (
	"errors"
	"fmt"
)

// BlobPolicyDocument is a blob trust policy document in the Notary
// Project's format (trustpolicy.blob.json): policies are chosen by name, not
// by repository, and at most one is the global policy, used when no name is
// given.
type BlobPolicyDocument struct {
	Version       string       `json:"version"`
	TrustPolicies []BlobPolicy `json:"trustPolicies"`
}

// BlobPolicy is one entry of a blob trust policy document.
type BlobPolicy struct {
	Name                  string                `json:"name"`
	SignatureVerification SignatureVerification `json:"signatureVerification"`
	// GlobalPolicy marks the policy used when the verifier names none.
	GlobalPolicy      bool     `json:"globalPolicy,omitempty"`
	TrustStores       []string `json:"trustStores,omitempty"`
	TrustedIdentities []string `json:"trustedIdentities,omitempty"`
}

// ErrNoBlobPolicy: the blob trust policy has no policy of the name the
// verifier chose, or, when it chose none, no global policy. The Notary
// Project's verification specification then fails the verification.
var ErrNoBlobPolicy = errors.New("no blob trust policy applies")

// ParseBlobPolicy reads and validates a blob trust policy document: version
// "1.0", unique non-empty names, at most one policy with globalPolicy (and
// that one not at level skip), and each policy's level, overrides, trust
// stores and identities as ParsePolicy checks them. Every problem is a
// *PolicyError carrying its line.
func ParseBlobPolicy(data []byte) (*BlobPolicyDocument, error) {
	var doc BlobPolicyDocument
	line, err := decodeDocument(data, &doc, func() (string, int) { return doc.Version, len(doc.TrustPolicies) })
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	global := ""
	for i, p := range doc.TrustPolicies {
		fail, err := checkName(names, i, line(i), p.Name)
		if err != nil {
			return nil, err
		}
		if p.GlobalPolicy {
			if global != "" {
				return nil, fail("policy %q is already the global policy: at most one may set globalPolicy", global)
			}
			if p.SignatureVerification.Level == LevelSkip {
				return nil, fail("the global policy must not have level \"skip\"")
			}
			global = p.Name
		}
		if err := checkRule(p.SignatureVerification, p.TrustStores, p.TrustedIdentities); err != nil {
			return nil, fail("%v", err)
		}
	}
	return &doc, nil
}

// PolicyByName returns the policy called name, or with name "" the global
// policy. Anything else wraps ErrNoBlobPolicy.
func (d *BlobPolicyDocument) PolicyByName(name string) (*BlobPolicy, error) {
	for i := range d.TrustPolicies {
		p := &d.TrustPolicies[i]
		if (name == "" && p.GlobalPolicy) || (name != "" && p.Name == name) {
			return p, nil
		}
	}
	if name == "" {
		return nil, fmt.Errorf("%w: no policy is named and none sets globalPolicy", ErrNoBlobPolicy)
	}
	return nil, fmt.Errorf("%w: there is no policy named %q", ErrNoBlobPolicy, name)
}

// NewBlobPolicyVerifier applies a blob trust policy document: the scope
// passed to VerifyBlob is the policy's name ("" for the global policy). Trust
// stores are loaded from cfg when a policy is first used.
func NewBlobPolicyVerifier(doc *BlobPolicyDocument, cfg Config) *Verifier {
	return cachedRules(cfg, func(name string) (*policyRule, error) {
		p, err := doc.PolicyByName(name)
		if err != nil {
			return nil, err
		}
		return &policyRule{p.Name, p.SignatureVerification, p.TrustStores, p.TrustedIdentities}, nil
	})
}
