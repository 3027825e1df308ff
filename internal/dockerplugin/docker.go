package dockerplugin

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
)

// Docker runs the docker client found on PATH as a child of nv2.
type Docker struct {
	// Globals are docker's global options the plugin was given; they come
	// first in every docker command nv2 runs.
	Globals []string
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
}

// ExitError: a docker command ran and failed with Code.
type ExitError struct {
	Args []string
	Code int
	// Stderr is what docker said, when nv2 kept it rather than passing it
	// to the user.
	Stderr string
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("docker %s failed (exit %d)", strings.Join(e.Args, " "), e.Code)
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	}
	return msg
}

// Run runs "docker GLOBALS ARGS" with the plugin's stdin and stderr, stdout
// going to out, and returns docker's exit code. The environment is nv2's
// without docker's plugin variables, so the child is an ordinary docker. The
// error is set only when docker could not be run at all.
func (d *Docker) Run(out io.Writer, args ...string) (int, error) {
	cmd, err := d.command(args)
	if err != nil {
		return 0, err
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = d.Stdin, out, d.Stderr
	return exitCode(cmd.Run())
}

// command prepares "docker GLOBALS ARGS" in nv2's environment without
// docker's plugin variables.
func (d *Docker) command(args []string) (*exec.Cmd, error) {
	path, err := exec.LookPath("docker")
	if err != nil {
		return nil, fmt.Errorf("cannot run docker: %w", err)
	}
	cmd := exec.Command(path, slices.Concat(d.Globals, args)...)
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, envPrefix) })
	return cmd, nil
}

// exitCode turns the error of a finished docker into its exit code; the
// error is kept only when docker could not run at all.
func exitCode(err error) (int, error) {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if code := ee.ExitCode(); code > 0 {
			return code, nil
		}
		return 1, nil // killed by a signal
	}
	if err != nil {
		return 0, fmt.Errorf("running docker: %w", err)
	}
	return 0, nil
}

// maxQuery bounds what query keeps of docker's output.
const maxQuery = 64 << 10

// query runs "docker ARGS" for a short answer: its stdout, trimmed, or an
// *ExitError carrying docker's stderr when it fails.
func (d *Docker) query(args ...string) (string, error) {
	cmd, err := d.command(args)
	if err != nil {
		return "", err
	}
	var out, errOut limitedBuffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	code, err := exitCode(cmd.Run())
	if err != nil {
		return "", err
	}
	if code != 0 {
		return "", &ExitError{Args: args, Code: code, Stderr: strings.TrimSpace(errOut.String())}
	}
	return strings.TrimSpace(out.String()), nil
}

// stream runs "docker ARGS" and hands its stdout to read while it runs; the
// error is read's, else docker's (an *ExitError with its stderr).
func (d *Docker) stream(read func(io.Reader) error, args ...string) error {
	cmd, err := d.command(args)
	if err != nil {
		return err
	}
	var errOut limitedBuffer
	cmd.Stderr = &errOut
	r, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("running docker: %w", err)
	}
	readErr := read(r)
	if readErr != nil {
		_ = cmd.Process.Kill()
	}
	_, _ = io.Copy(io.Discard, r)
	code, err := exitCode(cmd.Wait())
	switch {
	case readErr != nil:
		return readErr
	case err != nil:
		return err
	case code != 0:
		return &ExitError{Args: args, Code: code, Stderr: strings.TrimSpace(errOut.String())}
	}
	return nil
}

// limitedBuffer keeps the first maxQuery bytes written to it.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxQuery - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// must runs "docker ARGS" and turns a non-zero exit into an *ExitError.
func (d *Docker) must(out io.Writer, args ...string) error {
	code, err := d.Run(out, args...)
	if err != nil {
		return err
	}
	if code != 0 {
		return &ExitError{Args: args, Code: code}
	}
	return nil
}
