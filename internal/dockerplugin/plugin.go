// Package dockerplugin runs nv2 as a docker CLI plugin ("docker nv2"):
// docker's plugin protocol, settings and image naming, and the engine's half
// of sign-before-push, push, pull and run, around nv2's flows.
package dockerplugin

import (
	"fmt"
	"path/filepath"
	"strings"
)

// The docker CLI plugin protocol (github.com/docker/cli, cli-plugins).
const (
	// Name is the docker subcommand: "docker nv2".
	Name = "nv2"
	// Binary is the file name docker looks for in a cli-plugins folder.
	Binary = "docker-" + Name
	// MetadataCommand is the argument with which docker asks a plugin for
	// its metadata.
	MetadataCommand = "docker-cli-plugin-metadata"
	// ReexecEnv is set by docker when it runs a plugin: the command that
	// started docker.
	ReexecEnv = "DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND"
	// envPrefix starts every variable docker sets for a plugin only; nv2
	// removes them before it runs docker as a child.
	envPrefix = "DOCKER_CLI_PLUGIN_"
)

// Metadata is what a plugin prints for MetadataCommand. docker requires
// SchemaVersion "0.1.0" and a Vendor.
type Metadata struct {
	SchemaVersion    string
	Vendor           string
	Version          string
	ShortDescription string
	URL              string
}

// NewMetadata is nv2's plugin metadata for its version.
func NewMetadata(version string) Metadata {
	return Metadata{
		SchemaVersion:    "0.1.0",
		Vendor:           "nv2-signing",
		Version:          version,
		ShortDescription: "Sign images on push and verify them on pull (Notary Project signatures)",
		URL:              "https://github.com/nv2-signing/nv2",
	}
}

// Invocation is how docker ran the plugin: "docker-nv2 [GLOBALS] nv2 ARGS".
type Invocation struct {
	// Globals are docker's own options that came before the plugin name,
	// e.g. ["--config", "/x"]; docker passes them on, and nv2 passes them to
	// every docker it runs.
	Globals []string
	// Args follow the plugin name.
	Args []string
}

// valueOptions are docker's global options that take a value as the next
// argument.
var valueOptions = map[string]bool{
	"--config": true, "-c": true, "--context": true, "-H": true, "--host": true,
	"-l": true, "--log-level": true, "--tlscacert": true, "--tlscert": true, "--tlskey": true,
}

// ParseInvocation reports whether args (as os.Args) run nv2 as the docker
// CLI plugin: when the binary is named Binary, or when docker's plugin
// environment variable is set and the plugin name follows docker's global
// options. A docker-nv2 run directly, without the plugin name, takes all its
// arguments as the plugin's.
func ParseInvocation(args []string, getenv func(string) string) (Invocation, bool) {
	if len(args) == 0 {
		return Invocation{}, false
	}
	asPlugin := strings.TrimSuffix(filepath.Base(args[0]), ".exe") == Binary
	if !asPlugin && getenv(ReexecEnv) == "" {
		return Invocation{}, false
	}
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == Name:
			return Invocation{Globals: args[1:i], Args: args[i+1:]}, true
		case valueOptions[a]:
			i++ // skip the option's value
		case strings.HasPrefix(a, "-"):
			// a boolean option, or --opt=value
		default:
			i = len(args) // not a docker global option: no plugin name
		}
	}
	if asPlugin {
		return Invocation{Args: args[1:]}, true
	}
	return Invocation{}, false
}

// configOption returns the value of docker's --config global option, or ""
// when it was not given.
func configOption(globals []string) string {
	dir := ""
	for i := 0; i < len(globals); i++ {
		if v, ok := strings.CutPrefix(globals[i], "--config="); ok {
			dir = v
		} else if globals[i] == "--config" && i+1 < len(globals) {
			dir = globals[i+1]
			i++
		} else if valueOptions[globals[i]] {
			i++
		}
	}
	return dir
}

// ConfigDir is the docker config folder this invocation uses, as docker
// itself would: docker's --config DIR, else $DOCKER_CONFIG, else
// HOME/.docker. Registry credentials, the plugin's settings and every docker
// child use it.
func (inv Invocation) ConfigDir(getenv func(string) string, home func() (string, error)) (string, error) {
	if dir := configOption(inv.Globals); dir != "" {
		return dir, nil
	}
	if dir := getenv("DOCKER_CONFIG"); dir != "" {
		return dir, nil
	}
	h, err := home()
	if err != nil {
		return "", fmt.Errorf("finding the docker config folder: %w", err)
	}
	return filepath.Join(h, ".docker"), nil
}
