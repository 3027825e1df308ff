package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/nv2-signing/nv2/internal/dockerplugin"
	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/flows"
	"github.com/nv2-signing/nv2/pkg/trust"
)

func dockerConfigCommand() *cli.Command {
	return &cli.Command{
		Name:  "config",
		Usage: "show or change the plugin's settings (nv2.json in the docker config folder)",
		Description: "Without a subcommand, prints the settings. They are kept in nv2.json in\n" +
			"the docker config folder ($DOCKER_CONFIG, else ~/.docker), with absolute paths.\n\n" +
			"   docker nv2 config set --key signer.key --cert signer.crt --verify-cert ca.crt\n" +
			"   docker nv2 config enable",
		Flags:  []cli.Flag{outputFlag()},
		Action: runConfigShow,
		Subcommands: []*cli.Command{
			{
				Name:  "set",
				Usage: "set the signing key and certificate, and the trust used on pull",
				Description: "Sets only what is given; each file is checked first. --verify-cert\n" +
					"(certificates trusted directly) and --policy (a trust policy) replace each other.",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "key", Usage: "private key `FILE` that push signs with"},
					&cli.StringFlag{Name: "cert", Usage: "certificate chain `FILE` of the key (leaf first)"},
					&cli.StringSliceFlag{Name: "verify-cert", Usage: "trust the certificate(s) in `FILE` on pull (repeatable; replaces earlier ones)"},
					&cli.StringFlag{Name: "policy", Usage: "verify pulls with the trust policy in `FILE`"},
					&cli.StringFlag{Name: "timestamp-url", Usage: "timestamp signatures with the RFC 3161 TSA at `URL` (\"\" turns it off)"},
					&cli.StringFlag{Name: "timestamp-root-cert", Usage: "the TSA's root certificate `FILE` its tokens must chain to"},
					outputFlag(),
				},
				Action: runConfigSet,
			},
			{
				Name:   "enable",
				Usage:  "make push sign, pull verify, and other docker commands pass through",
				Action: func(c *cli.Context) error { return setEnabled(c, true) },
			},
			{
				Name:   "disable",
				Usage:  "turn push, pull and docker pass-through off (nv2's own commands still work)",
				Action: func(c *cli.Context) error { return setEnabled(c, false) },
			},
		},
	}
}

// pluginConfigReport is what 'docker nv2 config -o json' prints.
type pluginConfigReport struct {
	File string `json:"file"`
	dockerplugin.Config
}

func runConfigShow(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageErrorf("unknown 'docker nv2 config' command %q: use set, enable or disable", c.Args().First())
	}
	cfg, path, err := pluginOf(c).config()
	if err != nil {
		return err
	}
	return printPluginConfig(c, cfg, path)
}

func printPluginConfig(c *cli.Context, cfg *dockerplugin.Config, path string) error {
	asJSON, err := jsonOutput(c)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(c.App.Writer, pluginConfigReport{File: path, Config: *cfg})
	}
	w := c.App.Writer
	or := func(s, unset string) string {
		if s == "" {
			return "not set (" + unset + ")"
		}
		return s
	}
	printf(w, "settings:     %s\n", path)
	if cfg.Enabled {
		printf(w, "enabled:      yes: push signs, pull and run verify, other commands go to docker\n")
	} else {
		printf(w, "enabled:      no (docker nv2 config enable)\n")
	}
	printf(w, "signing key:  %s\n", or(cfg.Key, "docker nv2 config set --key FILE"))
	printf(w, "certificate:  %s\n", or(cfg.Cert, "docker nv2 config set --cert FILE"))
	switch {
	case cfg.Policy != "":
		printf(w, "trust:        policy %s\n", cfg.Policy)
	case len(cfg.VerifyCerts) > 0:
		printf(w, "trust:        certificates %s\n", strings.Join(cfg.VerifyCerts, ", "))
	default:
		printf(w, "trust:        not set (docker nv2 config set --verify-cert FILE, or --policy FILE)\n")
	}
	if cfg.TimestampURL != "" {
		printf(w, "timestamp:    %s (TSA root %s)\n", cfg.TimestampURL, cfg.TimestampRootCert)
	}
	return nil
}

