package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestWrongFileForTheFlag: a certificate given as the private key is named
// as such (not "chmod 600"), and a local folder given as a reference without
// the layout flag gets a hint to pass it.
func TestWrongFileForTheFlag(t *testing.T) {
	t.Parallel()
	tr := newTrap(t)
	c := newCLI(t, tr.env()...)
	key, cert := c.keys("signer")
	layout := buildLayout(t)

	r := c.must(exitError, "sign", "--key", cert, "--cert", cert, "--oci-layout", layout+":v1")
	if !strings.Contains(r.stderr, "is a certificate, not a private key") || strings.Contains(r.stderr, "chmod") {
		t.Errorf("a certificate passed as the key:\n%s", r.stderr)
	}

	for _, args := range [][]string{
		{"sign", "--key", key, "--cert", cert, "./build:v1"},
		{"verify", "--cert", cert, "./build:v1"},
		{"discover", "build:v1"},
		{"sign", "--key", key, "--cert", cert, layout + ":v1"},
		{"copy", layout + ":v1", "registry.example/net-monitor:v1"},
	} {
		cmd := exec.Command(nv2Bin, args...)
		cmd.Dir, cmd.Env = filepath.Dir(layout), c.env
		out, _ := cmd.CombinedOutput()
		flag := "--oci-layout"
		if args[0] == "copy" {
			flag = "--from-oci-layout"
		}
		if !strings.Contains(string(out), "is a local folder: pass "+flag) {
			t.Errorf("nv2 %s: no hint to pass %s:\n%s", strings.Join(args, " "), flag, out)
		}
	}
}
