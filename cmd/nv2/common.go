package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/nv2-signing/nv2/pkg/flows"
	"github.com/nv2-signing/nv2/pkg/registry"
	"github.com/nv2-signing/nv2/pkg/trust"
)

// Flags shared by the commands that talk to a registry.
func registryFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "plain-http", Usage: "use HTTP, not HTTPS, for the registry (loopback hosts use HTTP anyway)"},
		&cli.BoolFlag{Name: "insecure", Usage: "use HTTPS but skip verifying the registry's certificate"},
		&cli.StringFlag{Name: "ca-file", Usage: "trust the CA certificates in `FILE` for the registry's HTTPS"},
		&cli.StringFlag{Name: "username", Aliases: []string{"u"}, EnvVars: []string{"NV2_USERNAME"}, Usage: "registry user name (default: from the docker config)"},
		&cli.StringFlag{Name: "password", Aliases: []string{"p"}, EnvVars: []string{"NV2_PASSWORD"}, Usage: "registry password or token"},
		&cli.DurationFlag{Name: "timeout", Value: 5 * time.Minute, Usage: "give up after this long"},
		&cli.BoolFlag{Name: "debug", Usage: "log each registry request to stderr (credentials redacted)"},
	}
}

// Flags shared by the commands that decide trust.
func trustFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringSliceFlag{Name: "cert", Aliases: []string{"c"}, Usage: "trust the certificate(s) in `FILE` directly: a signer's, or a CA's (repeatable)"},
		&cli.StringSliceFlag{Name: "tsa-cert", Usage: "with --cert: trust the TSA root certificate in `FILE`; every signature then needs a timestamp from it (repeatable)"},
		&cli.StringFlag{Name: "policy", Usage: "use the trust policy in `FILE` instead of the configured one"},
		&cli.StringSliceFlag{Name: "annotation", Aliases: []string{"a"}, Usage: "require signed metadata `KEY=VALUE` (repeatable)"},
		&cli.IntFlag{Name: "max-signatures", Value: 50, Usage: "check at most this many signatures of one artifact (trusted-looking ones first)"},
	}, revocationFlags()...)
}

type name string

// flagValue reads a registry flag given either before the command (nv2
// --debug verify ...) or after it (nv2 verify --debug ...); the one nearer
// the command wins, and the command's default applies when neither is set.
func flagValue[T any](c *cli.Context, n name, get func(*cli.Context, string) T) T {
	for _, x := range c.Lineage() {
		if x.IsSet(string(n)) {
			return get(x, string(n))
		}
	}
	return get(c, string(n))
}

func outputFlag() cli.Flag {
	return &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "output format: text or json"}
}

// jsonOutput reports whether --output asks for JSON, refusing other values.
func jsonOutput(c *cli.Context) (bool, error) {
	switch f := c.String("output"); f {
	case "", "text":
		return false, nil
	case "json":
		return true, nil
	default:
		return false, usageErrorf("--output %q: use text or json", f)
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// newClient makes the flows client of one command from the registry flags,
// so that every reference of the command shares one connection pool and one
// token cache.
func newClient(c *cli.Context) (*flows.Client, error) {
	opts := registry.Options{
		PlainHTTP:    flagValue(c, name("plain-http"), (*cli.Context).Bool),
		Insecure:     flagValue(c, name("insecure"), (*cli.Context).Bool),
		CAFile:       flagValue(c, name("ca-file"), (*cli.Context).String),
		Username:     flagValue(c, name("username"), (*cli.Context).String),
		Password:     flagValue(c, name("password"), (*cli.Context).String),
		UserAgent:    "nv2/" + version,
		DockerConfig: pluginOf(c).configDir(),
		// No per-request Timeout: --timeout bounds the whole command through
		// the context (commandContext), so that running out of time always
		// reads as "did not complete", never as a signature that failed.
	}
	if opts.Password != "" && opts.Username == "" {
		return nil, usageErrorf("--password needs --username (or NV2_USERNAME)")
	}
	if flagValue(c, name("debug"), (*cli.Context).Bool) {
		opts.Debug = c.App.ErrWriter
	}
	client, err := registry.NewClient(opts)
	if err != nil {
		return nil, err
	}
	return &flows.Client{Registry: client, DefaultRegistry: os.Getenv(envRegistry)}, nil
}

// withClient runs f with the command's flows client and a context that
// ends at --timeout.
func withClient(c *cli.Context, f func(context.Context, *flows.Client) error) error {
	client, err := newClient(c)
	if err != nil {
		return err
	}
	ctx, cancel := commandContext(c)
	defer cancel()
	return f(ctx, client)
}

// commandContext returns a context that ends at --timeout.
func commandContext(c *cli.Context) (context.Context, context.CancelFunc) {
	d := flagValue(c, name("timeout"), (*cli.Context).Duration)
	if d <= 0 {
		return context.WithCancel(c.Context)
	}
	return context.WithTimeout(c.Context, d)
}

// parseAnnotations reads repeated k=v flags.
func parseAnnotations(values []string) (map[string]string, error) {
	if len(values) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, kv := range values {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageErrorf("--annotation %q must be KEY=VALUE", kv)
		}
		if _, dup := out[k]; dup {
			return nil, usageErrorf("--annotation %q is given twice", k)
		}
		out[k] = v
	}
	return out, nil
}

// refAndFormat reads what most commands take: one reference and --output.
func refAndFormat(c *cli.Context) (raw string, asJSON bool, err error) {
	return argAndFormat(c, "reference")
}

// argAndFormat reads the command's one argument (what it is) and --output.
func argAndFormat(c *cli.Context, what string) (arg string, asJSON bool, err error) {
	if arg, err = oneArg(c, what); err != nil {
		return "", false, err
	}
	asJSON, err = jsonOutput(c)
	return arg, asJSON, err
}

// configAndFormat reads --output and finds nv2's configuration folder.
func configAndFormat(c *cli.Context) (trust.Config, bool, error) {
	asJSON, err := jsonOutput(c)
	if err != nil {
		return trust.Config{}, false, err
	}
	cfg, err := trust.DefaultConfig()
	return cfg, asJSON, err
}

// oneArg returns the command's single positional argument.
func oneArg(c *cli.Context, what string) (string, error) {
	if c.NArg() != 1 {
		return "", usageErrorf("'%s' takes one %s; got %d arguments", c.Command.HelpName, what, c.NArg())
	}
	return c.Args().First(), nil
}

func warnf(c *cli.Context, format string, a ...any) {
	fmt.Fprintf(c.App.ErrWriter, "Warning: "+format+"\n", a...)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// wrapf adds context to err, keeping it inspectable with errors.Is.
func wrapf(err error, format string, a ...any) error {
	return fmt.Errorf(format+": %w", append(a, err)...)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
