package main

import (
	"io"

	"github.com/urfave/cli/v2"

	"github.com/nv2-signing/nv2/pkg/flows"
)

// platformFlags are the multi-platform flags of verify and pull: which
// platform of an image index to verify, and whether the index's signature
// may vouch for it.
func platformFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "platform", Usage: "verify the manifest an image index lists for `OS/ARCH[/VARIANT]` (e.g. linux/arm64)"},
		&cli.BoolFlag{Name: "require-platform-signature", Usage: "with --platform, require the platform manifest's own signature; the index's is not enough"},
	}
}

// signPlatformFlags are sign's multi-platform flags.
func signPlatformFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "recursive", Aliases: []string{"r"}, Usage: "sign an image index and every manifest it lists (nested indexes too)"},
		&cli.StringFlag{Name: "platform", Usage: "sign only the manifest an image index lists for `OS/ARCH[/VARIANT]`"},
	}
}

// withPlatform sets loc's platform from --platform and
// --require-platform-signature.
func withPlatform(c *cli.Context, loc flows.Location) (flows.Location, error) {
	p, err := flows.ParsePlatform(c.String("platform"))
	if err != nil {
		return loc, err
	}
	if p == nil && c.Bool("require-platform-signature") {
		return loc, usageErrorf("--require-platform-signature needs --platform OS/ARCH[/VARIANT]: the platform whose manifest must be signed")
	}
	loc.Platform, loc.RequirePlatformSignature = p, c.Bool("require-platform-signature")
	return loc, nil
}

// signPlatformOptions sets opts' Recursive and Platform from sign's flags.
func signPlatformOptions(c *cli.Context, opts *flows.SignOptions) (err error) {
	opts.Recursive = c.Bool("recursive")
	if opts.Platform, err = flows.ParsePlatform(c.String("platform")); err != nil {
		return err
	}
	if (opts.Recursive || opts.Platform != nil) && (opts.Manifest != nil || opts.SignatureOut != "") {
		return usageErrorf("--recursive and --platform sign an image index in its registry or OCI layout: drop --manifest and --signature-out")
	}
	if opts.Recursive && opts.Platform != nil {
		return usageErrorf("use --recursive (every platform) or --platform (one), not both")
	}
	return nil
}

// platformReport says which manifest of an image index verified, and whose
// signature vouched for it.
type platformReport struct {
	Platform string      `json:"platform"`
	Index    *descriptor `json:"index,omitempty"`
	Manifest descriptor  `json:"manifest"`
	// SignedBy is "manifest" (its own signature) or "index" (the index's).
	SignedBy string `json:"signedBy,omitempty"`
}

func toPlatformReport(v *flows.PlatformVerdict) *platformReport {
	if v == nil {
		return nil
	}
	out := &platformReport{Platform: v.Platform, Manifest: toDescriptor(v.Manifest), SignedBy: v.SignedBy}
	if v.Index.Digest != "" {
		d := toDescriptor(v.Index)
		out.Index = &d
	}
	return out
}

// printPlatform prints which level verified, in one line.
func (r *verifyResult) printPlatform(c *cli.Context) {
	p := r.Platform
	if p == nil {
		return
	}
	w := c.App.Writer
	switch {
	case p.Index == nil:
		printf(w, "  platform:     %s: %s is a single manifest, not an image index\n", p.Platform, p.Manifest.Digest)
	case p.SignedBy == flows.SignedByIndex:
		printf(w, "  platform:     %s manifest %s, vouched for by the signed index %s\n", p.Platform, p.Manifest.Digest, p.Index.Digest)
	case p.SignedBy == flows.SignedByManifest:
		printf(w, "  platform:     %s manifest %s, signed itself (index %s)\n", p.Platform, p.Manifest.Digest, p.Index.Digest)
	default:
		printf(c.App.ErrWriter, "  platform:     %s manifest %s of the index %s\n", p.Platform, p.Manifest.Digest, p.Index.Digest)
	}
}

// signChild is one manifest of an image index signed with --recursive.
func toSignChildren(children []*flows.SignResult) []signResult {
	var out []signResult
	for _, r := range children {
		out = append(out, signResult{Reference: r.Reference, Subject: toDescriptor(r.Subject), Algorithm: string(r.Algorithm),
			Signature: optDescriptor(r.Signature), Platform: flows.FormatPlatform(r.Platform)})
	}
	return out
}

// printSignChildren prints the manifests of an index signed with it.
func printSignChildren(c *cli.Context, out signResult) {
	for _, ch := range out.Children {
		name := ch.Platform
		if name == "" {
			name = ch.Subject.MediaType
		}
		printf(c.App.Writer, "Signed %s (%s)\n", ch.Reference, name)
		if ch.Signature != nil {
			printf(c.App.Writer, "  signature %s\n", ch.Signature.Digest)
		}
	}
}

// printManifests prints the manifests of an image index below its
// referrers, each with its platform and its own referrers.
func printManifests(c *cli.Context, nodes []discoverNode, indent string) {
	for i, m := range nodes {
		branch, next := "├── ", "│   "
		if i == len(nodes)-1 {
			branch, next = "└── ", "    "
		}
		printf(c.App.Writer, "%s%s%s\n", indent, branch, manifestLabel(m.Platform, m.descriptor))
		printTree(c, m.Referrers, indent+next, len(m.Manifests) > 0)
		printManifests(c, m.Manifests, indent+next)
	}
}

// manifestLabel names a manifest an image index lists.
func manifestLabel(platform string, d descriptor) string {
	if platform == "" {
		platform = d.MediaType
	}
	return "[" + platform + "] " + d.Digest
}

// printInspectManifests prints the manifests of an image index, each with
// its signatures, indented below the index.
func printInspectManifests(w io.Writer, ms []inspectResult, indent string) {
	for _, m := range ms {
		printf(w, "%smanifest %s\n", indent, manifestLabel(m.Platform, m.Subject))
		printInspect(w, m, indent+"    ")
	}
}

// indentWriter prefixes each write (one line, as printf writes them) with
// indent.
type indentWriter struct {
	w      io.Writer
	indent string
}

func (i indentWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(i.w, i.indent); err != nil {
		return 0, err
	}
	return i.w.Write(p)
}
