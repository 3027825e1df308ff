package main

import (
	"github.com/urfave/cli/v2"

	"github.com/nv2-signing/nv2/pkg/trust"
)

func blobPolicyCommand() *cli.Command {
	return &cli.Command{
		Name:  "policy",
		Usage: "manage the blob trust policy used by 'nv2 blob verify'",
		Description: "The blob trust policy is a Notary Project blob trust policy document\n" +
			"(version \"1.0\"), kept at $XDG_CONFIG_HOME/nv2/trustpolicy.blob.json beside\n" +
			"trustpolicy.json. Policies are chosen by name ('nv2 blob verify --policy-name');\n" +
			"at most one sets \"globalPolicy\": true and is used when no name is given.\n" +
			"Levels are those of 'nv2 policy'; the global policy cannot be \"skip\". Example:\n\n" +
			"   {\n" +
			"     \"version\": \"1.0\",\n" +
			"     \"trustPolicies\": [{\n" +
			"       \"name\": \"wabbit-networks-blobs\",\n" +
			"       \"globalPolicy\": true,\n" +
			"       \"signatureVerification\": {\"level\": \"strict\"},\n" +
			"       \"trustStores\": [\"ca:wabbit-networks\"],\n" +
			"       \"trustedIdentities\": [\"*\"]\n" +
			"     }]\n" +
			"   }",
		Subcommands: []*cli.Command{
			{
				Name:      "import",
				Usage:     "check a blob trust policy file and make it the configured blob policy",
				ArgsUsage: "FILE",
				Description: "Checks FILE against the blob trust policy rules and copies it to\n" +
					"$XDG_CONFIG_HOME/nv2/trustpolicy.blob.json. Warns about trust stores it\n" +
					"names that do not exist yet: add them with 'nv2 cert add'.\n\n" +
					"   nv2 blob policy import ./trustpolicy.blob.json",
				Flags:  []cli.Flag{outputFlag()},
				Action: runBlobPolicyImport,
			},
			{
				Name:  "show",
				Usage: "print the configured blob trust policy",
				Description: "Prints each policy of the configured blob trust policy: its name, whether\n" +
					"it is the global one, level, overrides, trust stores and identities.\n\n" +
					"   nv2 blob policy show",
				Flags:  []cli.Flag{outputFlag()},
				Action: runBlobPolicyShow,
			},
		},
	}
}

func runBlobPolicyImport(c *cli.Context) error {
	return importPolicy(c, "blob trust", func(cfg trust.Config, data []byte) (policyImport, []string, error) {
		doc, err := cfg.ImportBlobPolicy(data)
		if err != nil {
			return policyImport{}, nil, err
		}
		var stores []string
		for _, p := range doc.TrustPolicies {
			stores = append(stores, p.TrustStores...)
		}
		return policyImport{File: cfg.BlobPolicyPath(), Policies: len(doc.TrustPolicies)}, stores, nil
	})
}

func runBlobPolicyShow(c *cli.Context) error {
	cfg, asJSON, err := configAndFormat(c)
	if err != nil {
		return err
	}
	doc, err := cfg.LoadBlobPolicy()
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(c.App.Writer, doc)
	}
	w := c.App.Writer
	printf(w, "Blob trust policy %s (version %s)\n", cfg.BlobPolicyPath(), doc.Version)
	for _, p := range doc.TrustPolicies {
		if p.GlobalPolicy {
			printf(w, "- %s (global)\n", p.Name)
		} else {
			printf(w, "- %s\n", p.Name)
		}
		printRule(w, p.SignatureVerification, p.TrustStores, p.TrustedIdentities)
	}
	return nil
}
