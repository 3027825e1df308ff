package main

import (
	"errors"
	"fmt"
	"strings"

	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/flows"
	"github.com/nv2-signing/nv2/pkg/registry"
	"github.com/nv2-signing/nv2/pkg/trust"
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

// exitCode is the exit code err ends nv2 with: the library's typed errors
// map to the codes README.md lists.
func exitCode(err error) int {
	var e *exitErr
	var adv *advised
	var usage *flows.UsageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &adv):
		return adv.code
	case errors.As(err, &e):
		return e.code
	case errors.As(err, &usage):
		return exitUsage
	case errors.Is(err, flows.ErrNoSignature):
		return exitNoSignature
	case errors.Is(err, flows.ErrNotVerified):
		return exitNotVerified
	default:
		return exitError
	}
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

// fileFlags names the flag that gives each kind of file a flow reads.
var fileFlags = map[string]string{
	flows.RoleManifest:       "--manifest",
	flows.RoleSignature:      "--signature",
	flows.RoleSignatureOut:   "--signature-out",
	flows.RoleCertificate:    "--cert",
	flows.RoleTSACertificate: "--tsa-cert",
	flows.RoleTSARoot:        "--timestamp-root-cert",
}

// advised is an error worded for the command line; it unwraps to the
// library's error, so its exit code stays the same unless code is set.
type advised struct {
	text string
	code int
	err  error
}

func (e *advised) Error() string { return e.text }
func (e *advised) Unwrap() error { return e.err }

// advise turns the library's typed errors into what the user reads: the
// thing, the cause, and the next step, in the words of the command line
// (prog is "nv2" or "docker nv2"). Errors it does not know pass unchanged.
func advise(prog string, err error) error {
	if err == nil {
		return nil
	}
	text, code := adviseText(prog, err)
	if text == err.Error() && code == 0 {
		return err
	}
	if code == 0 {
		code = exitCode(err)
	}
	return &advised{text: text, code: code, err: err}
}

// adviseText is the text of advise(prog, err), and its exit code when that
// is not err's.
func adviseText(prog string, err error) (string, int) {
	var (
		file   *flows.FileError
		push   *flows.PushError
		store  *trust.StoreError
		exists *nvcrypto.ExistsError
		defReg *registry.DefaultRegistryError
		tsErr  *flows.TimestampError
	)
	switch {
	case errors.As(err, &file) && file.Role == flows.RoleManifest && errors.Is(err, registry.ErrMediaType):
		return fmt.Sprintf("--manifest %v: pass --media-type TYPE with the manifest's media type", file.Err), exitUsage
	case errors.As(err, &file) && errors.As(err, &exists):
		return fmt.Sprintf("%s: %v: pass --force to overwrite it", fileFlags[file.Role], exists), 0
	case errors.As(err, &file) && file.Role == flows.RoleBlob:
		return fmt.Sprintf("%s file: %s", file.Role, errorText(file.Err)), 0
	case errors.As(err, &file):
		return fmt.Sprintf("%s: %s", fileFlags[file.Role], errorText(file.Err)), 0
	case errors.As(err, &push) && push.Resumable:
		return errorText(push.Err) + "\nthe signature was not stored completely; run the same command again to push this same signature", 0
	case errors.As(err, &store) && errors.Is(err, trust.ErrNoStore):
		return fmt.Sprintf("%v: create it with '%s cert add --type %s --store %s FILE'", err, prog, store.Type, store.Name), 0
	case errors.As(err, &store):
		return fmt.Sprintf("%v: add some with '%s cert add --type %s --store %s FILE'", err, prog, store.Type, store.Name), 0
	case errors.Is(err, trust.ErrNoScope):
		return err.Error() + "; add one, or pass --cert", 0
	case errors.As(err, &exists):
		return err.Error() + ": pass --force to overwrite it", 0
	case errors.Is(err, trust.ErrNoPolicy):
		return fmt.Sprintf("%v: pass --cert FILE to trust a certificate directly, or set up trust once:\n"+
			"  %[2]s cert add --store NAME CERT_FILE\n  %[2]s policy import POLICY_FILE\n(see '%[2]s policy --help' for the format)", err, prog), 0
	case errors.As(err, &tsErr):
		return tsErr.Error() + "; " + timestampAdvice(tsErr.Err), 0
	case errors.Is(err, trust.ErrNoBlobPolicyFile):
		return fmt.Sprintf("%v: pass --cert FILE to trust a certificate directly, or set up trust once:\n"+
			"  %[2]s cert add --store NAME CERT_FILE\n  %[2]s blob policy import POLICY_FILE\n(see '%[2]s blob policy --help' for the format)", err, prog), 0
	case errors.Is(err, trust.ErrNoBlobPolicy):
		return fmt.Sprintf("%v: name one with --policy-name (see '%s blob policy show'), or mark one \"globalPolicy\": true", err, prog), 0
	case errors.As(err, &defReg):
		return fmt.Sprintf("%v: %s=%q is not host[:port][/namespace]: %s", registry.ErrInvalidReference, envRegistry, defReg.Value, defReg.Reason), exitUsage
	}
	return errorText(err), 0
}

// envRegistry names the environment variable holding the registry (and
// optionally a namespace, "host[:port][/ns]") of references with no host.
const envRegistry = "NV2_REGISTRY"

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
