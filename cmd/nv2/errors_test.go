package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/nv2-signing/nv2/internal/testregistry"
	"github.com/nv2-signing/nv2/pkg/registry"
)

// TestErrorText: a registry error the user can fix names the fix, right
// after the registry's own words, whatever wraps it.
func TestErrorText(t *testing.T) {
	const host = "registry.example:5000"
	cause := errors.New("the cause")
	for _, tt := range []struct {
		name string
		err  *registry.Error
		want string
	}{
		{"wrong credentials", &registry.Error{Kind: registry.Unauthorized, UsernameGiven: true}, host + " refused the given username and password: check -u/-p"},
		{"not logged in", &registry.Error{Kind: registry.Unauthorized}, "log in with `docker login " + host + "` or pass -u/-p"},
		{"forbidden", &registry.Error{Kind: registry.Forbidden, Repository: "app"}, "the credentials used for " + host + " lack permission on app"},
		{"HTTPS only", &registry.Error{Kind: registry.HTTPSOnly, PlainHTTP: true}, "if " + host + " speaks HTTPS only, drop --plain-http (loopback hosts use HTTPS with --ca-file or --insecure)"},
		{"credentials needed", &registry.Error{Kind: registry.CredentialsRequired}, host + " requires credentials: log in with `docker login " + host + "` or pass -u/-p"},
		{"connection refused", &registry.Error{Kind: registry.ConnectionRefused, PlainHTTP: true}, "is the registry running at " + host + "?"},
		{"connection refused over HTTPS", &registry.Error{Kind: registry.ConnectionRefused}, "is the registry running at " + host + "? for an HTTP registry use --plain-http"},
		{"HTTPS to an HTTP registry", &registry.Error{Kind: registry.PlainHTTPServer}, host + " speaks plain HTTP: use --plain-http"},
		{"untrusted certificate", &registry.Error{Kind: registry.UntrustedCertificate}, "the TLS certificate of " + host + " is not trusted: pass its CA with --ca-file (or --insecure to skip verification)"},
		{"unknown host", &registry.Error{Kind: registry.UnknownHost}, "cannot resolve the host " + host + ": check the registry name"},
		{"timeout", &registry.Error{Kind: registry.Timeout}, host + " did not answer in time: check the network or raise --timeout"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.err.Registry, tt.err.Err = host, cause
			err := fmt.Errorf("%w\nwhat to do next", fmt.Errorf("resolve v1 in %s/app: %w", host, tt.err))
			want := "resolve v1 in " + host + "/app: the cause; " + tt.want + "\nwhat to do next"
			if got := errorText(err); got != want {
				t.Fatalf("errorText = %q, want %q", got, want)
			}
		})
	}
	if got := errorText(errors.New("plain")); got != "plain" {
		t.Fatalf("errorText of an error without advice = %q", got)
	}
	dc := fmt.Errorf("new client: %w", &registry.DockerConfigError{Path: "/cfg/config.json", Err: cause})
	if got, want := errorText(dc), "new client: read docker config /cfg/config.json: the cause; fix or remove it, or pass credentials with -u/-p"; got != want {
		t.Fatalf("errorText = %q, want %q", got, want)
	}
}

// TestNV2Registry: a bare name takes its registry from NV2_REGISTRY, and a
// malformed NV2_REGISTRY is a usage error that names it.
func TestNV2Registry(t *testing.T) {
	reg := testregistry.Start(t, testregistry.GGCR)
	testregistry.PushImage(t, reg, "net-monitor", "v1", "nv2-registry")
	newCLI(t, envRegistry+"="+reg.Host).must(0, "discover", "net-monitor:v1")
	r := newCLI(t, envRegistry+"=bad host!").must(exitUsage, "discover", "x:v1")
	if !strings.Contains(r.stderr, `NV2_REGISTRY="bad host!" is not host[:port][/namespace]`) {
		t.Fatalf("bad NV2_REGISTRY:\n%s", r.stderr)
	}
}
