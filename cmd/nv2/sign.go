package main

import (
	"context"
	"github.com/urfave/cli/v2"

	"github.com/nv2-signing/nv2/internal/dockerplugin"
	"github.com/nv2-signing/nv2/pkg/flows"
)

func signCommand() *cli.Command {
	return &cli.Command{
		Name:      "sign",
		Usage:     "sign an artifact and store the signature beside it",
		ArgsUsage: "REF | --manifest FILE",
		Description: "Signs the manifest REF resolves to and pushes the signature as an OCI 1.1\n" +
			"referrer of it. A tag is resolved once; the digest is what gets signed.\n\n" +
			"Offline, before anything is pushed: --oci-layout signs an image in a local OCI\n" +
			"image layout and stores the signature there; --manifest signs a manifest file\n" +
			"and writes the envelope to --signature-out. --signature-only signs and writes\n" +
			"the envelope without pushing it ('nv2 attach' pushes it later).\n\n" +
			"   nv2 sign --key signer.key --cert signer.crt registry.example/net-monitor:v1\n" +
			"   nv2 sign --key signer.key --cert signer.crt --oci-layout ./build:v1\n" +
			"   nv2 sign --key signer.key --cert signer.crt --timestamp-url http://tsa.example/tsr --timestamp-root-cert tsa-root.crt REF\n" +
			"   nv2 sign --key signer.key --cert signer.crt --manifest manifest.json --signature-out sig.jws",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "key", Aliases: []string{"k"}, Usage: "private key `FILE` (PEM: PKCS#8, PKCS#1 or SEC1); required"},
			&cli.StringFlag{Name: "cert", Aliases: []string{"c"}, Usage: "certificate chain `FILE` (PEM, leaf first); required"},
			&cli.DurationFlag{Name: "expiry", Aliases: []string{"e"}, Usage: "the signature expires this long after signing (e.g. 720h); default never"},
			&cli.StringSliceFlag{Name: "annotation", Aliases: []string{"a"}, Usage: "signed metadata `KEY=VALUE` (repeatable)"},
			&cli.BoolFlag{Name: "oci-layout", Usage: "REF is a local OCI image layout PATH[:tag|@digest]; no network is used"},
			&cli.StringFlag{Name: "manifest", Usage: "sign the manifest in `FILE` instead of a REF (no network; needs --signature-out)"},
			&cli.StringFlag{Name: "media-type", Usage: "the media `TYPE` of the --manifest file, when it has no mediaType field"},
			&cli.BoolFlag{Name: "signature-only", Usage: "write the envelope to --signature-out and push nothing"},
			&cli.StringFlag{Name: "signature-out", Usage: "write the signature envelope to `SIG` (JWS JSON) as well"},
			outputFlag(),
		}, append(append(signPlatformFlags(), timestampFlags()...), registryFlags()...)...),
		Action: runSign,
	}
}

// signResult is what sign reports.
type signResult struct {
	// Reference is repo@digest (or PATH@digest) of what was signed; for a
	// manifest file, the file.
	Reference string     `json:"reference"`
	Subject   descriptor `json:"subject"`
	// Signature is the pushed signature manifest; nil with --signature-only.
	Signature *descriptor `json:"signature,omitempty"`
	// Envelope and SignatureFile describe the envelope written by
	// --signature-out.
	Envelope      *descriptor `json:"envelope,omitempty"`
	SignatureFile string      `json:"signatureFile,omitempty"`
	Algorithm     string      `json:"algorithm"`
	// Platform is the platform of what was signed, as its index lists it;
	// Children are the manifests of an index signed with --recursive.
	Platform string       `json:"platform,omitempty"`
	Children []signResult `json:"children,omitempty"`
}

