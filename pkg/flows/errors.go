package flows

import (
	"errors"
	"fmt"

	"github.com/nv2-signing/nv2/pkg/registry"
)

// UsageError reports input a flow cannot work with, such as a malformed
// reference or options that exclude each other. Nothing was read or written
// when a flow returns one.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usagef(format string, a ...any) error {
	return &UsageError{Err: fmt.Errorf(format, a...)}
}

var (
	// ErrNotFound: the artifact (or OCI layout) does not exist.
	ErrNotFound = registry.ErrNotFound
	// ErrNoSignature: the artifact exists and has no signature.
	ErrNoSignature = errors.New("no signature found")
	// ErrNotVerified: signatures exist, and none passed verification.
	ErrNotVerified = errors.New("no signature verified")
)

// PushError reports a signature that was made but not stored completely.
// With Resumable set, the same Sign call (same options) pushes this same
// envelope again instead of signing afresh, so that retrying leaves one
// signature.
type PushError struct {
	Err       error
	Resumable bool
}

func (e *PushError) Error() string { return e.Err.Error() }
func (e *PushError) Unwrap() error { return e.Err }

// TimestampError: signing stopped because the Time Stamping Authority at
// URL gave no token that verifies; nothing was stored. Err wraps the
// timestamp package's error, which says which step failed (the request, the
// TSA's answer, the token's checks).
type TimestampError struct {
	URL string
	Err error
}

func (e *TimestampError) Error() string { return "timestamping the signature: " + e.Err.Error() }
func (e *TimestampError) Unwrap() error { return e.Err }

// FileError reports a file given to a flow that cannot be read, written,
// or is not what it should be. Role names what the file is for (RoleManifest,
// RoleSignature, ...); Err names the file.
type FileError struct {
	Role, Path string
	Err        error
}

func (e *FileError) Error() string { return fmt.Sprintf("%s file: %v", e.Role, e.Err) }
func (e *FileError) Unwrap() error { return e.Err }

// IntegrityError: a signature envelope is malformed, or its signature does
// not verify with its own certificate.
type IntegrityError struct{ Err error }

func (e *IntegrityError) Error() string { return "not an intact signature envelope: " + e.Err.Error() }
func (e *IntegrityError) Unwrap() error { return e.Err }
