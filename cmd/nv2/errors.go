package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nv2-signing/nv2/pkg/registry"
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

// errorText is err's message with the fix a user most likely needs, when a
// registry error says which: the advice follows the registry's own words.
func errorText(err error) string {
	msg := err.Error()
	cause, hint := adviceFor(err)
	if hint == "" {
		return msg
	}
	i := strings.LastIndex(msg, cause)
	if i < 0 {
		return msg + "; " + hint
	}
	i += len(cause)
	return msg[:i] + "; " + hint + msg[i:]
}

// adviceFor returns the text of the registry error in err that calls for
// advice, and the advice, naming nv2's flags; "" when there is none.
func adviceFor(err error) (cause, hint string) {
	var dc *registry.DockerConfigError
	if errors.As(err, &dc) {
		return dc.Error(), "fix or remove it, or pass credentials with -u/-p"
	}
	var e *registry.Error
	if !errors.As(err, &e) {
		return "", ""
	}
	return e.Error(), registryAdvice(e)
}

// registryAdvice words the fix for a registry error of each kind.
func registryAdvice(e *registry.Error) string {
	host := e.Registry
	switch e.Kind {
	case registry.Unauthorized:
		if e.UsernameGiven {
			return fmt.Sprintf("%s refused the given username and password: check -u/-p", host)
		}
		return fmt.Sprintf("log in with `docker login %s` or pass -u/-p", host)
	case registry.Forbidden:
		return fmt.Sprintf("the credentials used for %s lack permission on %s", host, e.Repository)
	case registry.HTTPSOnly:
		return fmt.Sprintf("if %s speaks HTTPS only, drop --plain-http (loopback hosts use HTTPS with --ca-file or --insecure)", host)
	case registry.CredentialsRequired:
		return fmt.Sprintf("%s requires credentials: log in with `docker login %s` or pass -u/-p", host, host)
	case registry.ConnectionRefused:
		if e.PlainHTTP {
			return fmt.Sprintf("is the registry running at %s?", host)
		}
		return fmt.Sprintf("is the registry running at %s? for an HTTP registry use --plain-http", host)
	case registry.PlainHTTPServer:
		return fmt.Sprintf("%s speaks plain HTTP: use --plain-http", host)
	case registry.UntrustedCertificate:
		return fmt.Sprintf("the TLS certificate of %s is not trusted: pass its CA with --ca-file (or --insecure to skip verification)", host)
	case registry.UnknownHost:
		return fmt.Sprintf("cannot resolve the host %s: check the registry name", host)
	case registry.Timeout:
		return fmt.Sprintf("%s did not answer in time: check the network or raise --timeout", host)
	}
	return ""
}
