package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/nv2-signing/nv2/internal/testregistry"
)

// TestMissingArtifactIsNotUnsigned: verify and pull of a digest that names
// nothing say "not found" and exit 1, as discover and inspect do; they
// never say the artifact has no signatures.
func TestMissingArtifactIsNotUnsigned(t *testing.T) {
	missing := digest.FromString("nothing has this digest").String()
	for _, kind := range testregistry.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			reg := testregistry.Start(t, kind)
			testregistry.PushImage(t, reg, "net-monitor", "v1", "notfound")
			c := newCLI(t)
			_, cert := c.keys("signer")
			ref := reg.Host + "/net-monitor@" + missing
			for _, args := range [][]string{
				{"verify", "--cert", cert, ref},
				{"pull", "--cert", cert, "--to-oci-layout", t.TempDir() + "/out", ref},
				{"discover", ref},
				{"inspect", ref},
			} {
				expectNotFound(t, c.must(exitError, args...), args[0])
			}
		})
	}
	t.Run("layout", func(t *testing.T) {
		c := newCLI(t)
		_, cert := c.keys("signer")
		expectNotFound(t, c.must(exitError, "verify", "--oci-layout", "--cert", cert, buildLayout(t)+"@"+missing), "verify")
	})
}

func expectNotFound(t *testing.T, r result, cmd string) {
	t.Helper()
	if !strings.Contains(r.stderr, "not found") || strings.Contains(r.stderr, "no signature") || strings.Contains(r.stderr, "sign it with") {
		t.Errorf("nv2 %s of a missing digest should say not found, and nothing about signatures:\n%s", cmd, r.stderr)
	}
}

// TestFailedListingIsNotUnsigned: when listing the signatures fails (the
// registry answers 503 however often it is asked), verify exits 1 naming
// the failure, never 3 with "no signatures".
func TestFailedListingIsNotUnsigned(t *testing.T) {
	for _, kind := range testregistry.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			h := &testregistry.Hostile{}
			reg := testregistry.Start(t, kind, testregistry.Options{Wrap: h.Wrap})
			img := testregistry.PushImage(t, reg, "app", "v1", "listing-fails")
			c := newCLI(t)
			_, cert := c.keys("signer")
			// The referrers API, or the fallback's sha256-<hex> tag.
			h.Set(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
				if strings.Contains(r.URL.Path, "/referrers/") || strings.Contains(r.URL.Path, "/manifests/sha256-") {
					w.WriteHeader(http.StatusServiceUnavailable)
					return true
				}
				return false
			})
			for _, ref := range []string{reg.Host + "/app:v1", reg.Host + "/app@" + img.Digest.String()} {
				r := c.must(exitError, "verify", "--cert", cert, ref)
				if !strings.Contains(r.stderr, "503") || strings.Contains(r.stderr, "no signature") {
					t.Errorf("verify %s: a failed listing should be named, not reported as unsigned:\n%s", ref, r.stderr)
				}
			}
		})
	}
}
