package dockerplugin

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/nv2-signing/nv2/pkg/registry"
)

// Unit tests of the plugin's parsing; cmd/nv2's docker_e2e_test.go runs the
// plugin through the real docker client.

func TestParseDockerInvocation(t *testing.T) {
	noEnv := func(string) string { return "" }
	underDocker := func(k string) string {
		if k == ReexecEnv {
			return "docker"
		}
		return ""
	}
	cases := []struct {
		name          string
		args          []string
		getenv        func(string) string
		ok            bool
		globals, rest []string
	}{
		{"plain nv2", []string{"/usr/bin/nv2", "sign", "x"}, noEnv, false, nil, nil},
		{"docker runs the plugin", []string{"/h/.docker/cli-plugins/docker-nv2", "nv2", "push", "a:v1"}, underDocker, true, []string{}, []string{"push", "a:v1"}},
		{"docker's global options come first", []string{"docker-nv2", "--config", "/c", "-D", "--context=x", "-H", "nv2", "nv2", "images"}, underDocker, true,
			[]string{"--config", "/c", "-D", "--context=x", "-H", "nv2"}, []string{"images"}},
		{"by name, without docker's env", []string{"docker-nv2", "nv2", "config"}, noEnv, true, []string{}, []string{"config"}},
		{"docker-nv2 run directly", []string{"docker-nv2", "sign", "x"}, noEnv, true, nil, []string{"sign", "x"}},
		{"nv2 run by a plugin inherits docker's env", []string{"nv2", "sign", "x"}, underDocker, false, nil, nil},
		{"windows", []string{"/p/docker-nv2.exe", "nv2"}, noEnv, true, []string{}, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inv, ok := ParseInvocation(tc.args, tc.getenv)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			if !slices.Equal(inv.Globals, tc.globals) || !slices.Equal(inv.Args, tc.rest) {
				t.Fatalf("globals %q args %q, want %q %q", inv.Globals, inv.Args, tc.globals, tc.rest)
			}
		})
	}
}

func TestDockerConfigOption(t *testing.T) {
	for _, tc := range []struct {
		globals []string
		want    string
	}{
		{nil, ""},
		{[]string{"--config", "/a"}, "/a"},
		{[]string{"--config=/b", "-D"}, "/b"},
		{[]string{"--context", "--config", "--config", "/c"}, "/c"}, // a context named "--config"
	} {
		if got := configOption(tc.globals); got != tc.want {
			t.Errorf("configOption(%q) = %q, want %q", tc.globals, got, tc.want)
		}
	}
}

func TestPushLines(t *testing.T) {
	d1 := digest.FromString("one")
	d2 := digest.FromString("two")
	out := "The push refers to repository [127.0.0.1:5000/app]\n" +
		"5f70bf18a086: Preparing\r5f70bf18a086: Pushed\n" +
		"v1: digest: " + d1.String() + " size: 528\n" +
		"not a line: digest: " + d2.String() + " size: 1\n" + // a tag has no space
		"v2: digest: sha256:1234 size: 528\n" + // not a digest
		"latest: digest: " + d2.String() + " size: 9\r\n" +
		strings.Repeat("x", 2*maxPushLine) + "\n" +
		"v1: digest: " + d1.String() + " size: 528" // no final newline
	var p pushLines
	// Written in small pieces, as a pipe delivers it.
	for b := []byte(out); len(b) > 0; {
		n := min(7, len(b))
		p.Write(b[:n])
		b = b[n:]
	}
	if got := p.digests("v1"); !slices.Equal(got, []digest.Digest{d1}) {
		t.Errorf("v1: %v", got)
	}
	if got := p.digests(""); !slices.Equal(got, []digest.Digest{d1, d2}) {
		t.Errorf("all: %v", got)
	}
	if got := p.digests("v2"); len(got) != 0 {
		t.Errorf("v2: %v", got)
	}
}

func TestParseImageName(t *testing.T) {
	t.Setenv("NV2_REGISTRY", "elsewhere.example") // docker ignores it, so must push and pull
	for _, tc := range []struct{ in, ref, name string }{
		{"net-monitor:v1", "docker.io/library/net-monitor:v1", "net-monitor"},
		{"acme/app", "docker.io/acme/app", "acme/app"},
		{"127.0.0.1:5000/app:v1", "127.0.0.1:5000/app:v1", "127.0.0.1:5000/app"},
		{"localhost/a/b@" + digest.FromString("x").String(), "localhost/a/b@" + digest.FromString("x").String(), "localhost/a/b"},
		{"reg.example/app:v1@" + digest.FromString("x").String(), "reg.example/app:v1@" + digest.FromString("x").String(), "reg.example/app"},
	} {
		img, err := ParseImageName(tc.in)
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if img.Ref.String() != tc.ref || img.Raw != tc.name {
			t.Errorf("%s: %s %s, want %s %s", tc.in, img.Ref, img.Raw, tc.ref, tc.name)
		}
	}
	if _, err := ParseImageName("UPPER/case"); !errors.Is(err, registry.ErrInvalidReference) {
		t.Errorf("invalid name: %v", err)
	}
}

func TestSplitRunArgs(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		opts    []string
		image   string
		rest    []string
		wantErr bool
	}{
		{[]string{"app:v1"}, []string{}, "app:v1", []string{}, false},
		{[]string{"--rm", "-it", "--network", "none", "-e", "A=1", "app:v1", "sh", "-c", "x"}, []string{"--rm", "-it", "--network", "none", "-e", "A=1"}, "app:v1", []string{"sh", "-c", "x"}, false},
		{[]string{"--name=x", "-d", "reg:5000/app@sha256:ab", "--flag-for-the-container"}, []string{"--name=x", "-d"}, "reg:5000/app@sha256:ab", []string{"--flag-for-the-container"}, false},
		{[]string{"-v", "/a:/b", "--", "app"}, []string{"-v", "/a:/b"}, "app", []string{}, false},
		{[]string{"-u", "app"}, nil, "", nil, true}, // -u takes "app" as its value
		{[]string{"--rm"}, nil, "", nil, true},
	} {
		got, err := SplitRunArgs(tc.args)
		if (err != nil) != tc.wantErr {
			t.Fatalf("%q: err %v", tc.args, err)
		}
		if err == nil && (!slices.Equal(got.Options, tc.opts) || got.Image != tc.image || !slices.Equal(got.Args, tc.rest)) {
			t.Errorf("%q: %q %q %q", tc.args, got.Options, got.Image, got.Args)
		}
	}
}
