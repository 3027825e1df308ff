package main

import (
	"context"

	"github.com/urfave/cli/v2"

	"github.com/nv2-signing/nv2/pkg/flows"
)

func copyCommand() *cli.Command {
	return &cli.Command{
		Name:      "copy",
		Aliases:   []string{"cp"},
		Usage:     "copy an artifact with everything that refers to it (signatures included)",
		ArgsUsage: "SRC DST",
		Description: "Copies SRC to DST with all its referrers, between registries and OCI image\n" +
			"layouts in any direction. DST may omit the tag to keep SRC's.\n\n" +
			"   nv2 copy --from-oci-layout ./net-monitor:v1 registry.example/net-monitor:v1",
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "from-oci-layout", Usage: "SRC is a local OCI image layout PATH[:tag|@digest]"},
			&cli.BoolFlag{Name: "to-oci-layout", Usage: "DST is a local OCI image layout PATH[:tag]"},
			outputFlag(),
			noProgressFlag(),
		}, registryFlags()...),
		Action: runCopy,
	}
}

type copyResult struct {
	Source      string     `json:"source"`
	Destination string     `json:"destination"`
	Descriptor  descriptor `json:"descriptor"`
	Sent        sentJSON   `json:"sent"`
}

func runCopy(c *cli.Context) error {
	if c.NArg() != 2 {
		return usageErrorf("'%s' takes SRC and DST; got %d arguments", c.Command.HelpName, c.NArg())
	}
	asJSON, err := jsonOutput(c)
	if err != nil {
		return err
	}
	return withClient(c, func(ctx context.Context, client *flows.Client) error {
		src := flows.Location{Ref: c.Args().Get(0), Layout: c.Bool("from-oci-layout")}
		dst := flows.Location{Ref: c.Args().Get(1), Layout: c.Bool("to-oci-layout")}
		progress, done := copyProgress(c, asJSON)
		res, err := client.Copy(ctx, src, dst, progress)
		done()
		if err != nil {
			return err
		}
		out := copyResult{Source: res.Source, Destination: res.Destination, Descriptor: toDescriptor(res.Descriptor), Sent: toSentJSON(res.Sent)}
		if asJSON {
			return writeJSON(c.App.Writer, out)
		}
		printf(c.App.Writer, "Copied %s\n    to %s\n    sent %s\n", out.Source, out.Destination, sentText(res.Sent))
		return nil
	})
}
