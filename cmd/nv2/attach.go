package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/nv2-signing/nv2/pkg/flows"
)

func attachCommand() *cli.Command {
	return &cli.Command{
		Name:      "attach",
		Usage:     "push a detached signature envelope beside the artifact it signs",
		ArgsUsage: "--signature SIG REF",
		Description: "Pushes the envelope in SIG (from 'nv2 sign --signature-out') as a signature\n" +
			"artifact whose subject is REF: the second half of signing offline. The\n" +
			"envelope must be intact and sign exactly the digest REF resolves to;\n" +
			"otherwise nothing is pushed and the error names the digest it signs.\n" +
			"Whether its signer is trusted is for 'nv2 verify' to decide.\n\n" +
			"   nv2 attach --signature sig.jws registry.example/net-monitor:v1",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "signature", Aliases: []string{"s"}, Usage: "the signature envelope `SIG` (JWS JSON) to push; required"},
			&cli.BoolFlag{Name: "oci-layout", Usage: "REF is a local OCI image layout PATH[:tag|@digest]; no network is used"},
			outputFlag(),
		}, registryFlags()...),
		Action: runAttach,
	}
}

// attachResult is what attach reports.
type attachResult struct {
	// Reference is repo@digest (or PATH@digest) of the signed artifact.
	Reference string     `json:"reference"`
	Subject   descriptor `json:"subject"`
	Signature descriptor `json:"signature"`
	Algorithm string     `json:"algorithm"`
	Signer    string     `json:"signer"`
}

func runAttach(c *cli.Context) error {
	raw, asJSON, err := refAndFormat(c)
	if err != nil {
		return err
	}
	// Not Required in the flag: urfave/cli would make a missing one exit 1.
	sigFile := c.String("signature")
	if sigFile == "" {
		return usageErrorf("'%s' needs --signature SIG: the envelope to push (from '%s sign --signature-out')", c.Command.HelpName, c.App.Name)
	}
	return withClient(c, func(ctx context.Context, client *flows.Client) error {
		res, err := client.Attach(ctx, flows.Location{Ref: raw, Layout: c.Bool("oci-layout")}, sigFile)
		var mismatch *flows.AttachMismatchError
		var integrity *flows.IntegrityError
		switch {
		case errors.As(err, &mismatch) && !strings.HasSuffix(mismatch.Target, "@"+mismatch.Signed.Digest.String()):
			s := mismatch.Signed
			return fmt.Errorf("%s cannot be attached to %s: the envelope signs another artifact, %s (%s, %d bytes); nothing was pushed: attach it to %s, or sign %s with '%s sign'",
				sigFile, mismatch.Target, s.Digest, s.MediaType, s.Size, mismatch.SignedRef, raw, c.App.Name)
		case errors.As(err, &mismatch):
			return fmt.Errorf("%s cannot be attached to %s: %w; nothing was pushed: sign %s again with '%s sign'", sigFile, mismatch.Target, mismatch.Err, raw, c.App.Name)
		case errors.As(err, &integrity):
			return fmt.Errorf("%s is not an intact signature envelope: %w; nothing was pushed", sigFile, integrity.Err)
		case err != nil:
			return err
		}
		env := res.Envelope
		out := attachResult{
			Reference: res.Reference, Subject: toDescriptor(res.Subject), Signature: toDescriptor(res.Signature),
			Algorithm: string(env.Algorithm), Signer: env.Chain[0].Subject.String(),
		}
		if asJSON {
			return writeJSON(c.App.Writer, out)
		}
		w := c.App.Writer
		printf(w, "Attached %s to %s\n", sigFile, out.Reference)
		printf(w, "Signature %s (%s, signed by %s)\n", out.Signature.Digest, out.Algorithm, out.Signer)
		return nil
	})
}
