package registry

import (
	"errors"
	"strings"
	"testing"
)

const testDigest = "sha256:4b39f6f98b826d97c15aac7b67d0a394fd3cd6b45b6ab25acfce1367763b4391"

func TestParseReference(t *testing.T) {
	tests := []struct {
		name, in, defaultRegistry string
		want                      Reference
		wantErr                   string // substring of the reason; "" means success
	}{
		{name: "docker hub official image", in: "alpine", want: Reference{Registry: "docker.io", Repository: "library/alpine"}},
		{name: "docker hub official image with tag", in: "alpine:3.20", want: Reference{Registry: "docker.io", Repository: "library/alpine", Tag: "3.20"}},
		{name: "docker hub user image", in: "user/app:v1", want: Reference{Registry: "docker.io", Repository: "user/app", Tag: "v1"}},
		{name: "explicit docker.io gets library/", in: "docker.io/alpine", want: Reference{Registry: "docker.io", Repository: "library/alpine"}},
		{name: "index.docker.io is docker.io", in: "index.docker.io/user/app", want: Reference{Registry: "docker.io", Repository: "user/app"}},
		{name: "default registry for a bare name", in: "net-monitor:v1", defaultRegistry: "localhost:5000", want: Reference{Registry: "localhost:5000", Repository: "net-monitor", Tag: "v1"}},
		{name: "default registry with namespace", in: "net-monitor:v1", defaultRegistry: "registry.example.com/team", want: Reference{Registry: "registry.example.com", Repository: "team/net-monitor", Tag: "v1"}},
		{name: "default registry ignored when host given", in: "ghcr.io/a/b:v1", defaultRegistry: "localhost:5000", want: Reference{Registry: "ghcr.io", Repository: "a/b", Tag: "v1"}},
		{name: "localhost host", in: "localhost/x", want: Reference{Registry: "localhost", Repository: "x"}},
		{name: "host with port and digest", in: "127.0.0.1:5000/net-monitor@" + testDigest, want: Reference{Registry: "127.0.0.1:5000", Repository: "net-monitor", Digest: testDigest}},
		{name: "tag and digest", in: "example.com/a/b:v1@" + testDigest, want: Reference{Registry: "example.com", Repository: "a/b", Tag: "v1", Digest: testDigest}},
		{name: "IPv6 host", in: "[::1]:5000/x:v1", want: Reference{Registry: "[::1]:5000", Repository: "x", Tag: "v1"}},
		{name: "empty", in: "", wantErr: "empty"},
		{name: "upper case repository", in: "example.com/Net-Monitor:v1", wantErr: "invalid repository"},
		{name: "bad tag", in: "example.com/x:-v1", wantErr: "invalid tag"},
		{name: "empty tag", in: "example.com/x:", wantErr: "empty tag"},
		{name: "bad digest", in: "example.com/x@sha256:abc", wantErr: "invalid digest"},
		{name: "empty digest", in: "example.com/x@", wantErr: "empty digest"},
		{name: "bad host", in: "exa mple.com/x", wantErr: "white space"},
		{name: "bad default registry", in: "x", defaultRegistry: "bad host!", wantErr: "default registry"},
		{name: "repository ends with separator", in: "example.com/x/", wantErr: "invalid repository"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseReference(tt.in, tt.defaultRegistry)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseReference(%q) = %+v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				if !errors.Is(err, ErrInvalidReference) {
					t.Fatalf("ParseReference(%q): %v does not wrap ErrInvalidReference", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseReference(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParseReference(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			again, err := ParseReference(got.String(), "")
			if err != nil || again != got {
				t.Fatalf("String() %q does not parse back: %+v, %v", got.String(), again, err)
			}
		})
	}
}

func TestReferenceMethods(t *testing.T) {
	r := Reference{Registry: "example.com", Repository: "a/b", Tag: "v1"}
	if r.Reference() != "v1" || r.String() != "example.com/a/b:v1" {
		t.Fatalf("tag form: %q %q", r.Reference(), r.String())
	}
	p := r.WithDigest(testDigest)
	if p.Tag != "" || p.Reference() != testDigest || p.String() != "example.com/a/b@"+testDigest {
		t.Fatalf("WithDigest: %+v %q", p, p.String())
	}
	if (Reference{Registry: "h", Repository: "r"}).Reference() != "" {
		t.Fatal("no tag and no digest must give an empty reference")
	}
	l := Reference{Layout: "/tmp/l", Tag: "v1"}
	if l.String() != "/tmp/l:v1" || l.WithDigest(testDigest).String() != "/tmp/l@"+testDigest {
		t.Fatalf("layout String: %q %q", l.String(), l.WithDigest(testDigest).String())
	}
}

func TestParseLayoutReference(t *testing.T) {
	tests := []struct {
		in      string
		want    Reference
		wantErr string
	}{
		{in: "out/layout", want: Reference{Layout: "out/layout"}},
		{in: "out/layout:v1", want: Reference{Layout: "out/layout", Tag: "v1"}},
		{in: "out/layout@" + testDigest, want: Reference{Layout: "out/layout", Digest: testDigest}},
		{in: "./a:b/c", want: Reference{Layout: "./a:b/c"}},
		{in: `C:\images\layout`, want: Reference{Layout: `C:\images\layout`}},
		{in: `C:\images\layout:v2`, want: Reference{Layout: `C:\images\layout`, Tag: "v2"}},
		{in: "", wantErr: "empty"},
		{in: ":v1", wantErr: "empty path"},
		{in: "layout@sha256:nothex", wantErr: "invalid digest"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseLayoutReference(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseLayoutReference(%q) = %+v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseLayoutReference(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			if again, err := ParseLayoutReference(got.String()); err != nil || again != got {
				t.Fatalf("String() %q does not parse back: %+v, %v", got.String(), again, err)
			}
		})
	}
}

func FuzzParseReference(f *testing.F) {
	for _, s := range []string{"alpine", "a/b:c", "localhost:5000/x@" + testDigest, "example.com/a/b:v1@" + testDigest, "[::1]:5000/x", "x:", "@", "a//b", "A/B"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseReference(s, "")
		if err != nil {
			return
		}
		if r.Registry == "" || r.Repository == "" || r.Layout != "" {
			t.Fatalf("ParseReference(%q) accepted an incomplete reference %+v", s, r)
		}
		again, err := ParseReference(r.String(), "")
		if err != nil || again != r {
			t.Fatalf("ParseReference(%q) = %+v; its String %q parses to %+v, %v", s, r, r.String(), again, err)
		}
		if l, err := ParseLayoutReference(s); err == nil {
			if again, err := ParseLayoutReference(l.String()); err != nil || again != l {
				t.Fatalf("layout %q: %+v; String %q parses to %+v, %v", s, l, l.String(), again, err)
			}
		}
	})
}
