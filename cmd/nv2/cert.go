package main

import (
	"crypto/x509/pkix"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/trust"
)

func certCommand() *cli.Command {
	return &cli.Command{
		Name:  "cert",
		Usage: "make signing certificates and manage the trust store",
		Subcommands: []*cli.Command{
			{
				Name:      "generate",
				Usage:     "generate a key and certificate (chain) for 'nv2 sign'",
				ArgsUsage: " ",
				Description: "Writes NAME.key (mode 0600) and NAME.crt into --out. With --ca, also a CA\n" +
					"(NAME-ca.key, NAME-ca.crt) that issued the signing certificate; NAME.crt\n" +
					"then holds the chain, leaf first. For tests and demos: production keys\n" +
					"come from your PKI.\n\n" +
					"   nv2 cert generate --name wabbit-networks.io --out ./keys",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "name", Aliases: []string{"n"}, Required: true, Usage: "the certificate's common name (CN), also the file name"},
					&cli.StringFlag{Name: "subject", Usage: "further subject attributes, e.g. \"C=US, ST=WA, O=wabbit-networks.io\" (trust policy identities need C, ST and O)"},
					&cli.BoolFlag{Name: "ca", Usage: "also make a CA that issues the signing certificate"},
					&cli.StringFlag{Name: "key-type", Value: string(nvcrypto.ECDSAP256), Usage: "ecdsa-p256, ecdsa-p384, ecdsa-p521, rsa-2048, rsa-3072 or rsa-4096"},
					&cli.IntFlag{Name: "days", Value: 365, Usage: "how many days the certificates are valid"},
					&cli.StringFlag{Name: "out", Value: ".", Usage: "write the files into `DIR`"},
					&cli.BoolFlag{Name: "force", Usage: "overwrite existing files"},
					outputFlag(),
				},
				Action: runCertGenerate,
			},
			{
				Name:      "add",
				Usage:     "add certificates to a trust store",
				ArgsUsage: "FILE...",
				Description: "Copies PEM certificate files into the trust store --type:--store, in\n" +
					"$XDG_CONFIG_HOME/nv2/truststore/x509/TYPE/NAME/, where a trust policy's\n" +
					"trustStores entry \"TYPE:NAME\" finds them. A tsa store holds the root\n" +
					"certificates of Time Stamping Authorities whose timestamps are trusted.\n\n" +
					"   nv2 cert add --store wabbit-networks ./keys/wabbit-networks.io-ca.crt\n" +
					"   nv2 cert add --type tsa --store acme-tsa ./tsa-root.crt",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "store", Aliases: []string{"s"}, Required: true, Usage: "trust store `NAME`"},
					&cli.StringFlag{Name: "type", Aliases: []string{"t"}, Value: trust.StoreCA, Usage: "trust store type: ca, signingAuthority or tsa"},
				},
				Action: runCertAdd,
			},
			{
				Name:   "list",
				Usage:  "list the certificates in the trust stores",
				Flags:  []cli.Flag{outputFlag()},
				Action: runCertList,
			},
		},
	}
}

type generateResult struct {
	Key        string `json:"key"`
	Cert       string `json:"certificate"`
	CAKey      string `json:"caKey,omitempty"`
	CACert     string `json:"caCertificate,omitempty"`
	Subject    string `json:"subject"`
	Thumbprint string `json:"sha256Thumbprint"`
	// CAThumbprint is the CA's thumbprint (with --ca).
	CAThumbprint string    `json:"caSha256Thumbprint,omitempty"`
	NotAfter     time.Time `json:"notAfter"`
}

