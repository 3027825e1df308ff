package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/urfave/cli/v2"
	"oras.land/oras-go/v2/content"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/registry"
	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/spec"
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
		}, registryFlags()...),
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
}

func runSign(c *cli.Context) error {
	// Checked here, not with Required: urfave/cli reports a missing
	// required flag as a plain error (exit 1), and this is usage (exit 2).
	if c.String("key") == "" || c.String("cert") == "" {
		return usageErrorf("'nv2 sign' needs --key FILE and --cert FILE (make a test pair with 'nv2 cert generate')")
	}
	manifestFile, sigOut := c.String("manifest"), c.String("signature-out")
	sigOnly := c.Bool("signature-only")
	var raw string
	if manifestFile != "" {
		switch {
		case c.NArg() != 0:
			return usageErrorf("--manifest signs a file: give no REF (got %d arguments)", c.NArg())
		case c.Bool("oci-layout"):
			return usageErrorf("use --manifest or --oci-layout, not both")
		case sigOut == "":
			return usageErrorf("--manifest needs --signature-out SIG: a manifest file has nowhere to store its signature")
		}
		sigOnly = true
	} else {
		var err error
		if raw, err = oneArg(c, "reference (or --manifest FILE)"); err != nil {
			return err
		}
		if c.IsSet("media-type") {
			return usageErrorf("--media-type describes a --manifest file; a REF's media type comes from where it is stored")
		}
		if sigOnly && sigOut == "" {
			return usageErrorf("--signature-only needs --signature-out SIG: where to write the envelope")
		}
	}
	asJSON, err := jsonOutput(c)
	if err != nil {
		return err
	}
	annotations, err := parseAnnotations(c.StringSlice("annotation"))
	if err != nil {
		return err
	}
	now := time.Now()
	req := signature.SignRequest{Annotations: annotations, SigningTime: now, SigningAgent: "nv2/" + version}
	if d := c.Duration("expiry"); d > 0 {
		req.Expiry = now.Add(d)
	} else if d < 0 {
		return usageErrorf("--expiry %s must be positive", d)
	}
	signer, err := loadSigner(c.String("key"), c.String("cert"))
	if err != nil {
		return err
	}

	var res signResult
	var t *target
	ctx := c.Context
	if manifestFile != "" {
		if req.Target, err = readManifestFile(manifestFile, c.String("media-type")); err != nil {
			return err
		}
		res.Reference = manifestFile
	} else {
		e, err := newEnv(c)
		if err != nil {
			return err
		}
		var cancel context.CancelFunc
		ctx, cancel = e.context()
		defer cancel()
		if t, req.Target, err = e.resolve(ctx, raw, c.Bool("oci-layout")); err != nil {
			return err
		}
		if t.ref.Digest == "" {
			warnf(c, "resolved tag %q to %s: the digest is signed, not the tag", t.ref.Tag, req.Target.Digest)
		}
		res.Reference = t.ref.WithDigest(req.Target.Digest).String()
	}
	res.Subject, res.Algorithm = toDescriptor(req.Target), string(signer.Algorithm())
	// A push that failed midway is resumed with the same envelope, so that
	// running the command again leaves one signature (see pending.go).
	var journal *pendingSignature
	var env []byte
	if !sigOnly && !t.ref.IsLayout() {
		journal = pendingFor(t.String(), req.Target, signer.Chain(), annotations, c.Duration("expiry"))
		if env, now = journal.resume(req.Target, signer.Chain()[0], annotations, now); env != nil {
			warnf(c, "resuming the signature made at %s, whose push did not complete", formatTime(now))
		}
	}
	if env == nil {
		now = req.SigningTime
		if env, err = signer.Sign(req); err != nil {
			return err
		}
		if err := journal.save(env); err != nil {
			warnf(c, "cannot keep the signature until it is pushed (%v): if the push fails, signing again makes a second signature", err)
			journal = nil
		}
	}
	if sigOut != "" {
		// Written first: the envelope is kept even if the push fails.
		if err := nvcrypto.WriteFileAtomic(sigOut, env, 0o644, true); err != nil {
			return fmt.Errorf("--signature-out: %w", err)
		}
		d := toDescriptor(content.NewDescriptorFromBytes(spec.MediaTypeEnvelope, env))
		res.Envelope, res.SignatureFile = &d, sigOut
	}
	if !sigOnly {
		sig, err := pushSignature(ctx, t, req.Target, env, signature.ArtifactOptions{Thumbprints: nvcrypto.Thumbprints(signer.Chain()), Created: now})
		if err != nil {
			if journal != nil {
				return fmt.Errorf("%w\nthe signature was not stored completely; run the same command again to push this same signature", err)
			}
			return err
		}
		journal.done()
		d := toDescriptor(sig)
		res.Signature = &d
	}
	if asJSON {
		return writeJSON(c.App.Writer, res)
	}
	w := c.App.Writer
	if manifestFile != "" {
		printf(w, "Signed %s (%s)\n", res.Subject.Digest, manifestFile)
	} else {
		printf(w, "Signed %s\n", res.Reference)
	}
	if res.Signature != nil {
		printf(w, "Signature %s (%s)\n", res.Signature.Digest, res.Algorithm)
	}
	if res.SignatureFile != "" {
		printf(w, "Envelope written to %s (%s)\n", res.SignatureFile, res.Algorithm)
		if sigOnly {
			printf(c.App.ErrWriter, "Nothing was pushed: push the image, then 'nv2 attach --signature %s REF'\n", res.SignatureFile)
		}
	}
	return nil
}

// readManifestFile reads a manifest file and describes it for signing or
// verifying offline: digest and size of the file, media type from its
// mediaType field or from mediaType (--media-type).
func readManifestFile(path, mediaType string) (ocispec.Descriptor, error) {
	raw, err := readFileLimit("--manifest", path, spec.MaxManifestSize)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc, err := registry.ManifestDescriptor(raw, mediaType)
	if errors.Is(err, registry.ErrMediaType) {
		return ocispec.Descriptor{}, usageErrorf("--manifest %s: %v: pass --media-type TYPE with the manifest's media type", path, err)
	}
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("--manifest %s: %w", path, err)
	}
	return desc, nil
}

// readFileLimit reads the file a flag names, refusing one over limit bytes.
func readFileLimit(flag, path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: read %s: %w", flag, path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: %s is over the limit of %d bytes", flag, path, limit)
	}
	return b, nil
}

// loadSigner reads a key and its certificate chain and checks they belong
// together.
func loadSigner(keyPath, certPath string) (*signature.Signer, error) {
	key, err := nvcrypto.LoadPrivateKey(keyPath)
	if err != nil {
		return nil, err
	}
	chain, err := nvcrypto.LoadCertificates(certPath)
	if err != nil {
		return nil, err
	}
	return signature.NewSigner(key, chain)
}
