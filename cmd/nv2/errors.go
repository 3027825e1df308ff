package main

import (
	"errors"
	"fmt"

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
	var usage *flows.UsageError
	switch {
	case err == nil:
		return exitOK
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
	flows.RoleManifest:     "--manifest",
	flows.RoleSignature:    "--signature",
	flows.RoleSignatureOut: "--signature-out",
	flows.RoleCertificate:  "--cert",
}

// advise turns the library's typed errors into what the user reads: the
// thing, the cause, and the next step, in the words of the command line
// (prog is "nv2" or "docker nv2"). Errors it does not know pass unchanged.
func advise(prog string, err error) error {
	var (
		file   *flows.FileError
		push   *flows.PushError
		store  *trust.StoreError
		exists *nvcrypto.ExistsError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &file) && file.Role == flows.RoleManifest && errors.Is(err, registry.ErrMediaType):
		return usageErrorf("--manifest %v: pass --media-type TYPE with the manifest's media type", file.Err)
	case errors.As(err, &file):
		return withCode(exitCode(err), fmt.Errorf("%s: %w", fileFlags[file.Role], file.Err))
	case errors.As(err, &push) && push.Resumable:
		return withCode(exitCode(err), fmt.Errorf("%w\nthe signature was not stored completely; run the same command again to push this same signature", push.Err))
	case errors.As(err, &store) && errors.Is(err, trust.ErrNoStore):
		return fmt.Errorf("%w: create it with '%s cert add --type %s --store %s FILE'", err, prog, store.Type, store.Name)
	case errors.As(err, &store):
		return fmt.Errorf("%w: add some with '%s cert add --type %s --store %s FILE'", err, prog, store.Type, store.Name)
	case errors.Is(err, trust.ErrNoScope):
		return fmt.Errorf("%w; add one, or pass --cert", err)
	case errors.As(err, &exists):
		return withCode(exitCode(err), fmt.Errorf("%w: pass --force to overwrite it", err))
	case errors.Is(err, trust.ErrNoPolicy):
		return fmt.Errorf("%w: pass --cert FILE to trust a certificate directly, or set up trust once:\n"+
			"  %[2]s cert add --store NAME CERT_FILE\n  %[2]s policy import POLICY_FILE\n(see '%[2]s policy --help' for the format)", err, prog)
	}
	return err
}
