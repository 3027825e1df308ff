package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/nv2-signing/nv2/pkg/registry"
)

func pullCommand() *cli.Command {
	return &cli.Command{
		Name:      "pull",
		Usage:     "verify an artifact, then copy exactly what verified into an OCI image layout",
		ArgsUsage: "REF",
		Description: "Verifies REF as 'nv2 verify' does and, only when it verifies, copies the\n" +
			"digest that verified (the tag is not resolved again) with its signatures and\n" +
			"other referrers into the OCI image layout DIR, tagged with DIR's tag or else\n" +
			"REF's. On any failure DIR is left exactly as it was (and not created).\n\n" +
			"Exit codes: as for 'nv2 verify': 0 pulled, 3 no signature found, 4 signatures\n" +
			"found but none verified, 1 other errors, 2 usage.\n\n" +
			"   nv2 pull --cert signer.crt --to-oci-layout ./net-monitor:v1 registry.example/net-monitor:v1",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "to-oci-layout", Usage: "copy into the OCI image layout `DIR[:tag]` (created if missing); required"},
			&cli.StringSliceFlag{Name: "cert", Aliases: []string{"c"}, Usage: "trust the certificate(s) in `FILE` directly: a signer's, or a CA's (repeatable)"},
			&cli.StringFlag{Name: "policy", Usage: "use the trust policy in `FILE` instead of the configured one"},
			&cli.StringSliceFlag{Name: "annotation", Aliases: []string{"a"}, Usage: "require signed metadata `KEY=VALUE` (repeatable)"},
			&cli.IntFlag{Name: "max-signatures", Value: 50, Usage: "check at most this many signatures of one artifact (trusted-looking ones first)"},
			outputFlag(),
		}, registryFlags()...),
		Action: runPull,
	}
}

// pullResult is what pull reports: the verification, and where the
// verified artifact went.
type pullResult struct {
	verifyResult
	// Destination is PATH@digest in the layout; set only when pulled.
	Destination string `json:"destination,omitempty"`
	Tag         string `json:"tag,omitempty"`
}

func runPull(c *cli.Context) error {
	raw, asJSON, err := refAndFormat(c)
	if err != nil {
		return err
	}
	// Not Required in the flag: urfave/cli would make a missing one exit 1.
	if c.String("to-oci-layout") == "" {
		return usageErrorf("'nv2 pull' needs --to-oci-layout DIR[:tag]: where to put what verifies")
	}
	dst, err := registry.ParseLayoutReference(c.String("to-oci-layout"))
	if err != nil {
		return usageErrorf("--to-oci-layout: %v", err)
	}
	if dst.Digest != "" {
		return usageErrorf("--to-oci-layout %s: give DIR or DIR:TAG; the digest is the one that verifies", c.String("to-oci-layout"))
	}
	if err := checkReference(raw, false); err != nil {
		return err
	}
	// Refuse an unusable DIR before any request.
	if err := registry.CheckLayoutDir(dst.Layout); err != nil {
		return err
	}
	annotations, err := parseAnnotations(c.StringSlice("annotation"))
	if err != nil {
		return err
	}
	v, err := newVerifier(c)
	if err != nil {
		return err
	}
	v.Annotations = annotations
	v.MaxAttempts = c.Int("max-signatures")
	e, err := newEnv(c)
	if err != nil {
		return err
	}
	src, err := e.open(raw, false)
	if err != nil {
		return err
	}
	if err := needReference(src, raw); err != nil {
		return err
	}
	tag := dst.Tag
	if tag == "" {
		tag = src.ref.Tag
	}
	ctx, cancel := e.context()
	defer cancel()

	res := pullResult{verifyResult: verifyResult{Reference: raw}}
	verdict := v.Verify(ctx, src, src.scope(), src.ref.Reference())
	res.fill(verdict, src.pinned)
	var copyErr error
	if res.code == exitOK {
		// Exactly the digest that verified: a tag moved meanwhile changes nothing.
		desc, err := registry.CopyToLayout(ctx, src.Storage, verdict.Subject.Digest, dst.Layout, tag)
		if err != nil {
			copyErr = fmt.Errorf("%s verified, but copying it failed: %w", res.Verified, err)
			res.Error, res.code = errorText(copyErr), exitError
		} else {
			res.Destination = registry.Reference{Layout: dst.Layout}.WithDigest(desc.Digest).String()
			res.Tag = tag
		}
	}
	if asJSON {
		if err := writeJSON(c.App.Writer, res); err != nil {
			return err
		}
	} else {
		res.printText(c)
		if res.Destination != "" {
			to := res.Destination
			if tag != "" {
				to += " (tag " + tag + ")"
			}
			printf(c.App.Writer, "Pulled %s\n    to %s\n", res.Verified, to)
		}
	}
	switch {
	case res.code == exitOK:
		return nil
	case copyErr != nil:
		return withCode(exitError, fmt.Errorf("%w; nothing was written to %s", copyErr, dst.Layout))
	default:
		// printText or the JSON has said why.
		return withCode(res.code, fmt.Errorf("nothing was written to %s", dst.Layout))
	}
}
