package main

import (
	"errors"
	"fmt"
)

// Exit codes, as README.md documents them.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitNoSignature = 3
	exitNotVerified = 4
)

// exitErr carries the exit code an error should end nv2 with.
type exitErr struct {
	code int
	err  error
}

func (e *exitErr) Error() string { return e.err.Error() }
func (e *exitErr) Unwrap() error { return e.err }

func usageErrorf(format string, a ...any) error {
	return &exitErr{code: exitUsage, err: fmt.Errorf(format, a...)}
}

// withCode wraps err so that nv2 exits with code.
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitErr{code: code, err: err}
}

func exitCode(err error) int {
	var e *exitErr
	if errors.As(err, &e) {
		return e.code
	}
	return exitError
}

// severity orders exit codes so that with several artifacts the worst
// outcome wins: an error (the verdict is unknown) over a signature that did
// not verify, over a missing signature, over success.
func severity(code int) int {
	switch code {
	case exitOK:
		return 0
	case exitNoSignature:
		return 1
	case exitNotVerified:
		return 2
	default:
		return 3
	}
}
