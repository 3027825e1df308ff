package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"

	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"
)

// ErrNotFound is wrapped by every error that means "no such tag, manifest,
// blob or layout". It is oras-go's errdef.ErrNotFound, so errors.Is works
// with either name.
var ErrNotFound = errdef.ErrNotFound

// Kind is the reason a registry request failed, when it is one that the
// user can usually fix.
type Kind int

// The kinds of Error.
const (
	// Unauthorized: the registry refused the credentials sent (401).
	Unauthorized Kind = iota + 1
	// Forbidden: the credentials lack permission on the repository (403).
	Forbidden
	// HTTPSOnly: a plain-HTTP read was answered 400, what an HTTPS-only
	// server answers to HTTP.
	HTTPSOnly
	// CredentialsRequired: the registry asked for credentials, and none
	// were found.
	CredentialsRequired
	// ConnectionRefused: nothing listens at the registry's address.
	ConnectionRefused
	// PlainHTTPServer: HTTPS was used, and the registry speaks plain HTTP.
	PlainHTTPServer
	// UntrustedCertificate: the registry's TLS certificate is not trusted.
	UntrustedCertificate
	// UnknownHost: the registry's host name does not resolve.
	UnknownHost
	// Timeout: the registry did not answer in time.
	Timeout
)

// Error is a failed registry request of a Kind that the user can usually
// fix. Its text is the cause's; it carries what a caller needs to word the
// advice. Find it with errors.As.
type Error struct {
	Kind Kind
	// Registry ("host[:port]") and Repository name where the request went.
	Registry, Repository string
	// PlainHTTP is set when the request used http://.
	PlainHTTP bool
	// UsernameGiven is set when Options.Username supplied the credentials.
	UsernameGiven bool
	// Err is the cause.
	Err error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// DockerConfigError is a docker config file that could not be read.
type DockerConfigError struct {
	// Path names the file (or where it was looked for).
	Path string
	Err  error
}

func (e *DockerConfigError) Error() string {
	return fmt.Sprintf("read docker config %s: %v", e.Path, e.Err)
}
func (e *DockerConfigError) Unwrap() error { return e.Err }

// classify returns the Kind of err, or 0 when it is none of them. plainHTTP
// says whether the request used http://.
func classify(err error, plainHTTP bool) Kind {
	var er *errcode.ErrorResponse
	if errors.As(err, &er) {
		return statusKind(er, plainHTTP)
	}
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var dnsErr *net.DNSError
	var recordErr tls.RecordHeaderError
	msg := err.Error()
	switch {
	case errors.Is(err, auth.ErrBasicCredentialNotFound):
		return CredentialsRequired
	case errors.Is(err, syscall.ECONNREFUSED):
		return ConnectionRefused
	case strings.Contains(msg, "server gave HTTP response to HTTPS client"), errors.As(err, &recordErr):
		return PlainHTTPServer
	case errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &certErr):
		return UntrustedCertificate
	case errors.As(err, &dnsErr):
		return UnknownHost
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(msg, "Client.Timeout exceeded"):
		return Timeout
	}
	return 0
}

// statusKind is the Kind of a registry's error answer, or 0.
func statusKind(er *errcode.ErrorResponse, plainHTTP bool) Kind {
	switch er.StatusCode {
	case http.StatusUnauthorized:
		return Unauthorized
	case http.StatusForbidden:
		return Forbidden
	case http.StatusBadRequest:
		if plainHTTP && (er.Method == http.MethodGet || er.Method == http.MethodHead) {
			return HTTPSOnly
		}
	}
	return 0
}

// wrapf adds context to err: fmt.Errorf(format+": %w", args..., err).
func wrapf(err error, format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), err)
}
