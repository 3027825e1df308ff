package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/flows"
	"github.com/nv2-signing/nv2/pkg/registry"
)

// layoutFlags names, for each command that can read an OCI image layout,
// the flag that makes its i-th argument one ("" for none).
var layoutFlags = map[string][]string{
	"sign": {"oci-layout"}, "discover": {"oci-layout"}, "inspect": {"oci-layout"},
	"attach": {"oci-layout"}, "copy": {"from-oci-layout", "to-oci-layout"},
}

// hintLocalPaths wraps the actions of cmd and its subcommands so that a
// failure with a reference that names a local folder, given without the
// layout flag, suggests that flag: `nv2 sign ./build:v1` means the layout.
func hintLocalPaths(cmd *cli.Command) {
	if action := cmd.Action; action != nil {
		cmd.Action = func(c *cli.Context) error { return localPathHint(c, action(c)) }
	}
	for _, s := range cmd.Subcommands {
		hintLocalPaths(s)
	}
}

func localPathHint(c *cli.Context, err error) error {
	if !aboutTheReference(c, err) {
		return err
	}
	flags := layoutFlags[c.Command.Name]
	if c.Command.Name == "verify" {
		flags = make([]string, c.NArg())
		for i := range flags {
			flags[i] = "oci-layout"
		}
	}
	for i, raw := range c.Args().Slice() {
		if i >= len(flags) || flags[i] == "" || c.Bool(flags[i]) {
			continue
		}
		if dir := layoutPath(raw); isDir(dir) {
			hint := fmt.Sprintf("%s is a local folder: pass --%s to use it as an OCI image layout", dir, flags[i])
			text := advise(c.App.Name, err).Error()
			if text != "" {
				hint = text + "\n" + hint
			}
			return &advised{text: hint, code: exitCode(err), err: err}
		}
	}
	return err
}

// aboutTheReference reports whether err may come from a reference that
// names the wrong place: any failure but a usage error or one about a
// local file (a key, a certificate).
func aboutTheReference(c *cli.Context, err error) bool {
	var pathErr *fs.PathError
	var fileErr *flows.FileError
	switch {
	case err == nil, errors.As(err, &pathErr), errors.As(err, &fileErr), errors.Is(err, nvcrypto.ErrCertificateNotKey):
		return false
	case errors.Is(err, registry.ErrInvalidReference):
		return true
	}
	return exitCode(err) != exitUsage
}

// layoutPath is the folder part of PATH[:tag|@digest].
func layoutPath(raw string) string {
	raw, _, _ = strings.Cut(raw, "@")
	if i := strings.LastIndex(raw, ":"); i > strings.LastIndex(raw, "/") {
		raw = raw[:i]
	}
	return raw
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}
