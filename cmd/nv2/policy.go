package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

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
				Description: "Checks FILE against the trust policy rules (version, unique names and\n" +
					"scopes, levels, trust stores, identities) and copies it to\n" +
					"$XDG_CONFIG_HOME/nv2/trustpolicy.json. Warns about trust stores it names\n" +
					"that do not exist yet: add them with 'nv2 cert add'.\n\n" +
					"   nv2 policy import ./trustpolicy.json",
				Flags:  []cli.Flag{outputFlag()},
				Action: runPolicyImport,
			},
			{
				Name:  "show",
				Usage: "print the configured trust policy",
				Description: "Prints each policy of the configured trust policy: its scopes, level,\n" +
					"overrides, trust stores and trusted identities.\n\n" +
					"   nv2 policy show\n" +
					"   nv2 policy show -o json",
				Flags:  []cli.Flag{outputFlag()},
				Action: runPolicyShow,
			},
		},
	}
}

func runPolicyImport(c *cli.Context) error {
	return importPolicy(c, "trust", func(cfg trust.Config, data []byte) (policyImport, []string, error) {
		doc, err := cfg.ImportPolicy(data)
		if err != nil {
			return policyImport{}, nil, err
		}
		var stores []string
		for _, p := range doc.TrustPolicies {
			stores = append(stores, p.TrustStores...)
		}
		return policyImport{File: cfg.PolicyPath(), Policies: len(doc.TrustPolicies)}, stores, nil
	})
}

// policyImport is what policy import reports.
type policyImport struct {
	File     string   `json:"file"`
	Policies int      `json:"policies"`
	Warnings []string `json:"warnings"`
}

// importPolicy reads the policy file the command names and installs it in
// the configured folder; install reports how many policies it holds, where
// it went, and the trust stores it names, which are warned about when they
// do not exist.
func importPolicy(c *cli.Context, kind string, install func(trust.Config, []byte) (policyImport, []string, error)) error {
	file, err := oneArg(c, "policy file")
	if err != nil {
		return err
	}
	cfg, asJSON, err := configAndFormat(c)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	out, stores, err := install(cfg, data)
	if err != nil {
		return withCode(exitError, wrapf(err, "%s was not imported", file))
	}
	out.Warnings = []string{}
	for _, ref := range missingStores(cfg, stores) {
		typ, name, _ := strings.Cut(ref, ":")
		out.Warnings = append(out.Warnings, fmt.Sprintf("trust store %s does not exist: add its certificates with '%s cert add --type %s --store %s FILE'", ref, c.App.Name, typ, name))
	}
	if asJSON {
		return writeJSON(c.App.Writer, out)
	}
	for _, w := range out.Warnings {
		warnf(c, "%s", w)
	}
	printf(c.App.Writer, "Imported %d %s polic%s into %s\n", out.Policies, kind, plural(out.Policies, "y", "ies"), out.File)
	return nil
}

// missingStores lists, once each, the trust stores of stores ("type:name")
// that do not exist in cfg.
func missingStores(cfg trust.Config, stores []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, ref := range stores {
		if seen[ref] {
			continue
		}
		seen[ref] = true
		if _, err := cfg.Certificates(ref); errors.Is(err, trust.ErrNoStore) {
			out = append(out, ref)
		}
	}
	return out
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
