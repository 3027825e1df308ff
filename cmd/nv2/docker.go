package main

// The docker CLI plugin. Installed as "docker-nv2" in a docker cli-plugins
// folder, the nv2 binary answers docker's metadata query and runs
// "docker nv2 ...": nv2's own commands, push that signs, pull that verifies,
// config, and (when enabled) any other docker command passed through.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// The docker CLI plugin protocol (github.com/docker/cli, cli-plugins).
const (
	// pluginName is the docker subcommand: "docker nv2".
	pluginName = "nv2"
	// pluginBinary is the file name docker looks for in a cli-plugins folder.
	pluginBinary = "docker-" + pluginName
	// pluginMetadataCommand is the argument with which docker asks a plugin
	// for its metadata.
	pluginMetadataCommand = "docker-cli-plugin-metadata"
	// pluginReexecEnv is set by docker when it runs a plugin: the command
	// that started docker.
	pluginReexecEnv = "DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND"
	// pluginEnvPrefix starts every variable docker sets for a plugin only;
	// nv2 removes them before it runs docker as a child.
	pluginEnvPrefix = "DOCKER_CLI_PLUGIN_"
)

// pluginMetadata is what a plugin prints for docker-cli-plugin-metadata.
// docker requires SchemaVersion "0.1.0" and a Vendor.
type pluginMetadata struct {
	SchemaVersion    string
	Vendor           string
	Version          string
	ShortDescription string
	URL              string
}

func nv2PluginMetadata() pluginMetadata {
	return pluginMetadata{
		SchemaVersion:    "0.1.0",
		Vendor:           "nv2-signing",
		Version:          version,
		ShortDescription: "Sign images on push and verify them on pull (Notary Project signatures)",
		URL:              "https://github.com/nv2-signing/nv2",
	}
}

// dockerInvocation is how docker ran the plugin: "docker-nv2 [GLOBALS] nv2 ARGS".
type dockerInvocation struct {
	// globals are docker's own options that came before the plugin name,
	// e.g. ["--config", "/x"]; docker passes them on, and nv2 passes them to
	// every docker it runs.
	globals []string
	// args follow the plugin name.
	args []string
}

// dockerValueOptions are docker's global options that take a value as the
// next argument.
var dockerValueOptions = map[string]bool{
	"--config": true, "-c": true, "--context": true, "-H": true, "--host": true,
	"-l": true, "--log-level": true, "--tlscacert": true, "--tlscert": true, "--tlskey": true,
}

// parseDockerInvocation reports whether args (as os.Args) run nv2 as the
// docker CLI plugin: when the binary is named docker-nv2, or when docker's
// plugin environment variable is set and the plugin name follows docker's
// global options. A docker-nv2 run directly, without the plugin name, takes
// all its arguments as the plugin's.
func parseDockerInvocation(args []string, getenv func(string) string) (dockerInvocation, bool) {
	if len(args) == 0 {
		return dockerInvocation{}, false
	}
	asPlugin := strings.TrimSuffix(filepath.Base(args[0]), ".exe") == pluginBinary
	if !asPlugin && getenv(pluginReexecEnv) == "" {
		return dockerInvocation{}, false
	}
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == pluginName:
			return dockerInvocation{globals: args[1:i], args: args[i+1:]}, true
		case dockerValueOptions[a]:
			i++ // skip the option's value
		case strings.HasPrefix(a, "-"):
			// a boolean option, or --opt=value
		default:
			i = len(args) // not a docker global option: no plugin name
		}
	}
	if asPlugin {
		return dockerInvocation{args: args[1:]}, true
	}
	return dockerInvocation{}, false
}

// dockerConfigOption returns the value of docker's --config global option,
// or "" when it was not given.
func dockerConfigOption(globals []string) string {
	dir := ""
	for i := 0; i < len(globals); i++ {
		if v, ok := strings.CutPrefix(globals[i], "--config="); ok {
			dir = v
		} else if globals[i] == "--config" && i+1 < len(globals) {
			dir = globals[i+1]
			i++
		} else if dockerValueOptions[globals[i]] {
			i++
		}
	}
	return dir
}

// runDockerPlugin runs nv2 as the docker CLI plugin when args (os.Args) call
// for it, and returns the exit code and true; it returns false, having done
// nothing, for an ordinary nv2 invocation. The metadata query is answered
// whatever the binary is named. With docker's --config DIR, DOCKER_CONFIG is
// set to DIR for this process, as docker's own commands would use DIR.
func runDockerPlugin(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) (int, bool) {
	if len(args) > 1 && args[1] == pluginMetadataCommand {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(nv2PluginMetadata()); err != nil {
			return exitError, true
		}
		return exitOK, true
	}
	inv, ok := parseDockerInvocation(args, getenv)
	if !ok {
		return 0, false
	}
	if dir := dockerConfigOption(inv.globals); dir != "" {
		// docker --config DIR nv2 ...: credentials, nv2.json and every
		// docker child use DIR, as docker itself does.
		if err := os.Setenv("DOCKER_CONFIG", dir); err != nil {
			return reportError(stderr, err), true
		}
	}
	d := &dockerCLI{globals: inv.globals, stdin: stdin, stdout: stdout, stderr: stderr}
	return reportError(stderr, runPlugin(d, inv.args)), true
}

// runPlugin runs "docker nv2 ARGS": an nv2 command, push, pull or config, or
// any other docker command passed through when the plugin is enabled.
func runPlugin(d *dockerCLI, args []string) error {
	app := newPluginApp(d)
	app.Setup()
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") && app.Command(args[0]) == nil {
		return passThrough(d, args)
	}
	if len(args) > 0 && (args[0] == "sign" || args[0] == "verify") {
		cfg, _, err := loadPluginConfig()
		if err != nil {
			return err
		}
		args = applyPluginDefaults(args, cfg)
	}
	return app.Run(append([]string{"docker " + pluginName}, args...))
}

