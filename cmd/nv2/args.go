package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// commandLine checks that args (args[0] is the program) name a command of
// app, suggesting the nearest when they do not, and returns them with the
// command's flags moved before its positional arguments (see interspersed).
func commandLine(app *cli.App, args []string) ([]string, error) {
	out, unknown, among := interspersed(app, args)
	if unknown == "" {
		return out, nil
	}
	hint := ""
	if cli.SuggestCommand != nil {
		hint = ": " + strings.ToLower(cli.SuggestCommand(among.commands, unknown)[:1]) + cli.SuggestCommand(among.commands, unknown)[1:]
	}
	return nil, usageErrorf("unknown command %q%s (see '%s --help')", unknown, hint, among.helpName)
}

// commandSet is the commands an argument was looked up among.
type commandSet struct {
	commands []*cli.Command
	helpName string
}

// interspersed returns args (args[0] is the program) with the flags of the
// command they run moved before its positional arguments, so that flags may
// come anywhere, as notation, oras and cosign users expect: urfave/cli stops
// reading flags at the first positional argument. A "--" ends the flags; what
// follows it stays positional. Arguments of an unknown command are returned
// as they are, with the unknown name and the commands it was looked up among.
func interspersed(app *cli.App, args []string) ([]string, string, commandSet) {
	if len(args) < 2 {
		return args, "", commandSet{}
	}
	commands, flags := app.Commands, app.Flags
	among := commandSet{commands, app.Name}
	i := 1
	var cmd *cli.Command
	for i < len(args) && cmd == nil {
		a := args[i]
		switch {
		case a == "--":
			return args, "", among
		case isFlag(a):
			i += 1 + valueArgs(flags, a)
			continue
		}
		c := findCommand(commands, a)
		if c == nil {
			return args, a, among
		}
		i++
		if len(c.Subcommands) > 0 && i < len(args) && !isFlag(args[i]) {
			commands, flags = c.Subcommands, c.Flags
			among = commandSet{c.Subcommands, app.Name + " " + c.Name}
			continue
		}
		cmd = c
	}
	if cmd == nil || i > len(args) {
		return args, "", among
	}
	var named, positional []string
	rest := args[i:]
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		if a == "--" {
			positional = append(positional, rest[j+1:]...)
			break
		}
		if !isFlag(a) {
			positional = append(positional, a)
			continue
		}
		n := valueArgs(cmd.Flags, a)
		named = append(named, rest[j:min(j+1+n, len(rest))]...)
		j += n
	}
	out := append(append([]string{}, args[:i]...), named...)
	if len(positional) > 0 {
		out = append(append(out, "--"), positional...)
	}
	return out, "", among
}

// isFlag reports whether a is a flag ("-x", "--name", "--name=v").
func isFlag(a string) bool { return len(a) > 1 && a[0] == '-' }

// valueArgs is how many arguments after a hold its value: 1 for a flag that
// takes a value given as the next argument, else 0.
func valueArgs(flags []cli.Flag, a string) int {
	name := strings.TrimLeft(a, "-")
	if strings.Contains(name, "=") {
		return 0
	}
	for _, f := range flags {
		for _, n := range f.Names() {
			if n != name {
				continue
			}
			if _, ok := f.(*cli.BoolFlag); ok {
				return 0
			}
			return 1
		}
	}
	return 0
}

// findCommand finds name among commands; "help" and "h" name urfave/cli's
// help command, which it adds to each command's subcommands only as it runs.
func findCommand(commands []*cli.Command, name string) *cli.Command {
	for _, c := range commands {
		if c.HasName(name) {
			return c
		}
	}
	if name == "help" || name == "h" {
		return &cli.Command{Name: "help"}
	}
	return nil
}
