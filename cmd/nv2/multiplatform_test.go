package main

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/nv2-signing/nv2/internal/testregistry"
)

// TestMultiPlatformCLI: a user signs a multi-platform image with
// --recursive, verifies and pulls one platform, and sees every level of the
// index in discover and inspect, on both registries and in an OCI layout.
func TestMultiPlatformCLI(t *testing.T) {
	for _, where := range []string{string(testregistry.GGCR), string(testregistry.Distribution), "oci-layout"} {
		t.Run(where, func(t *testing.T) {
			x := testregistry.NewIndex("cli "+where, "linux/amd64", "linux/arm64/v8")
			amd, arm := x.Images[0].Descriptor.Digest.String(), x.Images[1].Descriptor.Digest.String()
			c := newCLI(t)
			var ref, repo string
			var layout []string
			if where == "oci-layout" {
				repo = filepath.Join(t.TempDir(), "net-monitor")
				if _, err := x.WriteLayout(repo, "v1"); err != nil {
					t.Fatal(err)
				}
				ref, layout = repo+":v1", []string{"--oci-layout"}
			} else {
				reg := testregistry.Start(t, testregistry.Kind(where))
				x.Push(t, reg.Host, "net-monitor", "v1")
				repo = reg.Host + "/net-monitor"
				ref = repo + ":v1"
			}
			key, cert := c.keys("wabbit-networks.io")
			args := func(a ...string) []string { return append(append(a, layout...), ref) }

			s := c.must(0, args("sign", "--key", key, "--cert", cert, "--recursive")...)
			for _, want := range []string{"Signed " + repo + "@" + x.Descriptor.Digest.String(), amd + " (linux/amd64)", arm + " (linux/arm64/v8)"} {
				if !strings.Contains(s.stdout, want) {
					t.Fatalf("sign --recursive output lacks %q:\n%s", want, s.stdout)
				}
			}
			v := c.must(0, args("verify", "--cert", cert, "--platform", "linux/arm64", "--require-platform-signature")...)
			if !strings.Contains(v.stdout, "Verified "+repo+"@"+arm) || !strings.Contains(v.stdout, "linux/arm64/v8 manifest "+arm+", signed itself") {
				t.Fatalf("verify --platform output:\n%s", v.stdout)
			}
			var out verifyResults
			decode(t, c.must(0, args("verify", "-o", "json", "--cert", cert, "--platform", "linux/amd64")...).stdout, &out)
			if p := out[0].Platform; p == nil || p.SignedBy != "manifest" || p.Manifest.Digest != amd || p.Index.Digest != x.Descriptor.Digest.String() {
				t.Fatalf("verify JSON platform: %+v", out[0].Platform)
			}
			miss := c.must(exitError, args("verify", "--cert", cert, "--platform", "windows/amd64")...)
			if !strings.Contains(miss.stderr, "lists no manifest for the platform windows/amd64") || !strings.Contains(miss.stderr, "linux/arm64/v8") {
				t.Fatalf("a platform not in the index should say so and list what is there:\n%s", miss.stderr)
			}
			c.must(exitUsage, args("verify", "--cert", cert, "--require-platform-signature")...)

			d := c.must(0, args("discover")...)
			for _, want := range []string{"[linux/amd64] " + amd, "[linux/arm64/v8] " + arm, "application/vnd.cncf.notary.signature"} {
				if !strings.Contains(d.stdout, want) {
					t.Fatalf("discover lacks %q:\n%s", want, d.stdout)
				}
			}
			if n := strings.Count(d.stdout, "application/vnd.cncf.notary.signature"); n != 3 {
				t.Fatalf("discover shows %d signature groups, want one for each of 3 levels:\n%s", n, d.stdout)
			}
			var dj discoverResult
			decode(t, c.must(0, args("discover", "-o", "json")...).stdout, &dj)
			if len(dj.Manifests) != 2 || dj.Manifests[1].Platform != "linux/arm64/v8" || len(dj.Manifests[1].Referrers) != 1 || len(dj.Referrers) != 1 {
				t.Fatalf("discover JSON: %+v", dj)
			}
			var ij inspectResult
			decode(t, c.must(0, args("inspect", "-o", "json")...).stdout, &ij)
			if len(ij.Signatures) != 1 || len(ij.Manifests) != 2 || len(ij.Manifests[0].Signatures) != 1 || ij.Manifests[0].Platform != "linux/amd64" {
				t.Fatalf("inspect JSON: %+v", ij)
			}
			if in := c.must(0, args("inspect")...); strings.Count(in.stdout, "└── signature") != 3 || !strings.Contains(in.stdout, "manifest [linux/arm64/v8] "+arm) {
				t.Fatalf("inspect text:\n%s", in.stdout)
			}
			if where == "oci-layout" {
				return
			}
			dst := filepath.Join(t.TempDir(), "pulled")
			p := c.must(0, "pull", "--cert", cert, "--platform", "linux/arm64", "--to-oci-layout", dst, ref)
			if !strings.Contains(p.stdout, "Pulled "+repo+"@"+arm) {
				t.Fatalf("pull --platform:\n%s", p.stdout)
			}
		})
	}
}

// TestDockerPullPlatform: docker nv2 pull of a multi-platform image whose
// index alone is signed verifies the manifest of docker's platform (this
// machine's by default, --platform to choose) and pulls exactly that digest.
func TestDockerPullPlatform(t *testing.T) {
	reg := testregistry.Start(t, testregistry.GGCR)
	x := testregistry.NewIndex("docker-platform", "linux/"+runtime.GOARCH, "linux/s390x")
	x.Push(t, reg.Host, "team/app", "v1")
	u := newDockerUser(t)
	key, cert := u.keys("pull-signer")
	ref := reg.Host + "/team/app:v1"
	u.must(0, "nv2", "sign", "--key", key, "--cert", cert, ref)
	docker := u.standIn()
	u.must(0, "nv2", "config", "enable")
	u.must(0, "nv2", "config", "set", "--verify-cert", cert)

	native := reg.Host + "/team/app@" + x.Images[0].Descriptor.Digest.String()
	s390x := reg.Host + "/team/app@" + x.Images[1].Descriptor.Digest.String()
	if p := u.must(0, "nv2", "pull", ref); !strings.Contains(p.stdout, "Pulled "+native+" as "+ref) {
		t.Fatalf("pull of this machine's platform:\n%s", p.stdout)
	}
	if p := u.must(0, "nv2", "pull", "--platform", "linux/s390x", ref); !strings.Contains(p.stdout, "Pulled "+s390x+" as "+ref) {
		t.Fatalf("pull --platform linux/s390x:\n%s", p.stdout)
	}
	want := []string{"pull " + native, "tag " + native + " " + ref, "pull --platform linux/s390x " + s390x, "tag " + s390x + " " + ref}
	if calls := docker.calls(); strings.Join(calls, "\n") != strings.Join(want, "\n") {
		t.Fatalf("docker calls:\n%q\nwant\n%q", calls, want)
	}
	u.must(exitError, "nv2", "pull", "--platform", "windows/arm64", ref)
}
