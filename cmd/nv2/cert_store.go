package main

import (
	"github.com/urfave/cli/v2"

	"github.com/nv2-signing/nv2/pkg/trust"
)

func storeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "store", Required: true, Usage: "trust store `NAME`"},
		&cli.StringFlag{Name: "type", Aliases: []string{"t"}, Value: trust.StoreCA, Usage: "trust store type: ca, signingAuthority or tsa"},
		outputFlag(),
	}
}

func certAddCommand() *cli.Command {
	return &cli.Command{
		Name:      "add",
		Usage:     "add certificates to a trust store",
		ArgsUsage: "--store NAME FILE...",
		Description: "Copies PEM certificate files into the trust store --type:--store, in\n" +
			"$XDG_CONFIG_HOME/nv2/truststore/x509/TYPE/NAME/, where a trust policy's\n" +
			"trustStores entry \"TYPE:NAME\" finds them. A tsa store holds the root\n" +
			"certificates of Time Stamping Authorities whose timestamps are trusted.\n\n" +
			"   nv2 cert add --store wabbit-networks ./keys/wabbit-networks.io-ca.crt\n" +
			"   nv2 cert add --type tsa --store acme-tsa ./tsa-root.crt",
		Flags:  storeFlags(),
		Action: runCertAdd,
	}
}

func certDeleteCommand() *cli.Command {
	return &cli.Command{
		Name:      "delete",
		Usage:     "remove certificates, or a whole trust store",
		ArgsUsage: "--store NAME [FILE...]",
		Description: "Removes the named certificate files (as 'nv2 cert list' shows them) from the\n" +
			"trust store --type:--store, or with no FILE the whole store. A trust policy\n" +
			"that still names the store then fails until you add certificates again.\n\n" +
			"   nv2 cert delete --store wabbit-networks wabbit-networks.io-ca.crt\n" +
			"   nv2 cert delete --store wabbit-networks",
		Flags:  storeFlags(),
		Action: runCertDelete,
	}
}

func certListCommand() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list the certificates in the trust stores",
		Description: "Lists every certificate file of every trust store (TYPE:NAME, the file, and\n" +
			"each certificate's subject, SHA-256 thumbprint and end of validity).\n\n" +
			"   nv2 cert list\n" +
			"   nv2 cert list -o json",
		Flags:  []cli.Flag{outputFlag()},
		Action: runCertList,
	}
}

// storeChange is what cert add and cert delete report.
type storeChange struct {
	Store string   `json:"store"`
	Files []string `json:"files"`
}

func runCertAdd(c *cli.Context) error {
	if c.NArg() == 0 {
		return usageErrorf("'%s' needs at least one certificate file", c.Command.HelpName)
	}
	return changeStore(c, "Added", trust.Config.AddCertificates)
}

func runCertDelete(c *cli.Context) error {
	return changeStore(c, "Removed", trust.Config.DeleteCertificates)
}

// changeStore runs change on the trust store the flags name with the
// arguments, and reports the files changed.
func changeStore(c *cli.Context, verb string, change func(trust.Config, string, string, []string) ([]string, error)) error {
	cfg, asJSON, err := configAndFormat(c)
	if err != nil {
		return err
	}
	typ, name := c.String("type"), c.String("store")
	files, err := change(cfg, typ, name, c.Args().Slice())
	out := storeChange{Store: typ + ":" + name, Files: listOf(files)}
	if asJSON {
		if werr := writeJSON(c.App.Writer, out); werr != nil {
			return werr
		}
	} else {
		for _, p := range files {
			printf(c.App.Writer, "%s %s\n", verb, p)
		}
	}
	return err
}

// certListReport is cert list's JSON: every certificate file of every store.
type certListReport struct {
	Files []listEntry `json:"files"`
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
		return writeJSON(c.App.Writer, certListReport{Files: out})
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
