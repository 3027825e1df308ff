package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/urfave/cli/v2"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/registry"
	"github.com/nv2-signing/nv2/pkg/spec"
	"github.com/nv2-signing/nv2/pkg/trust"
)

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "verify that artifacts carry a trusted signature",
		ArgsUsage: "REF... | --signature SIG --manifest FILE",
		Description: "Finds the signatures of each REF (referrers API, or the referrers tag schema\n" +
			"on registries without it) and succeeds when one of them verifies and is\n" +
			"trusted. Prints the verified repo@digest: pull that, not the tag.\n\n" +
			"Trust comes from --cert (certificates trusted directly), --policy (a trust\n" +
			"policy file), or the configured trust policy ('nv2 policy import').\n\n" +
			"Offline: --oci-layout verifies images in a local OCI image layout against the\n" +
			"signatures stored there; --signature SIG --manifest FILE verifies a detached\n" +
			"envelope (from 'nv2 sign --signature-out') against a manifest file. Neither\n" +
			"uses the network. A trust policy covers them only with scope \"*\".\n\n" +
			"Exit codes: 0 verified, 3 no signature found, 4 signatures found but none\n" +
			"verified, 1 other errors, 2 usage. With several REFs the worst one wins.\n\n" +
			"   nv2 verify --cert signer.crt registry.example/net-monitor:v1\n" +
			"   nv2 verify --cert signer.crt --oci-layout ./build:v1\n" +
			"   nv2 verify --cert signer.crt --signature sig.jws --manifest manifest.json",
		Flags: append([]cli.Flag{
			&cli.StringSliceFlag{Name: "cert", Aliases: []string{"c"}, Usage: "trust the certificate(s) in `FILE` directly: a signer's, or a CA's (repeatable)"},
			&cli.StringFlag{Name: "policy", Usage: "use the trust policy in `FILE` instead of the configured one"},
			&cli.StringSliceFlag{Name: "annotation", Aliases: []string{"a"}, Usage: "require signed metadata `KEY=VALUE` (repeatable)"},
			&cli.BoolFlag{Name: "oci-layout", Usage: "each REF is a local OCI image layout PATH[:tag|@digest]; no network is used"},
			&cli.StringFlag{Name: "signature", Usage: "verify the detached envelope in `SIG` (with --manifest) instead of REFs"},
			&cli.StringFlag{Name: "manifest", Usage: "the manifest `FILE` the --signature envelope must sign"},
			&cli.StringFlag{Name: "media-type", Usage: "the media `TYPE` of the --manifest file, when it has no mediaType field"},
			&cli.IntFlag{Name: "max-signatures", Value: 50, Usage: "check at most this many signatures of one artifact (trusted-looking ones first)"},
			outputFlag(),
		}, registryFlags()...),
		Action: runVerify,
	}
}

// verifyResult is the report for one REF.
type verifyResult struct {
	Reference string `json:"reference"`
	// Verified is repo@digest of what verified: what a pull should use.
	Verified  string              `json:"verifiedReference,omitempty"`
	Status    trust.Status        `json:"status"`
	Policy    string              `json:"policy,omitempty"`
	Level     string              `json:"level,omitempty"`
	Subject   *descriptor         `json:"subject,omitempty"`
	Signature *signatureReport    `json:"signature,omitempty"`
	Found     int                 `json:"signaturesFound"`
	Tried     int                 `json:"signaturesTried"`
	Rejected  []rejectedSignature `json:"rejected,omitempty"`
	Error     string              `json:"error,omitempty"`
	code      int
}

