package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/opencontainers/go-digest"
	"github.com/urfave/cli/v2"

	"github.com/nv2-signing/nv2/pkg/registry"
	"github.com/nv2-signing/nv2/pkg/trust"
)

func dockerPushCommand(d *dockerCLI) *cli.Command {
	return &cli.Command{
		Name:      "push",
		Usage:     "docker push an image, then sign the digest docker pushed",
		ArgsUsage: "NAME[:TAG]",
		Description: "Runs 'docker push NAME[:TAG]', reads the digest docker reports\n" +
			"(\"TAG: digest: sha256:... size: N\") and signs exactly that digest with the\n" +
			"configured key and certificate ('docker nv2 config set --key F --cert F').\n" +
			"The key is checked before anything is pushed. Needs 'docker nv2 config enable'.\n\n" +
			"   docker nv2 push registry.example/net-monitor:v1",
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "all-tags", Aliases: []string{"a"}, Usage: "push every tag of NAME and sign each pushed digest (docker push --all-tags)"},
			&cli.StringFlag{Name: "platform", Usage: "push only this platform's manifest (docker push --platform)"},
		}, registryFlags()...),
		Action: func(c *cli.Context) error { return runDockerPush(c, d) },
	}
}

func dockerPullCommand(d *dockerCLI) *cli.Command {
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
		}, registryFlags()...),
		Action: func(c *cli.Context) error { return runDockerPull(c, d) },
	}
}

func runDockerPush(c *cli.Context, d *dockerCLI) error {
	raw, err := pluginImageArg(c)
	if err != nil {
		return err
	}
	cfg, _, err := loadPluginConfig()
	if err != nil {
		return err
	}
	if err := cfg.checkEnabled("push", "docker push"); err != nil {
		return err
	}
	if err := cfg.checkSigner(); err != nil {
		return err
	}
	// A key that cannot sign is found now, before an unsigned image is out.
	if _, err := loadSigner(cfg.Key, cfg.Cert); err != nil {
		return fmt.Errorf("nothing was pushed: the configured signing key or certificate: %w; fix it with 'docker nv2 config set --key FILE --cert FILE'", err)
	}
	ref, err := dockerReference(raw)
	if err != nil {
		return err
	}
	allTags := c.Bool("all-tags")
	switch {
	case ref.Digest != "":
		return usageErrorf("'docker nv2 push' takes NAME[:TAG], not a digest: docker pushes tags")
	case allTags && ref.Tag != "":
		return usageErrorf("--all-tags takes a NAME without a tag; got %q", raw)
	case !allTags && ref.Tag == "":
		ref.Tag = "latest" // what docker pushes
	}

	args := []string{"push"}
	if allTags {
		args = append(args, "--all-tags")
	}
	if p := c.String("platform"); p != "" {
		args = append(args, "--platform", p)
	}
	args = append(args, raw)
	var lines pushLines
	code, err := d.run(teeWriter{c.App.Writer, &lines}, args...)
	if err != nil {
		return err
	}
	if code != exitOK {
		return withCode(code, fmt.Errorf("docker push %s failed (exit %d); nothing was signed", raw, code))
	}
	digests := lines.digests(ref.Tag)
	if len(digests) == 0 {
		return fmt.Errorf("docker push printed no \"%s: digest: sha256:... size: N\" line, so nv2 cannot tell what was pushed and signed nothing; "+
			"find the digest with 'docker inspect --format \"{{index .RepoDigests 0}}\" %s' and run 'docker nv2 sign NAME@DIGEST'", tagOr(ref.Tag, "TAG"), raw)
	}
	for _, dg := range digests {
		pinned := ref.WithDigest(dg).String()
		signArgs := append([]string{"nv2", "sign", "--key", cfg.Key, "--cert", cfg.Cert}, forwardRegistryFlags(c)...)
		if code := run(append(signArgs, pinned), c.App.Writer, c.App.ErrWriter); code != exitOK {
			return withCode(code, fmt.Errorf("%s was pushed but not signed; once the error above is fixed, run 'docker nv2 sign %s'", pinned, pinned))
		}
	}
	return nil
}

