package main

import (
	"errors"
	"fmt"

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
			"uses a registry. A trust policy covers them only with scope \"*\".\n\n" +
			"Revocation: unless the policy (or --revocation with --cert) skips it, each\n" +
			"certificate of the signing chain is checked with OCSP, then CRLs, answers\n" +
			"cached until their nextUpdate; --revocation-data DIR (from 'nv2 revocation\n" +
			"fetch') checks with no network at all.\n\n" +
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
		), append(platformFlags(), registryFlags()...)...),
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
		return usageErrorf("'%s' needs at least one reference, or --signature SIG --manifest FILE", c.Command.HelpName)
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
		loc, err := withPlatform(c, flows.Location{Ref: raw, Layout: c.Bool("oci-layout")})
		if err != nil {
			return err
		}
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
		r := flows.VerifyDetached(v, c.String("signature"), c.String("manifest"), c.String("media-type"))
		if err := advise(c.App.Name, r.Err); exitCode(err) == exitUsage {
			return err // the manifest's media type cannot be decided
		}
		return reportVerify(c, asJSON, []flows.VerifyResult{r})
	}
	ctx, cancel := commandContext(c)
	defer cancel()
	return reportVerify(c, asJSON, client.Verify(ctx, v, locs...))
}

// newVerifier builds the verifier from --cert, --policy, the docker
// plugin's configured trust, or the configured trust policy, in that order.
func newVerifier(c *cli.Context) (*trust.Verifier, error) {
	opts := flows.TrustOptions{CertFiles: c.StringSlice("cert"), TSACertFiles: c.StringSlice("tsa-cert"), PolicyFile: c.String("policy"), Revocation: revocationOptions(c)}
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
	if len(opts.TSACertFiles) > 0 && len(opts.CertFiles) == 0 {
		return nil, usageErrorf("--tsa-cert goes with --cert; a trust policy names tsa trust stores instead ('%s cert add --type tsa')", c.App.Name)
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
