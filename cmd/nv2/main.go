// Command nv2 signs OCI artifacts and verifies them. Signatures are stored
// beside the artifact as OCI 1.1 referrers, in the Notary Project v1 JWS
// envelope format. The same binary is also a docker CLI plugin.
package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	if code, ok := runDockerPlugin(os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr); ok {
		os.Exit(code) // invoked by docker as "docker nv2" (docker.go)
	}
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run runs nv2 with args (args[0] is the program name) and returns its exit
// code. It is main without os.Exit, so tests can call it.
func run(args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	app.Setup()
	args, err := commandLine(app, args)
	if err == nil {
		err = app.Run(args)
	}
	return report(stderr, "nv2", err)
}

// report prints err, in the words of prog's command line, and returns the
// exit code it ends prog with.
func report(stderr io.Writer, prog string, err error) int {
	if err == nil {
		return exitOK
	}
	err = advise(prog, err)
	code := exitCode(err)
	if strings.HasPrefix(err.Error(), "Required flag") {
		// urfave/cli reports a missing required flag as a plain error.
		code = exitUsage
	}
	if msg := errorText(err); msg != "" {
		fmt.Fprintf(stderr, "nv2: %s\n", msg)
	}
	return code
}

func init() {
	cli.FlagStringer = shortFlagStringer(cli.FlagStringer)
}

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:    "nv2",
		Usage:   "sign OCI artifacts and verify them",
		Version: version,
		Description: "nv2 signs container images and other OCI artifacts and verifies them.\n" +
			"Signatures are stored beside the artifact as OCI 1.1 referrers, in the\n" +
			"Notary Project v1 JWS format; nothing in the registry is changed.",
		Writer:                 stdout,
		ErrWriter:              stderr,
		EnableBashCompletion:   true,
		UseShortOptionHandling: true,
		HideHelpCommand:        false,
		OnUsageError:           onUsageError,
		ExitErrHandler:         func(*cli.Context, error) {}, // run() reports errors and exits
		// The registry flags may also come before the command.
		Flags: registryFlags(),
		Commands: []*cli.Command{
			signCommand(),
			verifyCommand(),
			discoverCommand(),
			inspectCommand(),
			copyCommand(),
			attachCommand(),
			pullCommand(),
			certCommand(),
			policyCommand(),
			blobCommand(),
			revocationCommand(),
			completionCommand(),
		},
	}
	for _, c := range app.Commands {
		setUsageErrors(c)
		hintLocalPaths(c)
	}
	return app
}

func setUsageErrors(c *cli.Command) {
	c.OnUsageError = onUsageError
	for _, s := range c.Subcommands {
		setUsageErrors(s)
	}
}

func onUsageError(c *cli.Context, err error, _ bool) error {
	name := c.App.Name
	if c.Command != nil && c.Command.HelpName != "" {
		name = c.Command.HelpName
	}
	return usageErrorf("%v (see '%s --help')", flagForm(c, err), name)
}