func runDockerPull(c *cli.Context, d *dockerCLI) error {
	raw, err := pluginImageArg(c)
	if err != nil {
		return err
	}
	cfg, _, err := loadPluginConfig()
	if err != nil {
		return err
	}
	if err := cfg.checkEnabled("pull", "docker pull"); err != nil {
		return err
	}
	trustArgs, err := cfg.trustArgs()
	if err != nil {
		return err
	}
	ref, err := dockerReference(raw)
	if err != nil {
		return err
	}
	name := dockerName(raw, ref)
	if ref.Reference() == "" {
		ref.Tag = "latest" // what docker pulls
	}

	// Verify with nv2 verify itself; its JSON says which digest verified.
	var out bytes.Buffer
	verifyArgs := append(append([]string{"nv2", "verify", "-o", "json"}, trustArgs...), forwardRegistryFlags(c)...)
	code := run(append(verifyArgs, ref.String()), &out, c.App.ErrWriter)
	var results []verifyResult
	if err := json.Unmarshal(out.Bytes(), &results); err != nil || len(results) != 1 {
		if code == exitOK {
			code = exitError // no verdict is never a pass
		}
		return withCode(code, fmt.Errorf("not pulling %s: verification did not complete", raw))
	}
	r := results[0]
	r.code = code
	r.printText(c)
	if code != exitOK || (r.Status != trust.Verified && r.Status != trust.Skipped) || r.Subject == nil {
		if code == exitOK {
			code = exitError
		}
		return withCode(code, fmt.Errorf("not pulling %s: it did not verify", raw))
	}
	dg, err := digest.Parse(r.Subject.Digest)
	if err != nil {
		return fmt.Errorf("not pulling %s: verify reported digest %q: %w", raw, r.Subject.Digest, err)
	}

	pinned := name + "@" + dg.String()
	args := []string{"pull"}
	if p := c.String("platform"); p != "" {
		args = append(args, "--platform", p)
	}
	if c.Bool("quiet") {
		args = append(args, "--quiet")
	}
	if code, err := d.run(c.App.Writer, append(args, pinned)...); err != nil {
		return err
	} else if code != exitOK {
		return withCode(code, fmt.Errorf("docker pull %s failed (exit %d): the image verified but was not pulled", pinned, code))
	}
	if ref.Digest != "" {
		printf(c.App.Writer, "Pulled %s (verified)\n", pinned)
		return nil
	}
	tagged := name + ":" + ref.Tag
	if code, err := d.run(c.App.Writer, "tag", pinned, tagged); err != nil {
		return err
	} else if code != exitOK {
		return withCode(code, fmt.Errorf("docker tag %s %s failed (exit %d): the verified image is pulled as %s", pinned, tagged, code, pinned))
	}
	printf(c.App.Writer, "Pulled %s as %s (verified)\n", pinned, tagged)
	return nil
}

// pluginImageArg returns the single image argument of push or pull.
func pluginImageArg(c *cli.Context) (string, error) {
	if c.NArg() != 1 {
		return "", usageErrorf("'docker nv2 %s' takes one image (flags go before it); got %d arguments", c.Command.Name, c.NArg())
	}
	return c.Args().First(), nil
}

// dockerReference parses an image name as the docker CLI does: a name whose
// first component is not a host ("net-monitor:v1", "library/alpine") is on
// Docker Hub, whatever NV2_REGISTRY says, because that is where docker
// pushes and pulls it.
func dockerReference(s string) (registry.Reference, error) {
	full := s
	if host, _, ok := strings.Cut(s, "/"); !ok || !(strings.ContainsAny(host, ".:") || host == "localhost") {
		full = registry.DockerHub + "/" + s
	}
	ref, err := registry.ParseReference(full, "")
	if err != nil {
		return registry.Reference{}, usageErrorf("%v", err)
	}
	return ref, nil
}