func runCertGenerate(c *cli.Context) error {
	if c.NArg() != 0 {
		return usageErrorf("'nv2 cert generate' takes no arguments; use --name and --out")
	}
	asJSON, err := jsonOutput(c)
	if err != nil {
		return err
	}
	kt, err := nvcrypto.ParseKeyType(c.String("key-type"))
	if err != nil {
		return usageErrorf("--key-type: %v", err)
	}
	if c.Int("days") <= 0 {
		return usageErrorf("--days %d must be positive", c.Int("days"))
	}
	name := c.String("name")
	if name != filepath.Base(name) || name == "." || name == ".." {
		return usageErrorf("--name %q cannot be a path: it is also the file name; use --out for the folder", name)
	}
	var subject pkix.Name
	if s := c.String("subject"); s != "" {
		if subject, err = nvcrypto.ParseSubject(s); err != nil {
			return usageErrorf("--subject: %v", err)
		}
	}
	creds, err := nvcrypto.Generate(nvcrypto.GenerateOptions{CommonName: name, Subject: subject, KeyType: kt, CA: c.Bool("ca"), Validity: time.Duration(c.Int("days")) * 24 * time.Hour})
	if err != nil {
		return err
	}
	paths, err := nvcrypto.WriteCredentials(c.String("out"), name, creds, c.Bool("force"))
	if err != nil {
		return err
	}
	leaf := creds.Chain[0]
	res := generateResult{Key: paths.Key, Cert: paths.Cert, CAKey: paths.CAKey, CACert: paths.CACert,
		Subject: leaf.Subject.String(), Thumbprint: nvcrypto.Thumbprint(leaf), NotAfter: leaf.NotAfter.UTC()}
	if len(creds.Chain) > 1 {
		res.CAThumbprint = nvcrypto.Thumbprint(creds.Chain[len(creds.Chain)-1])
	}
	if asJSON {
		return writeJSON(c.App.Writer, res)
	}
	w := c.App.Writer
	printf(w, "Generated %s (valid until %s)\n", res.Subject, formatTime(res.NotAfter))
	printf(w, "  key:         %s\n", res.Key)
	printf(w, "  certificate: %s\n", res.Cert)
	printf(w, "  sha256:      %s\n", res.Thumbprint)
	if res.CACert != "" {
		printf(w, "  CA key:      %s\n", res.CAKey)
		printf(w, "  CA cert:     %s (sha256 %s)\n", res.CACert, res.CAThumbprint)
	}
	printf(w, "Sign with:  nv2 sign --key %s --cert %s REF\n", res.Key, res.Cert)
	trustFile := res.Cert
	if res.CACert != "" {
		trustFile = res.CACert
	}
	printf(w, "Verify with: nv2 verify --cert %s REF\n", trustFile)
	return nil
}

func runCertAdd(c *cli.Context) error {
	if c.NArg() == 0 {
		return usageErrorf("'nv2 cert add' needs at least one certificate file")
	}
	cfg, err := trust.DefaultConfig()
	if err != nil {
		return err
	}
	added, err := cfg.AddCertificates(c.String("type"), c.String("store"), c.Args().Slice())
	for _, p := range added {
		printf(c.App.Writer, "Added %s\n", p)
	}
	if err != nil {
		return err
	}
	return nil
}

type listEntry struct {
	Store        string        `json:"store"`
	File         string        `json:"file"`
	Certificates []certificate `json:"certificates"`
}

func runCertList(c *cli.Context) error {
	cfg, asJSON, err := configAndFormat(c)
	if err != nil {
		return err
	}
	entries, err := cfg.List()
	if err != nil {
		return err
	}
	out := []listEntry{}
	for _, e := range entries {
		out = append(out, listEntry{Store: e.Type + ":" + e.Name, File: e.Path, Certificates: toCertificates(e.Certificates)})
	}
	if asJSON {
		return writeJSON(c.App.Writer, out)
	}
	if len(out) == 0 {
		printf(c.App.Writer, "The trust store is empty. Add certificates with 'nv2 cert add --store NAME FILE'.\n")
		return nil
	}
	for _, e := range out {
		printf(c.App.Writer, "%s  %s\n", e.Store, e.File)
		for _, cert := range e.Certificates {
			printf(c.App.Writer, "    %s (sha256 %s, until %s)\n", cert.Subject, cert.Thumbprint, formatTime(cert.NotAfter))
		}
	}
	return nil
}
