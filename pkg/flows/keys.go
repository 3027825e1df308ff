package flows

import (
	"crypto/x509"
	"fmt"
	"os"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/trust"
)

// LoadSigner reads a private key and its certificate chain (PEM, leaf
// first) and checks that they belong together.
func LoadSigner(keyFile, certFile string) (*signature.Signer, error) {
	key, err := nvcrypto.LoadPrivateKey(keyFile)
	if err != nil {
		return nil, err
	}
	chain, err := nvcrypto.LoadCertificates(certFile)
	if err != nil {
		return nil, err
	}
	return signature.NewSigner(key, chain)
}

// TrustOptions say what a verification trusts: certificates given directly
// (CertFiles), a trust policy file (PolicyFile), or, with neither, the
// configured trust policy and trust stores (Config).
type TrustOptions struct {
	CertFiles  []string
	PolicyFile string
	// Config locates the configured policy and trust stores; the zero value
	// means trust.DefaultConfig().
	Config *trust.Config
	// Revocation says how the signing certificates' revocation is checked.
	Revocation RevocationOptions
}

// NewVerifier builds the verifier TrustOptions describe. With no trust
// configured at all the error wraps trust.ErrNoPolicy.
func NewVerifier(opts TrustOptions) (*trust.Verifier, error) {
	if len(opts.CertFiles) > 0 && opts.PolicyFile != "" {
		return nil, usagef("trust certificates directly or use a policy file, not both")
	}
	if len(opts.CertFiles) > 0 {
		var certs []*x509.Certificate
		for _, f := range opts.CertFiles {
			c, err := nvcrypto.LoadCertificates(f)
			if err != nil {
				return nil, &FileError{Role: "certificate", Path: f, Err: err}
			}
			certs = append(certs, c...)
		}
		v := trust.NewCertVerifier(certs)
		return v, setRevocation(v, opts.Revocation, false)
	}
	doc, cfg, err := policyDocument(opts, trust.ParsePolicy, trust.Config.LoadPolicy)
	if err != nil {
		return nil, err
	}
	v := trust.NewPolicyVerifier(doc, cfg)
	return v, setRevocation(v, opts.Revocation, true)
}

// policyDocument reads the policy document opts name: opts.PolicyFile
// (with parse), else the configured one (with load). It returns the
// configuration that locates the trust stores too.
func policyDocument[T any](opts TrustOptions, parse func([]byte) (T, error), load func(trust.Config) (T, error)) (T, trust.Config, error) {
	var none T
	cfg, err := configOf(opts.Config)
	if err != nil {
		return none, cfg, err
	}
	if opts.PolicyFile == "" {
		doc, err := load(cfg)
		return doc, cfg, err
	}
	data, err := os.ReadFile(opts.PolicyFile)
	if err != nil {
		return none, cfg, fmt.Errorf("reading the trust policy: %w", err)
	}
	doc, err := parse(data)
	if err != nil {
		return none, cfg, fmt.Errorf("%s: %w", opts.PolicyFile, err)
	}
	return doc, cfg, nil
}

func configOf(c *trust.Config) (trust.Config, error) {
	if c != nil {
		return *c, nil
	}
	return trust.DefaultConfig()
}
