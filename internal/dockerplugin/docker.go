package dockerplugin

import (
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
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("docker %s failed (exit %d)", strings.Join(e.Args, " "), e.Code)
}

// Run runs "docker GLOBALS ARGS" with the plugin's stdin and stderr, stdout
// going to out, and returns docker's exit code. The environment is nv2's
// without docker's plugin variables, so the child is an ordinary docker. The
// error is set only when docker could not be run at all.
func (d *Docker) Run(out io.Writer, args ...string) (int, error) {
	path, err := exec.LookPath("docker")
	if err != nil {
		return 0, fmt.Errorf("cannot run docker: %w", err)
	}
	cmd := exec.Command(path, slices.Concat(d.Globals, args)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = d.Stdin, out, d.Stderr
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, envPrefix) })
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if code := ee.ExitCode(); code > 0 {
			return code, nil
		}
		return 1, nil // killed by a signal
	}
	if err != nil {
		return 0, fmt.Errorf("running %s: %w", path, err)
	}
	return 0, nil
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
