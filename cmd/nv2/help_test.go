package main

import (
	"io"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/nv2-signing/nv2/internal/dockerplugin"
)

// leafCommands returns every command of nv2 and of docker nv2 that does
// something (has an Action), with its full name.
func leafCommands() map[string]*cli.Command {
	out := map[string]*cli.Command{}
	var walk func(prefix string, cmds []*cli.Command)
	walk = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			name := prefix + " " + c.Name
			if c.Action != nil {
				out[name] = c
			}
			walk(name, c.Subcommands)
		}
	}
	walk("nv2", newApp(io.Discard, io.Discard).Commands)
	plugin := newPluginApp(&pluginContext{docker: &dockerplugin.Docker{Stdout: io.Discard, Stderr: io.Discard}})
	walk("docker nv2", plugin.Commands)
	return out
}

// TestEveryCommandHasHelp: each command says what it does and shows an
// example of itself, and its USAGE line names the flags it requires.
func TestEveryCommandHasHelp(t *testing.T) {
	for name, c := range leafCommands() {
		if strings.TrimSpace(c.Description) == "" {
			t.Errorf("%s has no description", name)
			continue
		}
		example := false
		for _, l := range strings.Split(c.Description, "\n") {
			// docker nv2's own commands show "docker nv2 ..."; nv2's commands
			// show "nv2 ...", which docker nv2 runs alike.
			if strings.HasPrefix(l, "   ") && strings.Contains(l, strings.TrimPrefix(name, "docker ")) {
				example = true
			}
		}
		if !example {
			t.Errorf("%s: its description shows no example (an indented line with %q)", name, name)
		}
	}
	c := newCLI(t)
	for _, tc := range []struct{ cmd, want string }{
		{"sign", "--key FILE --cert FILE"},
		{"pull", "--to-oci-layout DIR"},
		{"attach", "--signature SIG"},
		{"cert generate", "--name NAME"},
		{"cert add", "--store NAME"},
		{"cert delete", "--store NAME"},
	} {
		out := c.must(0, append(strings.Fields(tc.cmd), "--help")...).stdout
		usage := strings.SplitN(strings.SplitN(out, "USAGE:\n", 2)[1], "\n", 2)[0]
		if !strings.Contains(usage, tc.want) {
			t.Errorf("nv2 %s --help: the USAGE line %q does not show the required %s", tc.cmd, usage, tc.want)
		}
	}
}

// TestRepeatableFlagsOnOneLine: a repeatable flag is listed once, not as
// "--a X [ --a X ]", so the help's columns stay narrow.
func TestRepeatableFlagsOnOneLine(t *testing.T) {
	out := newCLI(t).must(0, "verify", "--help").stdout
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "--annotation") && strings.Contains(l, "[") {
			t.Errorf("repeatable flag listed twice: %q", l)
		}
		if len(l) > 160 {
			t.Errorf("help line of %d characters: %q", len(l), l)
		}
	}
}

// TestAliasesMeanOneThing: a single-letter alias names the same flag on
// every command.
func TestAliasesMeanOneThing(t *testing.T) {
	seen := map[string]string{}
	for name, c := range leafCommands() {
		for _, f := range c.Flags {
			names := f.Names()
			for _, a := range names[1:] {
				if prev, ok := seen[a]; ok && prev != names[0] {
					t.Errorf("-%s is --%s on %s but --%s elsewhere", a, names[0], name, prev)
				}
				seen[a] = names[0]
			}
		}
	}
}

// TestFlagErrorsSayTheForm: a flag value that does not parse is a usage
// error that says what form is expected.
func TestFlagErrorsSayTheForm(t *testing.T) {
	c := newCLI(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"verify", "--timeout", "5", "x"}, "a duration such as 30s"},
		{[]string{"verify", "--max-signatures", "many", "x"}, "a whole number"},
		{[]string{"cert", "generate", "--name", "n", "--days", "1.5"}, "a whole number"},
	} {
		if r := c.must(exitUsage, tc.args...); !strings.Contains(r.stderr, tc.want) {
			t.Errorf("nv2 %s: %q does not say %q", strings.Join(tc.args, " "), r.stderr, tc.want)
		}
	}
}
