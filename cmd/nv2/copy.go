package main

import (
	"github.com/urfave/cli/v2"

	"github.com/nv2-signing/nv2/pkg/registry"
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
		}, registryFlags()...),
		Action: runCopy,
	}
}

type copyResult struct {
	Source      string     `json:"source"`
	Destination string     `json:"destination"`
	Descriptor  descriptor `json:"descriptor"`
}

func runCopy(c *cli.Context) error {
	if c.NArg() != 2 {
		return usageErrorf("'nv2 copy' takes SRC and DST (flags go before them); got %d arguments", c.NArg())
	}
	asJSON, err := jsonOutput(c)
	if err != nil {
		return err
	}
	e, err := newEnv(c)
	if err != nil {
		return err
	}
	src, err := e.open(c.Args().Get(0), c.Bool("from-oci-layout"))
	if err != nil {
		return err
	}
	if err := needReference(src, c.Args().Get(0)); err != nil {
		return err
	}
	dst, err := e.open(c.Args().Get(1), c.Bool("to-oci-layout"))
	if err != nil {
		return err
	}
	dstRef := dst.ref.Reference()
	if dstRef == "" {
		dstRef = src.ref.Tag
	}
	ctx, cancel := e.context()
	defer cancel()
	desc, err := registry.Copy(ctx, src.Storage, src.ref.Reference(), dst.Storage, dstRef)
	if err != nil {
		return err
	}
	res := copyResult{Source: src.ref.String(), Destination: dst.ref.WithDigest(desc.Digest).String(), Descriptor: toDescriptor(desc)}
	if asJSON {
		return writeJSON(c.App.Writer, res)
	}
	printf(c.App.Writer, "Copied %s\n    to %s\n", res.Source, res.Destination)
	return nil
}
