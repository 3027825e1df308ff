package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/nv2-signing/nv2/internal/dockerplugin"
	"github.com/nv2-signing/nv2/pkg/flows"
	"github.com/nv2-signing/nv2/pkg/trust"
)

func dockerPushCommand() *cli.Command {
	return &cli.Command{
		Name:      "push",
		Usage:     "push a local image with its signatures (or docker push, then sign)",
		ArgsUsage: "NAME[:TAG]",
		Description: "Pushes the local image NAME[:TAG] and its signatures: the image as\n" +
			"'docker nv2 sign' signed it offline, so the digest stored is the digest signed,\n" +
			"and 'docker pull NAME:TAG' gets it. An image with no signature yet is signed\n" +
			"first with the configured key and certificate ('docker nv2 config set --key F\n" +
			"--cert F'); without either, nothing is pushed.\n\n" +
			"--docker-push runs 'docker push NAME[:TAG]' instead and signs exactly the digest\n" +
			"docker reports (\"TAG: digest: sha256:... size: N\"), for images whose registry\n" +
			"form docker decides. Needs 'docker nv2 config enable'.\n\n" +
			"   docker nv2 sign registry.example/net-monitor:v1\n" +
			"   docker nv2 push registry.example/net-monitor:v1",
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "docker-push", Usage: "run docker push, then sign the digest docker pushed"},
			&cli.BoolFlag{Name: "all-tags", Usage: "with --docker-push: push every tag of NAME and sign each pushed digest"},
			&cli.StringFlag{Name: "platform", Usage: "with --docker-push: push only this platform's manifest"},
			outputFlag(),
		}, registryFlags()...),
		Action: runDockerPush,
	}
}

func dockerPullCommand() *cli.Command {
	return &cli.Command{
		Name:      "pull",
		Usage:     "verify an image, then docker pull exactly the verified digest",
		ArgsUsage: "NAME[:TAG|@DIGEST]",
		Description: "Verifies NAME[:TAG] with the configured trust ('docker nv2 config set\n" +
			"--verify-cert F' or '--policy F'), then runs 'docker pull NAME@DIGEST' of the\n" +
			"digest that verified and 'docker tag NAME@DIGEST NAME:TAG'. Nothing is pulled\n" +
			"unless verification passes; the exit codes are verify's (3: no signature,\n" +
			"4: none trusted). Needs 'docker nv2 config enable'.\n\n" +
			"   docker nv2 pull registry.example/net-monitor:v1",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "platform", Usage: "pull this platform's image (docker pull --platform)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no docker pull progress (docker pull --quiet)"},
			outputFlag(),
		}, append(revocationFlags(), registryFlags()...)...),
		Action: runDockerPull,
	}
}

func runDockerPush(c *cli.Context) error {
	raw, p, cfg, err := enabledPlugin(c)
	if err != nil {
		return err
	}
	asJSON, err := jsonOutput(c)
	if err != nil {
		return err
	}
	if !c.Bool("docker-push") {
		if c.Bool("all-tags") || c.IsSet("platform") {
			return usageErrorf("--all-tags and --platform go with --docker-push")
		}
		return pushLocal(c, p, cfg, raw, asJSON)
	}
	if err := cfg.CheckSigner(); err != nil {
		return signerAdvice(err)
	}
	// A key that cannot sign is found now, before an unsigned image is out.
	signer, err := flows.LoadSigner(cfg.Key, cfg.Cert)
	if err != nil {
		return fmt.Errorf("nothing was pushed: the configured signing key or certificate: %w; fix it with 'docker nv2 config set --key FILE --cert FILE'", err)
	}
	client, err := newClient(c)
	if err != nil {
		return err
	}
	ctx, cancel := commandContext(c)
	defer cancel()
	sign := flows.SignOptions{Signer: signer, SigningAgent: "nv2/" + version, JournalDir: flows.DefaultJournalDir()}
	if sign.Timestamp, err = timestampClient(c, cfg); err != nil {
		return fmt.Errorf("nothing was pushed: the configured timestamp settings: %w; fix them with 'docker nv2 config set --timestamp-url URL --timestamp-root-cert FILE'", err)
	}
	opts := dockerplugin.PushOptions{Name: raw, AllTags: c.Bool("all-tags"), Platform: c.String("platform"), Sign: sign, Output: resultWriter(c, asJSON)}
	results, err := dockerplugin.Push(ctx, p.docker, client, opts)
	signed := []signResult{}
	for _, res := range results {
		out := toSignResult(c, sign, res)
		if !asJSON {
			printSign(c, sign, out)
		}
		signed = append(signed, out)
	}
	if asJSON {
		if err := writeJSON(c.App.Writer, signReport{Results: signed}); err != nil {
			return err
		}
	}
	var exit *dockerplugin.ExitError
	var unsigned *dockerplugin.UnsignedError
	switch {
	case errors.As(err, &exit):
		return withCode(exit.Code, fmt.Errorf("docker push %s failed (exit %d); nothing was signed", raw, exit.Code))
	case errors.Is(err, dockerplugin.ErrNoPushDigest):
		return fmt.Errorf("%w, so nv2 cannot tell what was pushed and signed nothing; "+
			"find the digest with 'docker inspect --format \"{{index .RepoDigests 0}}\" %s' and run 'docker nv2 sign NAME@DIGEST'", err, raw)
	case errors.As(err, &unsigned):
		fmt.Fprintf(c.App.ErrWriter, "nv2: %v\n", advise(c.App.Name, unsigned.Err))
		return withCode(exitCode(unsigned.Err), fmt.Errorf("%s was pushed but not signed; once the error above is fixed, run 'docker nv2 sign %s'", unsigned.Pinned, unsigned.Pinned))
	}
	return err
}