type signatureReport struct {
	Digest      string            `json:"digest"`
	Algorithm   string            `json:"algorithm"`
	Signer      string            `json:"signer"`
	SigningTime time.Time         `json:"signingTime"`
	Expiry      *time.Time        `json:"expiry,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Warnings    []string          `json:"warnings,omitempty"`
}

type rejectedSignature struct {
	Digest string `json:"digest"`
	Reason string `json:"reason"`
}

func runVerify(c *cli.Context) error {
	detached := c.IsSet("signature") || c.IsSet("manifest")
	switch {
	case detached && (c.String("signature") == "" || c.String("manifest") == ""):
		return usageErrorf("--signature SIG and --manifest FILE go together: the envelope and the manifest it signs")
	case detached && c.NArg() != 0:
		return usageErrorf("--signature and --manifest verify a file: give no REF (got %d arguments)", c.NArg())
	case detached && c.Bool("oci-layout"):
		return usageErrorf("use --signature/--manifest or --oci-layout, not both")
	case !detached && c.IsSet("media-type"):
		return usageErrorf("--media-type describes a --manifest file; a REF's media type comes from where it is stored")
	case !detached && c.NArg() == 0:
		return usageErrorf("'nv2 verify' needs at least one reference, or --signature SIG --manifest FILE (flags go before references)")
	}
	asJSON, err := jsonOutput(c)
	if err != nil {
		return err
	}
	annotations, err := parseAnnotations(c.StringSlice("annotation"))
	if err != nil {
		return err
	}
	// A malformed reference is a usage error, reported before any file is read.
	for _, raw := range c.Args().Slice() {
		if err := checkReference(raw, c.Bool("oci-layout")); err != nil {
			return err
		}
	}
	v, err := newVerifier(c)
	if err != nil {
		return err
	}
	v.Annotations = annotations
	v.MaxAttempts = c.Int("max-signatures")
	if detached {
		r, err := verifyDetached(c, v)
		if err != nil {
			return err
		}
		return reportVerify(c, asJSON, []verifyResult{r})
	}
	e, err := newEnv(c)
	if err != nil {
		return err
	}
	ctx, cancel := e.context()
	defer cancel()

	// The references are verified concurrently, at most verifyParallel at
	// once, over the one Client (one connection pool, one token cache);
	// results are reported in the order the references were given.
	refs := c.Args().Slice()
	results := make([]verifyResult, len(refs))
	sem := make(chan struct{}, verifyParallel)
	var wg sync.WaitGroup
	for i, raw := range refs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r := verifyResult{Reference: raw}
			t, err := e.open(raw, c.Bool("oci-layout"))
			if err == nil {
				err = needReference(t, raw)
			}
			if err != nil {
				r.Status, r.Error, r.code = trust.Failed, errorText(err), exitCode(err)
			} else {
				res := v.Verify(ctx, t, t.scope(), t.ref.Reference())
				r.fill(res, t.pinned)
			}
			results[i] = r
		}()
	}
	wg.Wait()
	return reportVerify(c, asJSON, results)
}

// verifyParallel bounds the references one 'nv2 verify' checks at once.
// Each one fetches up to 4 signatures at a time (trust.Verifier), so 8 keep
// the connection pool (16 idle connections a host) busy without queueing.
const verifyParallel = 8

// verifyDetached verifies the --signature envelope against the --manifest
// file, with no network. Reading errors are reported in the result (exit
// 1); a media type that cannot be decided is a usage error.
func verifyDetached(c *cli.Context, v *trust.Verifier) (verifyResult, error) {
	sigFile, manifestFile := c.String("signature"), c.String("manifest")
	r := verifyResult{Reference: manifestFile}
	subject, err := readManifestFile(manifestFile, c.String("media-type"))
	if exitCode(err) == exitUsage {
		return r, err
	}
	var envelope []byte
	if err == nil {
		envelope, err = readFileLimit("--signature", sigFile, spec.MaxEnvelopeSize)
	}
	if err != nil {
		r.Status, r.Error, r.code = trust.Failed, errorText(err), exitError
		return r, nil
	}
	res := v.VerifyDetached("", envelope, subject)
	r.fill(res, func(d digest.Digest) string { return manifestFile + "@" + d.String() })
	return r, nil
}

// reportVerify prints the results and returns the error that carries the
// worst exit code, or nil when every result is a success.
func reportVerify(c *cli.Context, asJSON bool, results []verifyResult) error {
	worst := exitOK
	for _, r := range results {
		if severity(r.code) > severity(worst) {
			worst = r.code
		}
	}
	if asJSON {
		if err := writeJSON(c.App.Writer, results); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			r.printText(c)
		}
	}
	if worst == exitOK {
		return nil
	}
	if len(results) == 1 {
		return withCode(worst, errors.New(""))
	}
	failed := 0
	for _, r := range results {
		if r.code != exitOK {
			failed++
		}
	}
	return withCode(worst, fmt.Errorf("%d of %d artifacts did not verify", failed, len(results)))
}

// fill records res; pin names the verified artifact by its digest (what a
// pull should use).
func (r *verifyResult) fill(res *trust.Result, pin func(digest.Digest) string) {
	r.Status, r.Policy, r.Level = res.Status, res.Policy, res.Level
	r.Found, r.Tried = res.Found, res.Tried
	if res.Subject.Digest != "" {
		d := toDescriptor(res.Subject)
		r.Subject = &d
	}
	switch res.Status {
	case trust.Verified, trust.Skipped:
		r.Verified = pin(res.Subject.Digest)
		r.code = exitOK
	case trust.NoSignature:
		r.code = exitNoSignature
	case trust.NotVerified:
		r.code = exitNotVerified
	default:
		r.code = exitError
	}
	if res.Err != nil {
		r.Error = errorText(res.Err)
		if errors.Is(res.Err, context.DeadlineExceeded) && !strings.Contains(r.Error, "--timeout") {
			r.Error += "; the registry did not answer within --timeout: check the network or raise --timeout"
		}
	}
	if s := res.Signature; s != nil {
		env := s.Envelope
		r.Signature = &signatureReport{
			Digest: s.Digest.String(), Algorithm: string(env.Algorithm), Signer: env.Chain[0].Subject.String(),
			SigningTime: env.SigningTime.UTC(), Annotations: env.Payload.TargetArtifact.Annotations, Warnings: s.Warnings,
		}
		if !env.Expiry.IsZero() {
			exp := env.Expiry.UTC()
			r.Signature.Expiry = &exp
		}
		if r.Subject != nil && r.Subject.MediaType == "" {
			// Verified by digest: the signed descriptor says what it is.
			t := env.Payload.TargetArtifact
			r.Subject.MediaType, r.Subject.Size = t.MediaType, t.Size
		}
	}
	for _, s := range res.Rejected {
		r.Rejected = append(r.Rejected, rejectedSignature{Digest: s.Digest.String(), Reason: errorText(s.Err)})
	}
}

func (r *verifyResult) printText(c *cli.Context) {
	w, ew := c.App.Writer, c.App.ErrWriter
	switch r.Status {
	case trust.Verified:
		s := r.Signature
		printf(w, "Verified %s\n", r.Verified)
		printf(w, "  signer:       %s\n", s.Signer)
		printf(w, "  signed at:    %s\n", formatTime(s.SigningTime))
		if s.Expiry != nil {
			printf(w, "  expires at:   %s\n", formatTime(*s.Expiry))
		}
		printf(w, "  signature:    %s (%s)\n", s.Digest, s.Algorithm)
		printf(w, "  trust policy: %s (%s)\n", r.Policy, r.Level)
		for _, k := range sortedKeys(s.Annotations) {
			printf(w, "  metadata:     %s=%s\n", k, s.Annotations[k])
		}
		for _, warn := range s.Warnings {
			printf(ew, "Warning: %s: %s\n", r.Reference, warn)
		}
	case trust.Skipped:
		printf(w, "Skipped %s: trust policy %q has level skip, so nothing was verified\n", r.Verified, r.Policy)
	default:
		printf(ew, "nv2: %s: %s\n", r.Reference, r.Error)
		for _, rej := range r.Rejected {
			printf(ew, "  %s: %s\n", rej.Digest, rej.Reason)
		}
		switch r.code {
		case exitNoSignature:
			printf(ew, "  sign it with 'nv2 sign', or check that REF names the image you meant\n")
		case exitNotVerified:
			printf(ew, "  no signature is from a signer your trust settings accept; check --cert or the trust policy ('nv2 policy show')\n")
		}
	}
}

// newVerifier builds the verifier from --cert, --policy or the configured
// trust policy, in that order.
func newVerifier(c *cli.Context) (*trust.Verifier, error) {
	certFiles := c.StringSlice("cert")
	policyFile := c.String("policy")
	if len(certFiles) > 0 && policyFile != "" {
		return nil, usageErrorf("use --cert or --policy, not both")
	}
	if len(certFiles) > 0 {
		certs, err := loadCertFiles(certFiles)
		if err != nil {
			return nil, err
		}
		return trust.NewCertVerifier(certs), nil
	}
	cfg, err := trust.DefaultConfig()
	if err != nil {
		return nil, err
	}
	var doc *trust.PolicyDocument
	if policyFile != "" {
		data, err := os.ReadFile(policyFile)
		if err != nil {
			return nil, fmt.Errorf("reading the trust policy: %w", err)
		}
		if doc, err = trust.ParsePolicy(data); err != nil {
			return nil, fmt.Errorf("%s: %w", policyFile, err)
		}
	} else if doc, err = cfg.LoadPolicy(); err != nil {
		if errors.Is(err, trust.ErrNoPolicy) {
			return nil, fmt.Errorf("%w: pass --cert FILE to trust a certificate directly, or set up trust once:\n"+
				"  nv2 cert add --store NAME CERT_FILE\n  nv2 policy import POLICY_FILE\n(see 'nv2 policy --help' for the format)", err)
		}
		return nil, err
	}
	return trust.NewPolicyVerifier(doc, cfg), nil
}

func loadCertFiles(files []string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, f := range files {
		certs, err := nvcrypto.LoadCertificates(f)
		if err != nil {
			return nil, fmt.Errorf("--cert: %w", err)
		}
		out = append(out, certs...)
	}
	return out, nil
}

// pinned names the artifact of t by digest d: repo@digest or PATH@digest.
func (t *target) pinned(d digest.Digest) string { return t.ref.WithDigest(d).String() }

// checkReference reports a malformed reference as a usage error, without
// opening anything.
func checkReference(raw string, layout bool) error {
	var err error
	if layout {
		_, err = registry.ParseLayoutReference(raw)
	} else {
		_, err = parseReference(raw)
	}
	if err != nil {
		return usageErrorf("%v", err)
	}
	return nil
}