// dockerName is raw, as the user spelled it for docker, without the tag and
// digest that ref (parsed from raw) carries.
func dockerName(raw string, ref registry.Reference) string {
	if ref.Digest != "" {
		raw = strings.TrimSuffix(raw, "@"+ref.Digest)
	}
	if ref.Tag != "" {
		raw = strings.TrimSuffix(raw, ":"+ref.Tag)
	}
	return raw
}

// forwardRegistryFlags returns the registry flags set on c, to pass on to
// the nv2 command that push or pull runs.
func forwardRegistryFlags(c *cli.Context) []string {
	var out []string
	for _, name := range []string{"plain-http", "insecure", "debug"} {
		if c.Bool(name) {
			out = append(out, "--"+name)
		}
	}
	for _, name := range []string{"ca-file", "username", "password"} {
		if v := c.String(name); v != "" {
			out = append(out, "--"+name+"="+v)
		}
	}
	if c.IsSet("timeout") {
		out = append(out, "--timeout="+c.Duration("timeout").String())
	}
	return out
}

func tagOr(tag, alt string) string {
	if tag == "" {
		return alt
	}
	return tag
}

// pushDigestLine is the line docker push prints for each tag it pushed.
var pushDigestLine = regexp.MustCompile(`^([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}): digest: ([a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+) size: [0-9]+$`)

// pushedTag is one "TAG: digest: DIGEST size: N" line of docker push.
type pushedTag struct {
	tag    string
	digest digest.Digest
}

// pushLines is an io.Writer that collects the digest lines of the docker
// push output written to it, keeping at most one line in memory.
type pushLines struct {
	partial []byte
	skip    bool // the current line is too long to be a digest line
	pushed  []pushedTag
}

// maxPushLine bounds the line pushLines buffers; longer lines are progress
// output, never a digest line.
const maxPushLine = 4096

func (p *pushLines) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			p.add(b)
			break
		}
		p.add(b[:i])
		p.flush()
		b = b[i+1:]
	}
	return n, nil
}

func (p *pushLines) add(b []byte) {
	if p.skip || len(p.partial)+len(b) > maxPushLine {
		p.partial, p.skip = p.partial[:0], true
		return
	}
	p.partial = append(p.partial, b...)
}

// flush ends the current line.
func (p *pushLines) flush() {
	l, skip := p.partial, p.skip
	p.partial, p.skip = p.partial[:0], false
	if skip {
		return
	}
	// Progress output may redraw a line with carriage returns; the last
	// segment is what shows.
	l = bytes.TrimRight(l, "\r")
	if i := bytes.LastIndexByte(l, '\r'); i >= 0 {
		l = l[i+1:]
	}
	m := pushDigestLine.FindSubmatch(bytes.TrimSpace(l))
	if m == nil {
		return
	}
	d, err := digest.Parse(string(m[2]))
	if err != nil {
		return
	}
	p.pushed = append(p.pushed, pushedTag{tag: string(m[1]), digest: d})
}

// digests returns the distinct digests pushed, in order: those of tag, or of
// every tag when tag is "".
func (p *pushLines) digests(tag string) []digest.Digest {
	p.flush()
	var out []digest.Digest
	for _, t := range p.pushed {
		if (tag == "" || t.tag == tag) && !slices.Contains(out, t.digest) {
			out = append(out, t.digest)
		}
	}
	return out
}

// teeWriter copies docker's output to the user (out) and to capture. A
// failed write to the user is ignored, so that docker is not disturbed and
// capture still sees every line.
type teeWriter struct {
	out     io.Writer
	capture *pushLines
}

func (t teeWriter) Write(b []byte) (int, error) {
	_, _ = t.capture.Write(b)
	_, _ = t.out.Write(b)
	return len(b), nil
}