func runDockerPull(c *cli.Context) error {
	raw, p, cfg, err := enabledPlugin(c)
	if err != nil {
		return err
	}
	asJSON, err := jsonOutput(c)
	if err != nil {
		return err
	}
	v, err := pullVerifier(c, cfg)
	if err != nil {
		return err
	}
	client, err := newClient(c)
	if err != nil {
		return err
	}
	ctx, cancel := commandContext(c)
	defer cancel()
	opts := dockerplugin.PullOptions{Name: raw, Verifier: v, Platform: c.String("platform"), Quiet: c.Bool("quiet"), Output: resultWriter(c, asJSON),
		Verified: func(r flows.VerifyResult) {
			if !asJSON {
				out := toVerifyResult(c.App.Name, r)
				out.printText(c)
			}
		}}
	res, err := dockerplugin.Pull(ctx, p.docker, client, opts)
	if res != nil && asJSON {
		out := pullResult{Verification: toVerifyResult(c.App.Name, res.VerifyResult), Destination: res.Pinned, Tag: res.Tagged}
		if err != nil && res.VerifyResult.Err == nil {
			out.Destination, out.Tag = "", ""
		}
		if err := writeJSON(c.App.Writer, out); err != nil {
			return err
		}
	}
	var exit *dockerplugin.ExitError
	switch {
	case res == nil:
		return err
	case res.VerifyResult.Err != nil:
		return withCode(exitCode(res.VerifyResult.Err), fmt.Errorf("not pulling %s: it did not verify", raw))
	case errors.As(err, &exit) && exit.Args[0] == "pull":
		return withCode(exit.Code, fmt.Errorf("docker pull %s failed (exit %d): the image verified but was not pulled", res.Pinned, exit.Code))
	case errors.As(err, &exit):
		return withCode(exit.Code, fmt.Errorf("docker tag %s failed (exit %d): the verified image is pulled as %s", res.Pinned, exit.Code, res.Pinned))
	case err != nil:
		return err
	case asJSON:
	case res.Tagged == "":
		printf(c.App.Writer, "Pulled %s (verified)\n", res.Pinned)
	default:
		printf(c.App.Writer, "Pulled %s as %s (verified)\n", res.Pinned, res.Tagged)
	}
	return nil
}

// resultWriter is where docker's own output goes: stdout, or stderr when
// stdout carries JSON.
func resultWriter(c *cli.Context, asJSON bool) io.Writer {
	if asJSON {
		return c.App.ErrWriter
	}
	return c.App.Writer
}

// signReport is the JSON of a command that signs several artifacts.
type signReport struct {
	Results []signResult `json:"results"`
}

// signerAdvice says how to configure the key that push signs with.
func signerAdvice(err error) error {
	return fmt.Errorf("%w: run 'docker nv2 config set --key FILE --cert FILE' ('docker nv2 cert generate' makes a test pair)", err)
}

// pullVerifier is the verifier of pull and run: the configured trust.
func pullVerifier(c *cli.Context, cfg *dockerplugin.Config) (*trust.Verifier, error) {
	if err := cfg.CheckTrust(); err != nil {
		return nil, trustAdvice(err)
	}
	return newVerifier(c)
}

// trustAdvice says how to configure the trust that pull verifies with.
func trustAdvice(err error) error {
	return fmt.Errorf("%w: run 'docker nv2 config set --verify-cert FILE' (repeatable: "+
		"the signers' or their CAs' certificates) or 'docker nv2 config set --policy FILE' (a trust policy)", err)
}

// enabledPlugin reads the image argument of push or pull and the plugin's
// settings, refusing while the plugin is disabled.
func enabledPlugin(c *cli.Context) (string, *pluginContext, *dockerplugin.Config, error) {
	raw, err := oneArg(c, "image")
	if err != nil {
		return "", nil, nil, err
	}
	p, cfg, err := enabledSettings(c, c.Command.Name)
	return raw, p, cfg, err
}
