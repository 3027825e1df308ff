package main

import (
	"time"

	"github.com/urfave/cli/v2"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/registry"
	"github.com/nv2-signing/nv2/pkg/signature"
)

func signCommand() *cli.Command {
	return &cli.Command{
		Name:      "sign",
		Usage:     "sign an artifact and store the signature beside it",
		ArgsUsage: "REF",
		Description: "Signs the manifest REF resolves to and pushes the signature as an OCI 1.1\n" +
			"referrer of it. A tag is resolved once; the digest is what gets signed.\n\n" +
			"   nv2 sign --key signer.key --cert signer.crt registry.example/net-monitor:v1",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "key", Aliases: []string{"k"}, Required: true, Usage: "private key `FILE` (PEM: PKCS#8, PKCS#1 or SEC1)"},
			&cli.StringFlag{Name: "cert", Aliases: []string{"c"}, Required: true, Usage: "certificate chain `FILE` (PEM, leaf first)"},
			&cli.DurationFlag{Name: "expiry", Aliases: []string{"e"}, Usage: "the signature expires this long after signing (e.g. 720h); default never"},
			&cli.StringSliceFlag{Name: "annotation", Aliases: []string{"a"}, Usage: "signed metadata `KEY=VALUE` (repeatable)"},
			&cli.BoolFlag{Name: "oci-layout", Usage: "REF is a local OCI image layout PATH[:tag|@digest]; no network is used"},
			outputFlag(),
		}, registryFlags()...),
		Action: runSign,
	}
}

// signResult is what sign reports.
type signResult struct {
	Reference string     `json:"reference"`
	Subject   descriptor `json:"subject"`
	Signature descriptor `json:"signature"`
}

func runSign(c *cli.Context) error {
	raw, err := oneArg(c, "reference")
	if err != nil {
		return err
	}
	asJSON, err := jsonOutput(c)
	if err != nil {
		return err
	}
	annotations, err := parseAnnotations(c.StringSlice("annotation"))
	if err != nil {
		return err
	}
	signer, err := loadSigner(c.String("key"), c.String("cert"))
	if err != nil {
		return err
	}
	e, err := newEnv(c)
	if err != nil {
		return err
	}
	t, err := e.open(raw, c.Bool("oci-layout"))
	if err != nil {
		return err
	}
	if err := needReference(t, raw); err != nil {
		return err
	}
	ctx, cancel := e.context()
	defer cancel()
	subject, err := t.Resolve(ctx, t.ref.Reference())
	if err != nil {
		return err
	}
	if t.ref.Digest == "" {
		warnf(c, "resolved tag %q to %s: the digest is signed, not the tag", t.ref.Tag, subject.Digest)
	}
	now := time.Now()
	req := signature.SignRequest{Target: subject, Annotations: annotations, SigningTime: now, SigningAgent: "nv2/" + version}
	if d := c.Duration("expiry"); d > 0 {
		req.Expiry = now.Add(d)
	} else if d < 0 {
		return usageErrorf("--expiry %s must be positive", d)
	}
	env, err := signer.Sign(req)
	if err != nil {
		return err
	}
	sig, err := t.PushSignature(ctx, subject, env, registry.SignatureOptions{Thumbprints: nvcrypto.Thumbprints(signer.Chain()), Created: now})
	if err != nil {
		return err
	}
	res := signResult{Reference: t.ref.WithDigest(subject.Digest).String(), Subject: toDescriptor(subject), Signature: toDescriptor(sig)}
	if asJSON {
		return writeJSON(c.App.Writer, res)
	}
	w := c.App.Writer
	printf(w, "Signed %s\n", res.Reference)
	printf(w, "Signature %s (%s)\n", sig.Digest, signer.Algorithm())
	return nil
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
