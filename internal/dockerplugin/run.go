package dockerplugin

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/nv2-signing/nv2/pkg/flows"
)

// runBoolOptions are docker run's options that take no value; every other
// option takes one, as the next argument or after "=".
var runBoolOptions = []string{
	"-d", "--detach", "-i", "--interactive", "-t", "--tty", "--rm", "--privileged",
	"-P", "--publish-all", "--init", "--read-only", "--sig-proxy", "--no-healthcheck",
	"--oom-kill-disable", "--disable-content-trust", "-q", "--quiet", "--use-api-socket",
}

// RunArgs is a docker run command line split around its image.
type RunArgs struct {
	// Options come before the image; Image is NAME[:TAG|@DIGEST]; Args
	// follow it and go to the container.
	Options []string
	Image   string
	Args    []string
}

// SplitRunArgs splits the arguments of docker run: options, the image, the
// container's arguments.
func SplitRunArgs(args []string) (RunArgs, error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			if i+1 >= len(args) {
				return RunArgs{}, errors.New("no image after --")
			}
			return RunArgs{Options: args[:i], Image: args[i+1], Args: args[i+2:]}, nil
		case !strings.HasPrefix(a, "-") || a == "-":
			return RunArgs{Options: args[:i], Image: a, Args: args[i+1:]}, nil
		case strings.Contains(a, "=") || slices.Contains(runBoolOptions, a) || shortBools(a):
			// the value, if any, is in a
		default:
			i++ // the option's value
		}
	}
	return RunArgs{}, errors.New("no image to run")
}

// shortBools reports whether a is a group of boolean short options, as -it.
func shortBools(a string) bool {
	if len(a) < 3 || a[0] != '-' || a[1] == '-' {
		return false
	}
	for _, c := range a[1:] {
		if !slices.Contains(runBoolOptions, "-"+string(c)) {
			return false
		}
	}
	return true
}

// RunOptions say what Run verifies and runs.
type RunOptions struct {
	// Args are docker run's arguments: [OPTIONS] NAME[:TAG|@DIGEST] [ARGS].
	Args []string
	// Pull verifies and pulls the image; its Name is set by Run.
	Pull PullOptions
}

// RunResult is what Run did.
type RunResult struct {
	*PullResult
	// Code is docker run's exit code.
	Code int
}

// Run verifies the image, pulls exactly the digest that verified (Pull),
// and runs that digest with docker run. Nothing runs that did not verify.
func Run(ctx context.Context, d *Docker, client *flows.Client, opts RunOptions) (*RunResult, error) {
	ra, err := SplitRunArgs(opts.Args)
	if err != nil {
		return nil, &flows.UsageError{Err: err}
	}
	pull := opts.Pull
	pull.Name = ra.Image
	pull.Quiet = true
	res, err := Pull(ctx, d, client, pull)
	if err != nil {
		return &RunResult{PullResult: res}, err
	}
	code, err := d.Run(d.Stdout, slices.Concat([]string{"run"}, ra.Options, []string{res.Pinned}, ra.Args)...)
	return &RunResult{PullResult: res, Code: code}, err
}