// signOptions reads sign's flags into the flow's options.
func signOptions(c *cli.Context) (opts flows.SignOptions, err error) {
	key, cert := c.String("key"), c.String("cert")
	var plugin *dockerplugin.Config
	if p := pluginOf(c); p.active() {
		if plugin, _, err = p.config(); err != nil {
			return opts, err
		}
		if key == "" && cert == "" {
			key, cert = plugin.Key, plugin.Cert // docker nv2 sign: the configured pair
		}
	}
	// Checked here, not with Required: urfave/cli reports a missing
	// required flag as a plain error (exit 1), and this is usage (exit 2).
	if key == "" || cert == "" {
		return opts, usageErrorf("'%s' needs --key FILE and --cert FILE (make a test pair with '%s cert generate')", c.Command.HelpName, c.App.Name)
	}
	manifestFile, sigOut := c.String("manifest"), c.String("signature-out")
	opts = flows.SignOptions{SignatureOut: sigOut, SignatureOnly: c.Bool("signature-only"), Expiry: c.Duration("expiry"),
		SigningAgent: "nv2/" + version, JournalDir: flows.DefaultJournalDir()}
	if manifestFile != "" {
		switch {
		case c.NArg() != 0:
			return opts, usageErrorf("--manifest signs a file: give no REF (got %d arguments)", c.NArg())
		case c.Bool("oci-layout"):
			return opts, usageErrorf("use --manifest or --oci-layout, not both")
		case sigOut == "":
			return opts, usageErrorf("--manifest needs --signature-out SIG: a manifest file has nowhere to store its signature")
		}
	} else {
		raw, err := oneArg(c, "reference (or --manifest FILE)")
		if err != nil {
			return opts, err
		}
		if c.IsSet("media-type") {
			return opts, usageErrorf("--media-type describes a --manifest file; a REF's media type comes from where it is stored")
		}
		if opts.SignatureOnly && sigOut == "" {
			return opts, usageErrorf("--signature-only needs --signature-out SIG: where to write the envelope")
		}
		opts.Artifact = flows.Location{Ref: raw, Layout: c.Bool("oci-layout")}
	}
	if opts.Expiry < 0 {
		return opts, usageErrorf("--expiry %s must be positive", opts.Expiry)
	}
	if opts.Annotations, err = parseAnnotations(c.StringSlice("annotation")); err != nil {
		return opts, err
	}
	if err := signPlatformOptions(c, &opts); err != nil { // platform.go
		return opts, err
	}
	if opts.Signer, err = flows.LoadSigner(key, cert); err != nil {
		return opts, err
	}
	if opts.Timestamp, err = timestampClient(c, plugin); err != nil {
		return opts, err
	}
	if manifestFile != "" {
		subject, err := flows.ManifestFile(manifestFile, c.String("media-type"))
		if err != nil {
			return opts, err
		}
		opts.Manifest = &subject
	}
	return opts, nil
}

func runSign(c *cli.Context) error {
	opts, err := signOptions(c)
	if err != nil {
		return err
	}
	if done, err := signLocal(c, opts); done {
		return err
	}
	asJSON, err := jsonOutput(c)
	if err != nil {
		return err
	}
	return withClient(c, func(ctx context.Context, client *flows.Client) error {
		res, err := client.Sign(ctx, opts)
		if res == nil {
			return err
		}
		// --recursive reports what it signed even when some pushes failed.
		if rerr := reportSign(c, asJSON, opts, res); rerr != nil {
			return rerr
		}
		return err
	})
}

// reportSign prints what Sign did, with its warnings on stderr.
func reportSign(c *cli.Context, asJSON bool, opts flows.SignOptions, res *flows.SignResult) error {
	if res.ResolvedTag != "" {
		warnf(c, "resolved tag %q to %s: the digest is signed, not the tag", res.ResolvedTag, res.Subject.Digest)
	}
	if !res.Resumed.IsZero() {
		warnf(c, "resuming the signature made at %s, whose push did not complete", formatTime(res.Resumed))
	}
	if res.JournalErr != nil {
		warnf(c, "cannot keep the signature until it is pushed (%v): if the push fails, signing again makes a second signature", res.JournalErr)
	}
	out := signResult{Reference: res.Reference, Subject: toDescriptor(res.Subject), Algorithm: string(res.Algorithm),
		Signature: optDescriptor(res.Signature), Envelope: optDescriptor(res.Envelope),
		Platform: flows.FormatPlatform(res.Platform), Children: toSignChildren(res.Children)}
	if opts.Manifest != nil {
		out.Reference = c.String("manifest")
	}
	if res.Envelope != nil {
		out.SignatureFile = opts.SignatureOut
	}
	if asJSON {
		return writeJSON(c.App.Writer, out)
	}
	w := c.App.Writer
	if opts.Manifest != nil {
		printf(w, "Signed %s (%s)\n", out.Subject.Digest, out.Reference)
	} else {
		printf(w, "Signed %s\n", out.Reference)
	}
	if out.Signature != nil {
		printf(w, "Signature %s (%s)\n", out.Signature.Digest, out.Algorithm)
	}
	printSignChildren(c, out) // platform.go
	if out.SignatureFile != "" {
		printf(w, "Envelope written to %s (%s)\n", out.SignatureFile, out.Algorithm)
		if out.Signature == nil {
			printf(c.App.ErrWriter, "Nothing was pushed: push the image, then '%s attach --signature %s REF'\n", c.App.Name, out.SignatureFile)
		}
	}
	return nil
}