func runConfigSet(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageErrorf("'docker nv2 config set' takes only flags; got %q", c.Args().First())
	}
	if !(c.IsSet("key") || c.IsSet("cert") || c.IsSet("verify-cert") || c.IsSet("policy") || c.IsSet("timestamp-url") || c.IsSet("timestamp-root-cert")) {
		return usageErrorf("'docker nv2 config set' needs --key, --cert, --verify-cert, --policy or --timestamp-url")
	}
	if c.IsSet("verify-cert") && c.IsSet("policy") {
		return usageErrorf("use --verify-cert or --policy, not both")
	}
	cfg, path, err := pluginOf(c).config()
	if err != nil {
		return err
	}
	abs := func(flag, f string) (string, error) {
		if f == "" {
			return "", usageErrorf("--%s needs a file name", flag)
		}
		p, err := filepath.Abs(f)
		if err != nil {
			return "", fmt.Errorf("--%s %s: %w", flag, f, err)
		}
		return p, nil
	}
	if c.IsSet("key") {
		if cfg.Key, err = abs("key", c.String("key")); err != nil {
			return err
		}
	}
	if c.IsSet("cert") {
		if cfg.Cert, err = abs("cert", c.String("cert")); err != nil {
			return err
		}
	}
	if c.IsSet("verify-cert") {
		cfg.VerifyCerts, cfg.Policy = nil, ""
		for _, f := range c.StringSlice("verify-cert") {
			p, err := abs("verify-cert", f)
			if err != nil {
				return err
			}
			if _, err := nvcrypto.LoadCertificates(p); err != nil {
				return fmt.Errorf("--verify-cert: %w", err)
			}
			cfg.VerifyCerts = append(cfg.VerifyCerts, p)
		}
	}
	if c.IsSet("policy") {
		if cfg.Policy, err = abs("policy", c.String("policy")); err != nil {
			return err
		}
		cfg.VerifyCerts = nil
		data, err := os.ReadFile(cfg.Policy)
		if err != nil {
			return fmt.Errorf("--policy: %w", err)
		}
		if _, err := trust.ParsePolicy(data); err != nil {
			return fmt.Errorf("--policy %s: %w", cfg.Policy, err)
		}
	}
	if err := setTimestamp(c, cfg, abs); err != nil {
		return err
	}
	if err := checkSigningFiles(cfg); err != nil {
		return err
	}
	if err := cfg.Save(path); err != nil {
		return err
	}
	return printPluginConfig(c, cfg, path)
}

// checkSigningFiles checks that the configured key and certificate load and,
// when both are set, belong together.
func checkSigningFiles(cfg *dockerplugin.Config) error {
	switch {
	case cfg.Key != "" && cfg.Cert != "":
		if _, err := flows.LoadSigner(cfg.Key, cfg.Cert); err != nil {
			return fmt.Errorf("the key and certificate cannot sign together: %w", err)
		}
	case cfg.Key != "":
		if _, err := nvcrypto.LoadPrivateKey(cfg.Key); err != nil {
			return fmt.Errorf("--key: %w", err)
		}
	case cfg.Cert != "":
		if _, err := nvcrypto.LoadCertificates(cfg.Cert); err != nil {
			return fmt.Errorf("--cert: %w", err)
		}
	}
	return nil
}

func setEnabled(c *cli.Context, on bool) error {
	if c.NArg() > 0 {
		return usageErrorf("'docker nv2 config %s' takes no arguments", c.Command.Name)
	}
	cfg, path, err := pluginOf(c).config()
	if err != nil {
		return err
	}
	cfg.Enabled = on
	if err := cfg.Save(path); err != nil {
		return err
	}
	if !on {
		printf(c.App.Writer, "docker nv2 is disabled: push, pull and docker pass-through are off\n")
		return nil
	}
	printf(c.App.Writer, "docker nv2 is enabled: push signs, pull and run verify, other commands go to docker\n")
	if err := cfg.CheckSigner(); err != nil {
		warnf(c, "%v", signerAdvice(err))
	}
	if err := cfg.CheckTrust(); err != nil {
		warnf(c, "%v", trustAdvice(err))
	}
	return nil
}
