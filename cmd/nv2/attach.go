package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/spec"
	"github.com/nv2-signing/nv2/pkg/trust"
)

func attachCommand() *cli.Command {
	return &cli.Command{
		Name:      "attach",
		Usage:     "push a detached signature envelope beside the artifact it signs",
		ArgsUsage: "REF",
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
		return usageErrorf("'nv2 attach' needs --signature SIG: the envelope to push (from 'nv2 sign --signature-out')")
	}
	envelope, err := readFileLimit("--signature", sigFile, spec.MaxEnvelopeSize)
	if err != nil {
		return err
	}
	e, err := newEnv(c)
	if err != nil {
		return err
	}
	ctx, cancel := e.context()
	defer cancel()
	t, subject, err := e.resolve(ctx, raw, c.Bool("oci-layout"))
	if err != nil {
		return err
	}
	env, err := trust.VerifyIntegrity(envelope, subject)
	var mismatch *trust.SubjectMismatchError
	switch {
	case errors.As(err, &mismatch) && mismatch.Signed.Digest != subject.Digest:
		signed := mismatch.Signed
		return fmt.Errorf("%s cannot be attached to %s: the envelope signs another artifact, %s (%s, %d bytes); nothing was pushed: attach it to %s, or sign %s with 'nv2 sign'",
			sigFile, t.pinned(subject.Digest), signed.Digest, signed.MediaType, signed.Size, t.pinned(signed.Digest), raw)
	case errors.As(err, &mismatch):
		return fmt.Errorf("%s cannot be attached to %s: %w; nothing was pushed: sign %s again with 'nv2 sign'", sigFile, t.pinned(subject.Digest), err, raw)
	case err != nil:
		return fmt.Errorf("%s is not an intact signature envelope: %w; nothing was pushed", sigFile, err)
	}
	sig, err := pushSignature(ctx, t, subject, envelope, signature.ArtifactOptions{Thumbprints: nvcrypto.Thumbprints(env.Chain)})
	if err != nil {
		return err
	}
	res := attachResult{
		Reference: t.pinned(subject.Digest), Subject: toDescriptor(subject), Signature: toDescriptor(sig),
		Algorithm: string(env.Algorithm), Signer: env.Chain[0].Subject.String(),
	}
	if asJSON {
		return writeJSON(c.App.Writer, res)
	}
	w := c.App.Writer
	printf(w, "Attached %s to %s\n", sigFile, res.Reference)
	printf(w, "Signature %s (%s, signed by %s)\n", res.Signature.Digest, res.Algorithm, res.Signer)
	return nil
}
