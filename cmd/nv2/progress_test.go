package main

import (
	"bytes"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creack/pty"

	"github.com/nv2-signing/nv2/internal/testregistry"
)

// TestCopyProgressAndSummary: on a terminal, copy and pull draw progress
// (bytes and blobs) on stderr; off a terminal, with --no-progress or with
// JSON, nothing. Their text results say what was copied.
func TestCopyProgressAndSummary(t *testing.T) {
	reg, mirror := testregistry.Start(t, testregistry.GGCR), testregistry.Start(t, testregistry.Distribution)
	testregistry.PushImage(t, reg, "net-monitor", "v1", "progress")
	c := newCLI(t)
	key, cert := c.keys("signer")
	ref := reg.Host + "/net-monitor:v1"
	c.must(0, "sign", "--key", key, "--cert", cert, ref)

	for i, args := range [][]string{
		{"copy", ref, mirror.Host + "/net-monitor:v1"},
		{"pull", "--cert", cert, "--to-oci-layout", filepath.Join(t.TempDir(), "pulled"), ref},
	} {
		if i == 0 {
			args[2] += "-tty" // a destination that has nothing yet
		}
		stdout, stderr := onTerminal(t, c, args...)
		if !strings.Contains(stderr, "blobs ") || !strings.Contains(stderr, " B") {
			t.Errorf("nv2 %s on a terminal drew no progress on stderr:\n%q", args[0], stderr)
		}
		if !strings.Contains(stdout, "sent 6 blobs") || !strings.Contains(stdout, "1 referrer") {
			t.Errorf("nv2 %s says not what it copied:\n%s", args[0], stdout)
		}
		if _, stderr := onTerminal(t, c, append(args[:1:1], append([]string{"--no-progress"}, args[1:]...)...)...); strings.Contains(stderr, "blobs ") {
			t.Errorf("nv2 %s --no-progress drew progress:\n%q", args[0], stderr)
		}
		if r := c.must(0, args...); strings.Contains(r.stderr, "blobs ") {
			t.Errorf("nv2 %s off a terminal drew progress:\n%q", args[0], r.stderr)
		}
	}
}

// onTerminal runs nv2 with its stderr on a terminal and returns what it
// printed on stdout and on the terminal.
func onTerminal(t *testing.T, c *cliUser, args ...string) (string, string) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	cmd := exec.Command(nv2Bin, args...)
	cmd.Env = append(c.env, "TERM=xterm")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var term bytes.Buffer
	done := make(chan struct{})
	go func() { io.Copy(&term, ptmx); close(done) }()
	err = cmd.Wait()
	tty.Close()
	<-done
	if err != nil {
		t.Fatalf("nv2 %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), term.String())
	}
	return out.String(), term.String()
}
