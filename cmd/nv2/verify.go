package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nv2-signing/nv2/pkg/flows"
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
		Flags: append(append(trustFlags(),
			&cli.BoolFlag{Name: "oci-layout", Usage: "each REF is a local OCI image layout PATH[:tag|@digest]; no network is used"},
			&cli.StringFlag{Name: "signature", Usage: "verify the detached envelope in `SIG` (with --manifest) instead of REFs"},
			&cli.StringFlag{Name: "manifest", Usage: "the manifest `FILE` the --signature envelope must sign"},
			&cli.StringFlag{Name: "media-type", Usage: "the media `TYPE` of the --manifest file, when it has no mediaType field"},
			outputFlag(),
		), registryFlags()...),
		Action: runVerify,
	}
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
		return usageErrorf("'%s' needs at least one reference, or --signature SIG --manifest FILE (flags go before references)", c.Command.HelpName)
	}
	asJSON, err := jsonOutput(c)
	if err != nil {
		return err
	}
	client, err := newClient(c)
	if err != nil {
		return err
	}
	var locs []flows.Location
	for _, raw := range c.Args().Slice() {
		loc := flows.Location{Ref: raw, Layout: c.Bool("oci-layout")}
		// A malformed reference is reported before any file is read.
		if _, err := client.ParseLocation(loc); err != nil {
			return err
		}
		locs = append(locs, loc)
	}
	v, err := newVerifier(c)
	if err != nil {
		return err
	}
	if detached {
		return verifyDetached(c, asJSON, v)
	}
	ctx, cancel := commandContext(c)
	defer cancel()
	return reportVerify(c, asJSON, client.Verify(ctx, v, locs...))
}

// verifyDetached verifies the --signature envelope against the --manifest
// file, with no network. A manifest that cannot be read is reported in the
// result (exit 1); a media type that cannot be decided is a usage error.
func verifyDetached(c *cli.Context, asJSON bool, v *trust.Verifier) error {
	manifestFile := c.String("manifest")
	subject, err := flows.ManifestFile(manifestFile, c.String("media-type"))
	var r flows.VerifyResult
	if err != nil {
		if err = advise(c.App.Name, err); exitCode(err) == exitUsage {
			return err
		}
		r = flows.VerifyResult{Reference: manifestFile, Err: err}
	} else {
		r = flows.VerifyDetached(v, c.String("signature"), manifestFile, subject)
	}
	return reportVerify(c, asJSON, []flows.VerifyResult{r})
}

// newVerifier builds the verifier from --cert, --policy, the docker
// plugin's configured trust, or the configured trust policy, in that order.
func newVerifier(c *cli.Context) (*trust.Verifier, error) {
	opts := flows.TrustOptions{CertFiles: c.StringSlice("cert"), PolicyFile: c.String("policy")}
	if len(opts.CertFiles) > 0 && opts.PolicyFile != "" {
		return nil, usageErrorf("use --cert or --policy, not both")
	}
	if p := pluginOf(c); p.active() && len(opts.CertFiles) == 0 && opts.PolicyFile == "" {
		cfg, _, err := p.config()
		if err != nil {
			return nil, err
		}
		opts.CertFiles, opts.PolicyFile = cfg.VerifyCerts, cfg.Policy
	}
	v, err := flows.NewVerifier(opts)
	if err != nil {
		return nil, err
	}
	if v.Annotations, err = parseAnnotations(c.StringSlice("annotation")); err != nil {
		return nil, err
	}
	v.MaxAttempts = c.Int("max-signatures")
	return v, nil
}

// reportVerify prints the results and returns the error that carries the
// worst exit code, or nil when every result is a success.
func reportVerify(c *cli.Context, asJSON bool, results []flows.VerifyResult) error {
	worst, failed := exitOK, 0
	out := make([]verifyResult, len(results))
	for i, r := range results {
		out[i] = toVerifyResult(c.App.Name, r)
		if code := out[i].code; code != exitOK {
			failed++
			if severity(code) > severity(worst) {
				worst = code
			}
		}
	}
	if asJSON {
		if err := writeJSON(c.App.Writer, out); err != nil {
			return err
		}
	} else {
		for _, r := range out {
			r.printText(c)
		}
	}
	switch {
	case worst == exitOK:
		return nil
	case len(results) == 1:
		return withCode(worst, errors.New(""))
	default:
		return withCode(worst, fmt.Errorf("%d of %d artifacts did not verify", failed, len(results)))
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

// toVerifyResult renders one verdict.
func toVerifyResult(prog string, r flows.VerifyResult) verifyResult {
	out := verifyResult{Reference: r.Reference, Verified: r.Verified, Status: trust.Failed, code: exitCode(r.Err)}
	if r.Err != nil {
		out.Error = advise(prog, r.Err).Error()
	}
	res := r.Result
	if res == nil {
		return out
	}
	out.Status, out.Policy, out.Level, out.Found, out.Tried = res.Status, res.Policy, res.Level, res.Found, res.Tried
	if res.Subject.Digest != "" {
		d := toDescriptor(res.Subject)
		out.Subject = &d
	}
	out.Error = ""
	if res.Err != nil {
		out.Error = res.Err.Error()
		if errors.Is(res.Err, context.DeadlineExceeded) && !strings.Contains(out.Error, "--timeout") {
			out.Error += "; the registry did not answer within --timeout: check the network or raise --timeout"
		}
	}
	if s := res.Signature; s != nil {
		env := s.Envelope
		out.Signature = &signatureReport{
			Digest: s.Digest.String(), Algorithm: string(env.Algorithm), Signer: env.Chain[0].Subject.String(),
			SigningTime: env.SigningTime.UTC(), Annotations: env.Payload.TargetArtifact.Annotations, Warnings: s.Warnings,
		}
		if !env.Expiry.IsZero() {
			exp := env.Expiry.UTC()
			out.Signature.Expiry = &exp
		}
		if out.Subject != nil && out.Subject.MediaType == "" {
			// Verified by digest: the signed descriptor says what it is.
			t := env.Payload.TargetArtifact
			out.Subject.MediaType, out.Subject.Size = t.MediaType, t.Size
		}
	}
	for _, s := range res.Rejected {
		out.Rejected = append(out.Rejected, rejectedSignature{Digest: s.Digest.String(), Reason: s.Err.Error()})
	}
	return out
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
			printf(ew, "  sign it with '%s sign', or check that REF names the image you meant\n", c.App.Name)
		case exitNotVerified:
			printf(ew, "  no signature is from a signer your trust settings accept; check --cert or the trust policy ('%s policy show')\n", c.App.Name)
		}
	}
}
