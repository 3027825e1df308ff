package main

import (
	"context"
	"sort"

	"github.com/urfave/cli/v2"

	"github.com/nv2-signing/nv2/pkg/flows"
	"github.com/nv2-signing/nv2/pkg/registry"
)

func discoverCommand() *cli.Command {
	return &cli.Command{
		Name:      "discover",
		Usage:     "show what refers to an artifact (signatures, SBOMs, ...) as a tree",
		ArgsUsage: "REF",
		Description: "Lists the referrers of REF through the referrers API (or the referrers tag\n" +
			"schema), and their referrers in turn down to --depth.\n\n" +
			"   nv2 discover registry.example/net-monitor:v1",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "artifact-type", Usage: "show only referrers of this artifact `TYPE`"},
			&cli.IntFlag{Name: "depth", Value: 0, Usage: "how many levels of referrers to follow (0: all)"},
			&cli.BoolFlag{Name: "oci-layout", Usage: "REF is a local OCI image layout PATH[:tag|@digest]"},
			outputFlag(),
		}, registryFlags()...),
		Action: runDiscover,
	}
}

// discoverNode is the JSON form of a referrers tree.
type discoverNode struct {
	descriptor
	Referrers []discoverNode `json:"referrers"`
	// Platform and Manifests: an image index's manifests (platform.go);
	// "" and [] for other artifacts.
	Platform  string         `json:"platform"`
	Manifests []discoverNode `json:"manifests"`
}

type discoverResult struct {
	Reference string `json:"reference"`
	discoverNode
}

func toDiscoverNode(n *registry.Node) discoverNode {
	out := discoverNode{descriptor: toDescriptor(n.Descriptor), Referrers: []discoverNode{}, Manifests: []discoverNode{}, Platform: flows.FormatPlatform(n.Platform)}
	for _, r := range n.Referrers {
		out.Referrers = append(out.Referrers, toDiscoverNode(r))
	}
	for _, m := range n.Manifests {
		out.Manifests = append(out.Manifests, toDiscoverNode(m))
	}
	return out
}

func runDiscover(c *cli.Context) error {
	raw, asJSON, err := refAndFormat(c)
	if err != nil {
		return err
	}
	if c.Int("depth") < 0 {
		return usageErrorf("--depth %d: use 0 for all levels or a positive number", c.Int("depth"))
	}
	return withClient(c, func(ctx context.Context, client *flows.Client) error {
		opts := flows.DiscoverOptions{Artifact: flows.Location{Ref: raw, Layout: c.Bool("oci-layout")}, ArtifactType: c.String("artifact-type"), Depth: c.Int("depth")}
		tree, err := client.Discover(ctx, opts)
		if err != nil {
			return err
		}
		res := discoverResult{Reference: tree.Reference, discoverNode: toDiscoverNode(tree.Tree)}
		if asJSON {
			return writeJSON(c.App.Writer, res)
		}
		w := c.App.Writer
		printf(w, "%s\n", res.Reference)
		printTree(c, res.Referrers, "", len(res.Manifests) > 0)
		printManifests(c, res.Manifests, "") // platform.go
		if len(res.Referrers)+len(res.Manifests) == 0 {
			printf(w, "(no referrers)\n")
		}
		return nil
	})
}

// printTree prints referrers grouped by artifact type, as oras discover does;
// more says that branches follow them.
func printTree(c *cli.Context, nodes []discoverNode, indent string, more bool) {
	groups := map[string][]discoverNode{}
	var types []string
	for _, n := range nodes {
		t := n.ArtifactType
		if t == "" {
			t = n.MediaType
		}
		if _, ok := groups[t]; !ok {
			types = append(types, t)
		}
		groups[t] = append(groups[t], n)
	}
	sort.Strings(types)
	for i, t := range types {
		branch, next := "├── ", "│   "
		if i == len(types)-1 && !more {
			branch, next = "└── ", "    "
		}
		printf(c.App.Writer, "%s%s%s\n", indent, branch, t)
		for j, n := range groups[t] {
			b2, n2 := "├── ", "│   "
			if j == len(groups[t])-1 {
				b2, n2 = "└── ", "    "
			}
			printf(c.App.Writer, "%s%s%s%s\n", indent, next, b2, n.Digest)
			printTree(c, n.Referrers, indent+next+n2, false)
		}
	}
}
