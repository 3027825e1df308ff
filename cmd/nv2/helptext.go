package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// shortFlagStringer renders a flag in help as urfave/cli does, but lists a
// repeatable flag once ("--cert FILE, -c FILE"), not again in brackets:
// its usage text says it is repeatable.
func shortFlagStringer(render cli.FlagStringFunc) cli.FlagStringFunc {
	return func(f cli.Flag) string {
		s := render(f)
		if i := strings.Index(s, " [ "); i >= 0 {
			if j := strings.Index(s[i:], " ]"); j >= 0 {
				s = s[:i] + s[i+j+2:]
			}
		}
		return s
	}
}

var flagParseError = regexp.MustCompile(`invalid value "(.*)" for flag -([\w-]+):`)

// flagForm rewords urfave/cli's "invalid value ... parse error" to say
// which form the flag expects; other errors pass unchanged.
func flagForm(c *cli.Context, err error) error {
	m := flagParseError.FindStringSubmatch(err.Error())
	if m == nil || c.Command == nil {
		return err
	}
	var form string
	for _, f := range c.Command.Flags {
		if !slices.Contains(f.Names(), m[2]) {
			continue
		}
		switch f.(type) {
		case *cli.DurationFlag:
			form = "a duration such as 30s, 5m or 1h30m"
		case *cli.IntFlag, *cli.Int64Flag, *cli.UintFlag, *cli.Uint64Flag:
			form = "a whole number"
		case *cli.BoolFlag:
			form = "true or false"
		case *cli.Float64Flag:
			form = "a number"
		}
	}
	if form == "" {
		return err
	}
	return fmt.Errorf("--%s %q: expected %s", m[2], m[1], form)
}