// reportError prints err as run does and returns the exit code it carries.
func reportError(stderr io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	if msg := errorText(err); msg != "" {
		fmt.Fprintf(stderr, "nv2: %s\n", msg)
	}
	return exitCode(err)
}

// newPluginApp is nv2's app named "docker nv2", with push, pull and config
// added.
func newPluginApp(d *dockerCLI) *cli.App {
	app := newApp(d.stdout, d.stderr)
	app.Name = "docker " + pluginName
	app.HelpName = app.Name
	app.Usage = "sign images on push, verify them on pull, and every nv2 command"
	app.Description = "The nv2 docker CLI plugin. 'docker nv2 push' pushes an image with docker and\n" +
		"signs the digest docker pushed; 'docker nv2 pull' verifies an image and then\n" +
		"pulls exactly the verified digest. Their settings (docker nv2 config) live in\n" +
		"nv2.json in the docker config folder. Registry credentials come from the\n" +
		"docker config, so 'docker login' is all the setup auth needs.\n\n" +
		"The other commands are nv2's (see 'nv2 --help'); sign and verify default to\n" +
		"the configured key, certificate and trust. When enabled, any other command\n" +
		"is passed to docker: 'docker nv2 images' runs 'docker images'."
	// push and pull are docker's here: nv2's own pull (to an OCI layout) gives
	// way to the one that pulls into docker.
	ours := []*cli.Command{dockerPushCommand(d), dockerPullCommand(d), dockerConfigCommand()}
	app.Commands = slices.DeleteFunc(app.Commands, func(c *cli.Command) bool {
		return slices.ContainsFunc(ours, func(o *cli.Command) bool { return c.HasName(o.Name) })
	})
	for _, c := range app.Commands {
		// An alias such as copy's "cp" would hide a docker command.
		c.Aliases = nil
	}
	app.Commands = append(app.Commands, ours...)
	for _, c := range app.Commands {
		setPluginUsageErrors(c)
	}
	return app
}

func setPluginUsageErrors(c *cli.Command) {
	c.OnUsageError = func(ctx *cli.Context, err error, _ bool) error {
		return usageErrorf("%v (see 'docker %s %s --help')", err, pluginName, ctx.Command.FullName())
	}
	for _, s := range c.Subcommands {
		setPluginUsageErrors(s)
	}
}

// applyPluginDefaults adds the configured key and certificate to
// "sign ARGS" that names neither, and the configured trust to "verify ARGS"
// that names no --cert or --policy. Other arguments are returned unchanged.
func applyPluginDefaults(args []string, cfg *pluginConfig) []string {
	if len(args) == 0 {
		return args
	}
	var extra []string
	switch args[0] {
	case "sign":
		if cfg.Key != "" && cfg.Cert != "" && !hasFlag(args[1:], "key", "k") && !hasFlag(args[1:], "cert", "c") {
			extra = []string{"--key", cfg.Key, "--cert", cfg.Cert}
		}
	case "verify":
		if !hasFlag(args[1:], "cert", "c") && !hasFlag(args[1:], "policy") {
			extra, _ = cfg.trustArgs()
		}
	}
	if extra == nil {
		return args
	}
	return slices.Concat(args[:1], extra, args[1:])
}

// hasFlag reports whether args set any of the flags names (without dashes),
// as -n, --n, -n=v or --n=v.
func hasFlag(args []string, names ...string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		a = strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		a, _, _ = strings.Cut(a, "=")
		if slices.Contains(names, a) {
			return true
		}
	}
	return false
}

// passThrough runs "docker ARGS" when the plugin is enabled, and ends nv2
// with docker's exit code.
func passThrough(d *dockerCLI, args []string) error {
	cfg, _, err := loadPluginConfig()
	if err != nil {
		return err
	}
	if !cfg.Enabled {
		return usageErrorf("%q is not an nv2 command, and docker commands are passed through only when the plugin is enabled: "+
			"run 'docker nv2 config enable', or 'docker %s' ('docker nv2 --help' lists nv2's commands)", args[0], strings.Join(args, " "))
	}
	code, err := d.run(d.stdout, args...)
	if err != nil {
		return err
	}
	return withCode(code, errors.New("")) // docker has said why
}

// dockerCLI runs the docker client found on PATH as a child of nv2.
type dockerCLI struct {
	// globals are docker's global options the plugin was given; they come
	// first in every docker command nv2 runs.
	globals []string
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
}

// run runs "docker GLOBALS ARGS" with the plugin's stdin and stderr, stdout
// going to out, and returns docker's exit code. The environment is nv2's
// without docker's plugin variables, so the child is an ordinary docker. The
// error is set only when docker could not be run at all.
func (d *dockerCLI) run(out io.Writer, args ...string) (int, error) {
	path, err := exec.LookPath("docker")
	if err != nil {
		return 0, fmt.Errorf("cannot run docker: %w; install the docker CLI or add it to PATH", err)
	}
	cmd := exec.Command(path, slices.Concat(d.globals, args)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = d.stdin, out, d.stderr
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, pluginEnvPrefix) })
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if code := ee.ExitCode(); code > 0 {
			return code, nil
		}
		return exitError, nil // killed by a signal
	}
	if err != nil {
		return 0, fmt.Errorf("running %s: %w", path, err)
	}
	return exitOK, nil
}
