package flows

import (
	"crypto/x509"
	"fmt"
	"net/url"
	"os"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/timestamp"
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
	CertFiles []string
	// TSACertFiles are TSA root certificates trusted with CertFiles: every
	// signature then needs a timestamp from one of them (a tsa trust store
	// with verifyTimestamp "always").
	TSACertFiles []string
	PolicyFile   string
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
	if len(opts.TSACertFiles) > 0 && len(opts.CertFiles) == 0 {
		return nil, usagef("TSA root certificates are trusted together with signing certificates given directly; a trust policy names tsa trust stores instead")
	}
	if len(opts.CertFiles) > 0 {
		certs, err := loadCertificates(RoleCertificate, opts.CertFiles)
		if err != nil {
			return nil, err
		}
		tsaRoots, err := loadCertificates(RoleTSACertificate, opts.TSACertFiles)
		if err != nil {
			return nil, err
		}
		v := trust.NewCertVerifier(certs, tsaRoots...)
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

// loadCertificates reads the PEM certificates of files.
func loadCertificates(role string, files []string) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for _, f := range files {
		c, err := nvcrypto.LoadCertificates(f)
		if err != nil {
			return nil, &FileError{Role: role, Path: f, Err: err}
		}
		certs = append(certs, c...)
	}
	return certs, nil
}

// NewTimestampClient is the TSA client of SignOptions.Timestamp: the TSA at
// endpoint, whose tokens must chain to the root certificates in rootFile (PEM).
func NewTimestampClient(endpoint, rootFile string) (*timestamp.Client, error) {
	if u, err := url.Parse(endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usagef("TSA URL %q must be an absolute http or https URL", endpoint)
	}
	roots, err := loadCertificates(RoleTSARoot, []string{rootFile})
	if err != nil {
		return nil, err
	}
	return &timestamp.Client{URL: endpoint, Roots: roots}, nil
}

func configOf(c *trust.Config) (trust.Config, error) {
	if c != nil {
		return *c, nil
	}
	return trust.DefaultConfig()
}
