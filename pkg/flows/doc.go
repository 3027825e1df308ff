// Package flows is what nv2 does, as typed functions: Sign, Verify, Pull,
// Attach, Copy, Discover and Inspect artifacts in registries and OCI layouts.
//
// Each flow takes an options struct and returns a typed result; errors are
// typed (see UsageError, ErrNoSignature, ErrNotVerified, ErrNotFound) so
// that a caller, such as the nv2 CLI or its docker plugin, decides how to
// word them. Nothing here prints or exits. docs/architecture.md describes
// where this package sits among nv2's layers.
package flows
