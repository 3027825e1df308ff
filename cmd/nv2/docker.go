package main

// nv2 as the docker CLI plugin "docker nv2": nv2's own commands, push that
// signs, pull that verifies, config, and (when enabled) any other docker
// command passed through. The protocol, settings and naming live in
// internal/dockerplugin; this file is its command line.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/nv2-signing/nv2/internal/dockerplugin"
)

// pluginContext is what the commands of a "docker nv2" run share; the zero
// value (nv2 run directly) is inactive.
type pluginContext struct {
	// dir is the docker config folder (--config, DOCKER_CONFIG, ~/.docker).
	dir    string
	docker *dockerplugin.Docker
}

const pluginKey = "nv2.plugin"

// pluginOf returns the plugin context of c's app; inactive outside plugin
// mode.
func pluginOf(c *cli.Context) *pluginContext {
	if p, ok := c.App.Metadata[pluginKey].(*pluginContext); ok {
		return p
	}
	return &pluginContext{}
}

func (p *pluginContext) active() bool { return p.docker != nil }

// configDir is the docker config folder registry credentials come from; ""
// outside plugin mode (the docker config docker itself would use).
func (p *pluginContext) configDir() string { return p.dir }

// config reads the plugin's settings; the zero Config outside plugin mode.
func (p *pluginContext) config() (*dockerplugin.Config, string, error) {
	if !p.active() {
		return &dockerplugin.Config{}, "", nil
	}
	return dockerplugin.LoadConfig(p.dir)
}

// runDockerPlugin runs nv2 as the docker CLI plugin when args (os.Args) call
// for it, and returns the exit code and true; it returns false, having done
// nothing, for an ordinary nv2 invocation. The metadata query is answered
// whatever the binary is named.
func runDockerPlugin(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) (int, bool) {
	if len(args) > 1 && args[1] == dockerplugin.MetadataCommand {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(dockerplugin.NewMetadata(version)); err != nil {
			return exitError, true
		}
		return exitOK, true
	}
	inv, ok := dockerplugin.ParseInvocation(args, getenv)
	if !ok {
		return 0, false
	}
	prog := "docker " + dockerplugin.Name
	dir, err := inv.ConfigDir(getenv, os.UserHomeDir)
	if err != nil {
		return report(stderr, prog, wrapf(err, "set DOCKER_CONFIG")), true
	}
	p := &pluginContext{dir: dir, docker: &dockerplugin.Docker{Globals: inv.Globals, Stdin: stdin, Stdout: stdout, Stderr: stderr}}
	return report(stderr, prog, runPlugin(p, inv.Args)), true
}

// runPlugin runs "docker nv2 ARGS": an nv2 command, push, pull or config, or
// any other docker command passed through when the plugin is enabled.
func runPlugin(p *pluginContext, args []string) error {
	app := newPluginApp(p)
	app.Setup()
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") && app.Command(args[0]) == nil {
		return passThrough(p, args)
	}
	if len(args) > 0 && args[0] == "run" {
		// docker run's options are docker's: none is moved or parsed.
		return app.Run(append([]string{app.Name}, args...))
	}
	args, err := commandLine(app, append([]string{app.Name}, args...))
	if err != nil {
		return err
	}
	return app.Run(args)
}

// newPluginApp is nv2's app named "docker nv2", with push, pull and config
// added.
func newPluginApp(p *pluginContext) *cli.App {
	app := newApp(p.docker.Stdout, p.docker.Stderr)
	app.Name = "docker " + dockerplugin.Name
	app.HelpName = app.Name
	app.Metadata = map[string]any{pluginKey: p}
	app.Usage = "sign images before push, verify them on pull and run, and every nv2 command"
	app.Description = "The nv2 docker CLI plugin. 'docker nv2 sign NAME:TAG' signs a local image,\n" +
		"offline, as it will be in the registry; 'docker nv2 push' pushes that image\n" +
		"with its signatures; 'docker nv2 pull' and 'docker nv2 run' verify an image\n" +
		"and then pull or run exactly the verified digest. Their settings (docker nv2\n" +
		"config) live in nv2.json in the docker config folder. Registry credentials\n" +
		"come from the docker config, so 'docker login' is all the setup auth needs.\n\n" +
		"The other commands are nv2's (see 'nv2 --help'); sign and verify default to\n" +
		"the configured key, certificate and trust. When enabled, any other command\n" +
		"is passed to docker: 'docker nv2 images' runs 'docker images'."
	// push and pull are docker's here: nv2's own pull (to an OCI layout) gives
	// way to the one that pulls into docker.
	ours := []*cli.Command{dockerPushCommand(), dockerPullCommand(), dockerRunCommand(), dockerConfigCommand()}
	app.Commands = slices.DeleteFunc(app.Commands, func(c *cli.Command) bool {
		return slices.ContainsFunc(ours, func(o *cli.Command) bool { return c.HasName(o.Name) })
	})
	for _, c := range app.Commands {
		// An alias such as copy's "cp" would hide a docker command.
		c.Aliases = nil
		if c.Name == "sign" {
			c.Description += "\n\nIn docker nv2, NAME[:TAG] of an image the docker engine has locally is signed\n" +
				"offline, as it will be in the registry: 'docker nv2 push NAME[:TAG]' then pushes it\n" +
				"with its signatures. The configured key and certificate sign when --key and\n" +
				"--cert are not given."
		}
	}
	app.Commands = append(app.Commands, ours...)
	for _, c := range app.Commands {
		setUsageErrors(c)
	}
	return app
}

// passThrough runs "docker ARGS" when the plugin is enabled, and ends nv2
// with docker's exit code.
func passThrough(p *pluginContext, args []string) error {
	cfg, _, err := p.config()
	if err != nil {
		return err
	}
	if !cfg.Enabled {
		return usageErrorf("%q is not an nv2 command, and docker commands are passed through only when the plugin is enabled: "+
			"run 'docker nv2 config enable', or 'docker %s' ('docker nv2 --help' lists nv2's commands)", args[0], strings.Join(args, " "))
	}
	code, err := p.docker.Run(p.docker.Stdout, args...)
	if err != nil {
		return err
	}
	return withCode(code, errors.New("")) // docker has said why
}

// enabledSettings reads the plugin's settings for command (push, pull or
// run), refusing while the plugin is disabled.
func enabledSettings(c *cli.Context, command string) (*pluginContext, *dockerplugin.Config, error) {
	p := pluginOf(c)
	cfg, _, err := p.config()
	if err != nil {
		return nil, nil, err
	}
	if !cfg.Enabled {
		return nil, nil, fmt.Errorf("'docker nv2 %s' needs the plugin enabled: run 'docker nv2 config enable' (or 'docker %s' to skip nv2)", command, command)
	}
	return p, cfg, nil
}
