package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/urfave/cli/v2"

	"github.com/nv2-signing/nv2/pkg/registry"
	"github.com/nv2-signing/nv2/pkg/signature"
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

// env bundles what a command needs to reach registries, made once per run so
// that every reference shares one connection pool and one token cache.
type env struct {
	c      *cli.Context
	client *registry.Client
}

func newEnv(c *cli.Context) (*env, error) {
	opts := registry.Options{
		PlainHTTP: flagValue(c, name("plain-http"), (*cli.Context).Bool),
		Insecure:  flagValue(c, name("insecure"), (*cli.Context).Bool),
		CAFile:    flagValue(c, name("ca-file"), (*cli.Context).String),
		Username:  flagValue(c, name("username"), (*cli.Context).String),
		Password:  flagValue(c, name("password"), (*cli.Context).String),
		UserAgent: "nv2/" + version,
		// No per-request Timeout: --timeout bounds the whole command through
		// the context (env.context), so that running out of time always
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
	return &env{c: c, client: client}, nil
}

// context returns a context that ends at --timeout.
func (e *env) context() (context.Context, context.CancelFunc) {
	d := flagValue(e.c, name("timeout"), (*cli.Context).Duration)
	if d <= 0 {
		return context.WithCancel(e.c.Context)
	}
	return context.WithTimeout(e.c.Context, d)
}

// target is an opened reference: where it lives and what it names.
type target struct {
	ref registry.Reference
	registry.Storage
}

// scope is the repository a trust policy's registryScopes match; "" for
// an OCI image layout.
func (t *target) scope() string {
	if t.ref.Layout != "" {
		return ""
	}
	return t.ref.Registry + "/" + t.ref.Repository
}

// open parses s as a registry reference, or as an OCI image layout
// reference when layout is true, and opens it.
func (e *env) open(s string, layout bool) (*target, error) {
	if layout {
		ref, err := registry.ParseLayoutReference(s)
		if err != nil {
			return nil, usageErrorf("%v", err)
		}
		t, err := registry.OpenLayout(ref.Layout)
		if err != nil {
			return nil, err
		}
		return &target{ref: ref, Storage: t}, nil
	}
	ref, err := parseReference(s)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	t, err := e.client.Repository(ref)
	if err != nil {
		return nil, err
	}
	return &target{ref: ref, Storage: t}, nil
}

// envRegistry names the environment variable holding the registry (and
// optionally a namespace, "host[:port][/ns]") of references with no host.
const envRegistry = "NV2_REGISTRY"

// parseReference parses a registry reference, with $NV2_REGISTRY as the
// default registry.
func parseReference(s string) (registry.Reference, error) {
	ref, err := registry.ParseReference(s, os.Getenv(envRegistry))
	var dr *registry.DefaultRegistryError
	if errors.As(err, &dr) {
		return ref, fmt.Errorf("%w: %s=%q is not host[:port][/namespace]: %s", registry.ErrInvalidReference, envRegistry, dr.Value, dr.Reason)
	}
	return ref, err
}

// pushSignature stores envelope in t as a signature of subject: the
// signature manifest pkg/signature builds, pushed as a referrer. It returns
// the signature manifest's descriptor.
func pushSignature(ctx context.Context, t registry.Storage, subject ocispec.Descriptor, envelope []byte, opts signature.ArtifactOptions) (ocispec.Descriptor, error) {
	a, err := signature.NewArtifact(subject, envelope, opts)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("push signature of %s to %s: %w", subject.Digest, t, err)
	}
	blobs := []registry.Blob{{Descriptor: a.Manifest.Config, Data: signature.EmptyConfig}, {Descriptor: a.EnvelopeDescriptor, Data: a.Envelope}}
	if err := t.PushReferrer(ctx, subject, registry.Referrer{Descriptor: a.Descriptor, Manifest: a.Raw, Blobs: blobs}); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("push signature of %s: %w", subject.Digest, err)
	}
	return a.Descriptor, nil
}

// resolve opens raw (an OCI image layout reference when layout is true),
// which must name a tag or a digest, and resolves it once: what follows
// works on the returned descriptor's digest.
func (e *env) resolve(ctx context.Context, raw string, layout bool) (*target, ocispec.Descriptor, error) {
	t, err := e.open(raw, layout)
	if err != nil {
		return nil, ocispec.Descriptor{}, err
	}
	if err := needReference(t, raw); err != nil {
		return nil, ocispec.Descriptor{}, err
	}
	subject, err := t.Resolve(ctx, t.ref.Reference())
	if err != nil {
		return nil, ocispec.Descriptor{}, err
	}
	return t, subject, nil
}

// needReference refuses a reference without a tag or digest.
func needReference(t *target, raw string) error {
	if t.ref.Reference() == "" {
		return usageErrorf("%q names no tag or digest: add :TAG or @sha256:...", raw)
	}
	return nil
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
	if raw, err = oneArg(c, "reference"); err != nil {
		return "", false, err
	}
	asJSON, err = jsonOutput(c)
	return raw, asJSON, err
}

// oneArg returns the command's single positional argument.
func oneArg(c *cli.Context, what string) (string, error) {
	if c.NArg() != 1 {
		return "", usageErrorf("'nv2 %s' takes one %s (flags go before it); got %d arguments", c.Command.FullName(), what, c.NArg())
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
