package main

// docker nv2's local images: sign before push, push with signatures, and
// run only what verifies. internal/dockerplugin does the work.

import (
	"context"
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/nv2-signing/nv2/internal/dockerplugin"
	"github.com/nv2-signing/nv2/pkg/flows"
)

// signLocal signs a local image of the engine when "docker nv2 sign" names
// one (NAME[:TAG], not --oci-layout, not --manifest), and reports whether it
// did. Other names are signed in their registry as nv2 sign does.
func signLocal(c *cli.Context, opts flows.SignOptions) (bool, error) {
	p := pluginOf(c)
	if !p.active() || opts.Manifest != nil || opts.Artifact.Layout {
		return false, nil
	}
	img, err := dockerplugin.ParseImageName(opts.Artifact.Ref)
	if err != nil || img.Ref.Digest != "" {
		return false, nil
	}
	if _, err := p.docker.ImageID(opts.Artifact.Ref); err != nil {
		return false, nil // not local, or no engine: the registry's image
	}
	asJSON, err := jsonOutput(c)
	if err != nil {
		return true, err
	}
	return true, withClient(c, func(ctx context.Context, client *flows.Client) error {
		l, res, err := dockerplugin.SignLocal(ctx, p.docker, client, dockerplugin.SignLocalOptions{Name: opts.Artifact.Ref, Sign: opts, StoreDir: dockerplugin.DefaultStoreDir()})
		if err != nil {
			return err
		}
		res.Reference = l.Pinned()
		if err := reportSign(c, asJSON, opts, res); err != nil {
			return err
		}
		if !asJSON {
			printf(c.App.ErrWriter, "Signed the local image %s (ID %s) offline, as it will be in the registry; 'docker nv2 push %s' pushes it with its signatures\n",
				opts.Artifact.Ref, l.ID, opts.Artifact.Ref)
		}
		return nil
	})
}

// pushLocal is "docker nv2 push NAME[:TAG]": the local image, converted as
// sign converts it, pushed with its signatures; signed at push with the
// configured key when it has none.
func pushLocal(c *cli.Context, p *pluginContext, cfg *dockerplugin.Config, raw string, asJSON bool) error {
	var sign flows.SignOptions
	if cfg.CheckSigner() == nil {
		signer, err := flows.LoadSigner(cfg.Key, cfg.Cert)
		if err != nil {
			return fmt.Errorf("nothing was pushed: the configured signing key or certificate: %w; fix it with 'docker nv2 config set --key FILE --cert FILE'", err)
		}
		sign = flows.SignOptions{Signer: signer, SigningAgent: "nv2/" + version}
		if sign.Timestamp, err = timestampClient(c, cfg); err != nil {
			return fmt.Errorf("nothing was pushed: the configured timestamp settings: %w; fix them with 'docker nv2 config set --timestamp-url URL --timestamp-root-cert FILE'", err)
		}
	}
	return withClient(c, func(ctx context.Context, client *flows.Client) error {
		res, err := dockerplugin.PushLocal(ctx, p.docker, client, dockerplugin.PushOptions{Name: raw, Sign: sign, StoreDir: dockerplugin.DefaultStoreDir()})
		switch {
		case errors.Is(err, dockerplugin.ErrUnsigned):
			return fmt.Errorf("nothing was pushed: %s has no signature: run 'docker nv2 sign %s' (or %v)", raw, raw, signerAdvice(dockerplugin.ErrNoSigner))
		case dockerplugin.IsNotLocal(err):
			return fmt.Errorf("nothing was pushed: %w; build or tag it first, or 'docker nv2 push --docker-push %s' to sign what docker push pushes", err, raw)
		case errors.As(err, new(*dockerplugin.NotLocalError)):
			return fmt.Errorf("nothing was pushed: %w", err)
		case err != nil:
			return err
		}
		if asJSON {
			return writeJSON(c.App.Writer, localPushReport(res))
		}
		if res.Signed != nil {
			printf(c.App.Writer, "Signed %s (%s)\n", res.Pinned(), res.Signed.Algorithm)
		}
		printf(c.App.Writer, "Pushed %s as %s with %d signature(s)\n", res.Pinned(), res.Tagged, len(res.Signatures))
		return nil
	})
}

// localPushReport is the JSON of a local push, in the shape of every docker
// nv2 push: one result per signature pushed with the image (the algorithm
// is known for the one made at push).
func localPushReport(res *dockerplugin.PushLocalResult) signReport {
	out := signReport{Results: []signResult{}}
	for _, sig := range res.Signatures {
		r := signResult{Reference: res.Pinned(), Subject: toDescriptor(res.Image.Descriptor), Signature: optDescriptor(&sig)}
		if res.Signed != nil && res.Signed.Signature != nil && res.Signed.Signature.Digest == sig.Digest {
			r.Algorithm = string(res.Signed.Algorithm)
		}
		out.Results = append(out.Results, r)
	}
	return out
}

func dockerRunCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "verify an image, then docker run exactly the verified digest",
		ArgsUsage: "[DOCKER RUN OPTIONS] NAME[:TAG|@DIGEST] [COMMAND] [ARG...]",
		Description: "Verifies the image with the configured trust, pulls the digest that verified\n" +
			"(as 'docker nv2 pull'), and runs 'docker run OPTIONS NAME@DIGEST ARGS'. Nothing\n" +
			"runs unless verification passes; the exit codes are verify's (3: no signature,\n" +
			"4: none trusted), then the container's. Needs 'docker nv2 config enable'.\n\n" +
			"   docker nv2 run --rm --network none registry.example/net-monitor:v1",
		SkipFlagParsing: true,
		Action:          runDockerRun,
	}
}

func runDockerRun(c *cli.Context) error {
	if a := c.Args().First(); a == "--help" || a == "-h" {
		return cli.ShowCommandHelp(c.Lineage()[1], "run")
	}
	p, cfg, err := enabledSettings(c, "run")
	if err != nil {
		return err
	}
	v, err := pullVerifier(c, cfg)
	if err != nil {
		return err
	}
	return withClient(c, func(ctx context.Context, client *flows.Client) error {
		// The container has stdout; what nv2 and docker pull say goes to stderr.
		pull := dockerplugin.PullOptions{Verifier: v, Output: c.App.ErrWriter, Verified: func(r flows.VerifyResult) {
			out, stdout := toVerifyResult(c.App.Name, r), c.App.Writer
			c.App.Writer = c.App.ErrWriter
			out.printText(c)
			c.App.Writer = stdout
		}}
		res, err := dockerplugin.Run(ctx, p.docker, client, dockerplugin.RunOptions{Args: c.Args().Slice(), Pull: pull})
		switch {
		case res == nil || res.PullResult == nil:
			return err
		case res.VerifyResult.Err != nil:
			return withCode(exitCode(res.VerifyResult.Err), fmt.Errorf("not running %s: it did not verify", res.Reference))
		case err != nil:
			return err
		case res.Code != 0:
			return withCode(res.Code, errors.New("")) // docker has said why
		}
		return nil
	})
}
