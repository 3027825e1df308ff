package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/nv2-signing/nv2/pkg/flows"
	"github.com/nv2-signing/nv2/pkg/registry"
)

func pullCommand() *cli.Command {
	return &cli.Command{
		Name:      "pull",
		Usage:     "verify an artifact, then copy exactly what verified into an OCI image layout",
		ArgsUsage: "--to-oci-layout DIR[:tag] REF",
		Description: "Verifies REF as 'nv2 verify' does and, only when it verifies, copies the\n" +
			"digest that verified (the tag is not resolved again) with its signatures and\n" +
			"other referrers into the OCI image layout DIR, tagged with DIR's tag or else\n" +
			"REF's. On any failure DIR is left exactly as it was (and not created).\n\n" +
			"Exit codes: as for 'nv2 verify': 0 pulled, 3 no signature found, 4 signatures\n" +
			"found but none verified, 1 other errors, 2 usage.\n\n" +
			"   nv2 pull --cert signer.crt --to-oci-layout ./net-monitor:v1 registry.example/net-monitor:v1",
		Flags: append(append([]cli.Flag{
			&cli.StringFlag{Name: "to-oci-layout", Usage: "copy into the OCI image layout `DIR[:tag]` (created if missing); required"},
			outputFlag(),
			noProgressFlag(),
		}, append(trustFlags(), platformFlags()...)...), registryFlags()...),
		Action: runPull,
	}
}

// pullResult is what pull reports: the verification, and where the
// verified artifact went.
type pullResult struct {
	Verification verifyResult `json:"verification"`
	// Destination is PATH@digest in the layout, Tag its tag there, and
	// Sent what was stored; "", "" and null when nothing was pulled.
	Destination string    `json:"destination"`
	Tag         string    `json:"tag"`
	Sent        *sentJSON `json:"sent"`
}

func runPull(c *cli.Context) error {
	raw, asJSON, err := refAndFormat(c)
	if err != nil {
		return err
	}
	// Not Required in the flag: urfave/cli would make a missing one exit 1.
	if c.String("to-oci-layout") == "" {
		return usageErrorf("'%s' needs --to-oci-layout DIR[:tag]: where to put what verifies", c.Command.HelpName)
	}
	dst, err := registry.ParseLayoutReference(c.String("to-oci-layout"))
	if err != nil {
		return usageErrorf("--to-oci-layout: %v", err)
	}
	if dst.Digest != "" {
		return usageErrorf("--to-oci-layout %s: give DIR or DIR:TAG; the digest is the one that verifies", c.String("to-oci-layout"))
	}
	client, err := newClient(c)
	if err != nil {
		return err
	}
	loc, err := withPlatform(c, flows.Location{Ref: raw})
	if err != nil {
		return err
	}
	if _, err := client.ParseLocation(loc); err != nil {
		return err
	}
	if err := registry.CheckLayoutDir(dst.Layout); err != nil {
		return err
	}
	v, err := newVerifier(c)
	if err != nil {
		return err
	}
	ctx, cancel := commandContext(c)
	defer cancel()
	progress, done := copyProgress(c, asJSON)
	res, err := client.Pull(ctx, flows.PullOptions{Artifact: loc, Verifier: v, Layout: dst.Layout, Tag: dst.Tag, Progress: progress})
	done()
	if res == nil {
		return err
	}
	out := pullResult{Verification: toVerifyResult(c.App.Name, res.VerifyResult), Destination: res.Destination, Tag: res.Tag}
	if err != nil && res.Verified != "" {
		// Verified, but the copy failed.
		out.Verification.Error, out.Verification.code = err.Error(), exitError
	}
	if res.Destination != "" {
		sent := toSentJSON(res.Sent)
		out.Sent = &sent
	}
	if asJSON {
		if err := writeJSON(c.App.Writer, out); err != nil {
			return err
		}
	} else {
		out.Verification.printText(c)
		if out.Destination != "" {
			to := out.Destination
			if out.Tag != "" {
				to += " (tag " + out.Tag + ")"
			}
			printf(c.App.Writer, "Pulled %s\n    to %s\n    sent %s\n", out.Verification.Verified, to, sentText(res.Sent))
		}
	}
	switch {
	case err == nil:
		return nil
	case res.Verified != "":
		return withCode(exitError, fmt.Errorf("%w; nothing was written to %s", err, dst.Layout))
	default:
		// printText or the JSON has said why.
		return withCode(out.Verification.code, fmt.Errorf("nothing was written to %s", dst.Layout))
	}
}
