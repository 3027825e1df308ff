package dockerplugin

import (
	"bytes"
	"regexp"
	"slices"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/nv2-signing/nv2/pkg/registry"
)

// ImageName is an image named as the docker CLI names it.
type ImageName struct {
	// Raw is the name as the user wrote it, without tag and digest.
	Raw string
	// Ref is the full reference (docker.io for names without a host).
	Ref registry.Reference
}

// ParseImageName parses an image name with docker's rules: a name whose
// first component is not a host ("net-monitor:v1", "library/alpine") is on
// Docker Hub, whatever nv2's default registry is, because that is where
// docker pushes and pulls it.
func ParseImageName(s string) (ImageName, error) {
	ref, err := registry.ParseReference(s, "") // no default registry: docker's rules
	if err != nil {
		return ImageName{}, err
	}
	raw := s
	if ref.Digest != "" {
		raw = strings.TrimSuffix(raw, "@"+ref.Digest)
	}
	if ref.Tag != "" {
		raw = strings.TrimSuffix(raw, ":"+ref.Tag)
	}
	return ImageName{Raw: raw, Ref: ref}, nil
}

// pushDigestLine is the line docker push prints for each tag it pushed.
var pushDigestLine = regexp.MustCompile(`^([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}): digest: ([a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+) size: [0-9]+$`)

// pushedTag is one "TAG: digest: DIGEST size: N" line of docker push.
type pushedTag struct {
	tag    string
	digest digest.Digest
}

// pushLines is an io.Writer that collects the digest lines of the docker
// push output written to it, keeping at most one line in memory.
type pushLines struct {
	partial []byte
	skip    bool // the current line is too long to be a digest line
	pushed  []pushedTag
}

// maxPushLine bounds the line pushLines buffers; longer lines are progress
// output, never a digest line.
const maxPushLine = 4096

func (p *pushLines) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			p.add(b)
			break
		}
		p.add(b[:i])
		p.flush()
		b = b[i+1:]
	}
	return n, nil
}

func (p *pushLines) add(b []byte) {
	if p.skip || len(p.partial)+len(b) > maxPushLine {
		p.partial, p.skip = p.partial[:0], true
		return
	}
	p.partial = append(p.partial, b...)
}

// flush ends the current line.
func (p *pushLines) flush() {
	l, skip := p.partial, p.skip
	p.partial, p.skip = p.partial[:0], false
	if skip {
		return
	}
	// Progress output may redraw a line with carriage returns; the last
	// segment is what shows.
	l = bytes.TrimRight(l, "\r")
	if i := bytes.LastIndexByte(l, '\r'); i >= 0 {
		l = l[i+1:]
	}
	m := pushDigestLine.FindSubmatch(bytes.TrimSpace(l))
	if m == nil {
		return
	}
	d, err := digest.Parse(string(m[2]))
	if err != nil {
		return
	}
	p.pushed = append(p.pushed, pushedTag{tag: string(m[1]), digest: d})
}

// digests returns the distinct digests pushed, in order: those of tag, or of
// every tag when tag is "".
func (p *pushLines) digests(tag string) []digest.Digest {
	p.flush()
	var out []digest.Digest
	for _, t := range p.pushed {
		if (tag == "" || t.tag == tag) && !slices.Contains(out, t.digest) {
			out = append(out, t.digest)
		}
	}
	return out
}

// teeWriter copies docker's output to the user (out) and to capture. A
// failed write to the user is ignored, so that docker is not disturbed and
// capture still sees every line.
type teeWriter struct {
	out     interface{ Write([]byte) (int, error) }
	capture *pushLines
}

func (t teeWriter) Write(b []byte) (int, error) {
	_, _ = t.capture.Write(b)
	_, _ = t.out.Write(b)
	return len(b), nil
}
