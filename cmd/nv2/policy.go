package main

import (
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/nv2-signing/nv2/pkg/trust"
)

func policyCommand() *cli.Command {
	return &cli.Command{
		Name:  "policy",
		Usage: "manage the trust policy used by 'nv2 verify'",
		Description: "The trust policy is a Notary Project trust policy document (version \"1.0\"),\n" +
			"kept at $XDG_CONFIG_HOME/nv2/trustpolicy.json. Example:\n\n" +
			"   {\n" +
			"     \"version\": \"1.0\",\n" +
			"     \"trustPolicies\": [{\n" +
			"       \"name\": \"wabbit-networks-images\",\n" +
			"       \"registryScopes\": [\"registry.example/net-monitor\"],\n" +
			"       \"signatureVerification\": {\"level\": \"strict\"},\n" +
			"       \"trustStores\": [\"ca:wabbit-networks\"],\n" +
			"       \"trustedIdentities\": [\"*\"]\n" +
			"     }]\n" +
			"   }\n\n" +
			"Levels: strict checks integrity, authenticity (a chain to a trusted\n" +
			"certificate and a trusted identity), the signing time against the\n" +
			"certificate's validity, and expiry; permissive only logs the last two;\n" +
			"audit enforces only integrity; skip checks nothing.",
		Subcommands: []*cli.Command{
			{
				Name:      "import",
				Usage:     "check a trust policy file and make it the configured policy",
				ArgsUsage: "FILE",
				Action:    runPolicyImport,
			},
			{
				Name:   "show",
				Usage:  "print the configured trust policy",
				Flags:  []cli.Flag{outputFlag()},
				Action: runPolicyShow,
			},
		},
	}
}

func runPolicyImport(c *cli.Context) error {
	return importPolicy(c, "trust", func(cfg trust.Config, data []byte) (int, string, error) {
		doc, err := cfg.ImportPolicy(data)
		if err != nil {
			return 0, "", err
		}
		return len(doc.TrustPolicies), cfg.PolicyPath(), nil
	})
}

// importPolicy reads the policy file the command names and installs it in
// the configured folder; install reports how many policies it holds and
// where it went.
func importPolicy(c *cli.Context, kind string, install func(trust.Config, []byte) (int, string, error)) error {
	file, err := oneArg(c, "policy file")
	if err != nil {
		return err
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	cfg, err := trust.DefaultConfig()
	if err != nil {
		return err
	}
	n, path, err := install(cfg, data)
	if err != nil {
		return withCode(exitError, wrapf(err, "%s was not imported", file))
	}
	printf(c.App.Writer, "Imported %d %s polic%s into %s\n", n, kind, plural(n, "y", "ies"), path)
	return nil
}

func runPolicyShow(c *cli.Context) error {
	cfg, asJSON, err := configAndFormat(c)
	if err != nil {
		return err
	}
	doc, err := cfg.LoadPolicy()
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(c.App.Writer, doc)
	}
	w := c.App.Writer
	printf(w, "Trust policy %s (version %s)\n", cfg.PolicyPath(), doc.Version)
	for _, p := range doc.TrustPolicies {
		printf(w, "- %s\n", p.Name)
		printf(w, "    scopes:     %v\n", p.RegistryScopes)
		printRule(w, p.SignatureVerification, p.TrustStores, p.TrustedIdentities)
	}
	return nil
}

// printRule prints what a trust policy entry, OCI or blob, trusts.
func printRule(w io.Writer, sv trust.SignatureVerification, stores, ids []string) {
	printf(w, "    level:      %s\n", sv.Level)
	for _, k := range sortedKeys(sv.Override) {
		printf(w, "    override:   %s=%s\n", k, sv.Override[k])
	}
	if sv.VerifyTimestamp != "" {
		printf(w, "    timestamps: verifyTimestamp %s\n", sv.VerifyTimestamp)
	}
	if len(stores) > 0 {
		printf(w, "    stores:     %v\n", stores)
		printf(w, "    identities: %v\n", ids)
	}
}
