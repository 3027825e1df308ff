package main

import (
	"github.com/urfave/cli/v2"

	"github.com/nv2-signing/nv2/pkg/flows"
)

func blobCommand() *cli.Command {
	return &cli.Command{
		Name:  "blob",
		Usage: "sign and verify any file with a detached signature",
		Description: "Signs files of any kind (release binaries, SBOMs, charts, models) with a\n" +
			"detached signature in the Notary Project's blob format, which notation reads\n" +
			"and writes too: a JWS envelope in FILE.jws.sig whose payload names the file's\n" +
			"media type, digest and size. No registry and no network are involved.\n\n" +
			"   nv2 blob sign --key signer.key --cert signer.crt release.tar.gz\n" +
			"   nv2 blob verify --cert ca.crt --signature release.tar.gz.jws.sig release.tar.gz\n" +
			"   nv2 blob inspect release.tar.gz.jws.sig",
		Subcommands: []*cli.Command{blobSignCommand(), blobVerifyCommand(), blobInspectCommand(), blobPolicyCommand()},
	}
}

func blobSignCommand() *cli.Command {
	return &cli.Command{
		Name:      "sign",
		Usage:     "sign a file with a detached signature",
		ArgsUsage: "FILE",
		Description: "Hashes FILE as a stream with the digest algorithm the key dictates (SHA-256\n" +
			"for P-256 and RSA-2048, SHA-384 for P-384 and RSA-3072, SHA-512 for P-521 and\n" +
			"RSA-4096) and writes the signature beside it, as FILE.jws.sig, unless\n" +
			"--signature-out names another file. FILE may be - (the standard input; then\n" +
			"--signature-out is required). An existing signature file is kept unless --force.\n\n" +
			"   nv2 blob sign --key signer.key --cert signer.crt -a build=42 release.tar.gz",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "key", Aliases: []string{"k"}, Usage: "private key `FILE` (PEM: PKCS#8, PKCS#1 or SEC1); required"},
			&cli.StringFlag{Name: "cert", Aliases: []string{"c"}, Usage: "certificate chain `FILE` (PEM, leaf first); required"},
			&cli.StringFlag{Name: "media-type", Value: "application/octet-stream", Usage: "the media `TYPE` of FILE, signed in the payload"},
			&cli.DurationFlag{Name: "expiry", Aliases: []string{"e"}, Usage: "the signature expires this long after signing (e.g. 720h); default never"},
			&cli.StringSliceFlag{Name: "annotation", Aliases: []string{"a"}, Usage: "signed metadata `KEY=VALUE` (repeatable)"},
			&cli.StringFlag{Name: "signature-out", Usage: "write the signature to `SIG` instead of FILE.jws.sig"},
			&cli.BoolFlag{Name: "force", Usage: "replace an existing signature file"},
			outputFlag(),
		}, timestampFlags()...),
		Action: runBlobSign,
	}
}

// blobSignResult is what blob sign reports.
type blobSignResult struct {
	File          string     `json:"file"`
	Blob          descriptor `json:"blob"`
	SignatureFile string     `json:"signatureFile"`
	Envelope      descriptor `json:"envelope"`
	Algorithm     string     `json:"algorithm"`
}

func runBlobSign(c *cli.Context) error {
	file, asJSON, err := argAndFormat(c, "file (or - for the standard input)")
	if err != nil {
		return err
	}
	if c.String("key") == "" || c.String("cert") == "" {
		return usageErrorf("'%s' needs --key FILE and --cert FILE (make a test pair with '%s cert generate')", c.Command.HelpName, c.App.Name)
	}
	if c.IsSet("media-type") && c.String("media-type") == "" {
		return usageErrorf("--media-type is empty: give the file's media type, or leave the flag out")
	}
	opts := flows.BlobSignOptions{Path: file, Input: c.App.Reader, MediaType: c.String("media-type"), Expiry: c.Duration("expiry"),
		SignatureOut: c.String("signature-out"), Force: c.Bool("force"), SigningAgent: "nv2/" + version}
	if opts.Annotations, err = parseAnnotations(c.StringSlice("annotation")); err != nil {
		return err
	}
	if opts.Signer, err = flows.LoadSigner(c.String("key"), c.String("cert")); err != nil {
		return err
	}
	if opts.Timestamp, err = timestampClient(c, nil); err != nil {
		return err
	}
	ctx, cancel := commandContext(c)
	defer cancel()
	res, err := flows.BlobSign(ctx, opts)
	if err != nil {
		return err
	}
	out := blobSignResult{File: file, Blob: toDescriptor(res.Blob), SignatureFile: res.SignatureFile, Envelope: toDescriptor(res.Envelope), Algorithm: string(res.Algorithm)}
	if asJSON {
		return writeJSON(c.App.Writer, out)
	}
	printf(c.App.Writer, "Signed %s (%s, %d bytes)\n", file, out.Blob.Digest, out.Blob.Size)
	printf(c.App.Writer, "Signature written to %s (%s)\n", out.SignatureFile, out.Algorithm)
	return nil
}

func blobVerifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "verify a file against its detached signature",
		ArgsUsage: "--signature SIG FILE",
		Description: "Checks that SIG is an intact signature of FILE (FILE may be -, the standard\n" +
			"input) and that its signer is trusted: by --cert (certificates trusted\n" +
			"directly), or by the blob trust policy ('nv2 blob policy import'), the policy\n" +
			"named by --policy-name or else the one marked globalPolicy. The file is read\n" +
			"once, as a stream, after the signature itself passed its checks.\n\n" +
			"Exit codes, as for 'nv2 verify': 0 verified, 4 the signature did not verify,\n" +
			"1 other errors, 2 usage.\n\n" +
			"   nv2 blob verify --signature release.tar.gz.jws.sig release.tar.gz\n" +
			"   nv2 blob verify --policy-name wabbit-networks -s app.sbom.jws.sig app.sbom",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "signature", Aliases: []string{"s"}, Usage: "the detached signature `SIG` of FILE; required"},
			&cli.StringSliceFlag{Name: "cert", Aliases: []string{"c"}, Usage: "trust the certificate(s) in `FILE` directly: a signer's, or a CA's (repeatable)"},
			&cli.StringSliceFlag{Name: "tsa-cert", Usage: "with --cert: trust the TSA root certificate in `FILE`; the signature then needs a timestamp from it (repeatable)"},
			&cli.StringFlag{Name: "policy-name", Usage: "verify with the blob trust policy called `NAME` (default: the global policy)"},
			&cli.StringSliceFlag{Name: "annotation", Aliases: []string{"a"}, Usage: "require signed metadata `KEY=VALUE` (repeatable)"},
			&cli.StringFlag{Name: "media-type", Usage: "require the signature to name this media `TYPE`"},
			outputFlag(),
		},
		Action: runBlobVerify,
	}
}

func runBlobVerify(c *cli.Context) error {
	file, asJSON, err := argAndFormat(c, "file (or - for the standard input)")
	if err != nil {
		return err
	}
	switch {
	case c.String("signature") == "":
		return usageErrorf("'%s' needs --signature SIG: the detached signature of %s", c.Command.HelpName, file)
	case len(c.StringSlice("cert")) > 0 && c.IsSet("policy-name"):
		return usageErrorf("use --cert or --policy-name, not both")
	case c.IsSet("media-type") && c.String("media-type") == "":
		return usageErrorf("--media-type is empty: give the media type the signature must name, or leave the flag out")
	}
	v, err := flows.NewBlobVerifier(flows.TrustOptions{CertFiles: c.StringSlice("cert"), TSACertFiles: c.StringSlice("tsa-cert")})
	if err != nil {
		return err
	}
	if v.Annotations, err = parseAnnotations(c.StringSlice("annotation")); err != nil {
		return err
	}
	r := flows.BlobVerify(flows.BlobVerifyOptions{Verifier: v, PolicyName: c.String("policy-name"), Path: file, Input: c.App.Reader,
		SignatureFile: c.String("signature"), MediaType: c.String("media-type")})
	return reportVerify(c, asJSON, []flows.VerifyResult{r})
}

func blobInspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "show a detached blob signature and its certificates",
		ArgsUsage: "SIG",
		Description: "Shows what SIG signs (media type, digest, size) and the signature as\n" +
			"'nv2 inspect' shows one: algorithm, signing time, expiry, signed metadata and\n" +
			"each certificate of its chain. It checks the envelope's integrity but makes\n" +
			"no trust decision: use 'nv2 blob verify' for that.",
		Flags:  []cli.Flag{outputFlag()},
		Action: runBlobInspect,
	}
}

type blobInspectResult struct {
	SignatureFile string           `json:"signatureFile"`
	Blob          descriptor       `json:"blob"`
	Signature     inspectSignature `json:"signature"`
}

func runBlobInspect(c *cli.Context) error {
	sig, asJSON, err := argAndFormat(c, "signature file")
	if err != nil {
		return err
	}
	found, err := flows.BlobInspect(sig)
	if err != nil {
		return err
	}
	res := blobInspectResult{SignatureFile: sig, Blob: toDescriptor(found.Envelope.Payload.TargetArtifact), Signature: toInspectSignature(*found)}
	if asJSON {
		return writeJSON(c.App.Writer, res)
	}
	w := c.App.Writer
	printf(w, "%s\n", sig)
	printf(w, "  signs %s (%s, %d bytes)\n", res.Blob.Digest, res.Blob.MediaType, res.Blob.Size)
	res.Signature.printText(w)
	return nil
}
