package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/nv2-signing/nv2/internal/testregistry"
	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/registry"
	"github.com/nv2-signing/nv2/pkg/spec"
	"github.com/nv2-signing/nv2/pkg/trust"
)

// nv2 must fail closed against a registry that lies: for each hostile answer
// (crafted content pushed into a real registry, or a proxy in front of one
// that rewrites its answers) verify exits non-zero (4 when signatures were
// found and none verified, 1 when verification could not complete), names
// the cause, and stays within --timeout and bounded memory.

// measured is a finished nv2 run with its wall time and peak memory.
type measured struct {
	result
	elapsed time.Duration
	maxRSS  int64 // bytes
}

// runMeasured runs nv2 like run, also measuring time and peak memory. The
// peak is read from /proc (VmHWM) while the process runs: the rusage of a
// child counts the parent's memory, shared until exec. A run that outlives
// runLimit is killed (and fails the test): a protection against hanging is
// missing.
func (c *cliUser) runMeasured(args ...string) measured {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, nv2Bin, args...)
	cmd.Env = c.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("running nv2: %v", err)
	}
	var peak atomic.Int64
	stop := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
		for {
			if b, err := os.ReadFile(status); err == nil {
				for _, line := range strings.Split(string(b), "\n") {
					var kb int64
					if _, err := fmt.Sscanf(line, "VmHWM: %d kB", &kb); err == nil && kb*1024 > peak.Load() {
						peak.Store(kb * 1024)
					}
				}
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	err := cmd.Wait()
	close(stop)
	<-polled
	m := measured{elapsed: time.Since(start), maxRSS: peak.Load()}
	if ctx.Err() != nil {
		c.t.Fatalf("nv2 %s still ran after %s: killed", strings.Join(args, " "), runLimit)
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		m.code = ee.ExitCode()
	case err != nil:
		c.t.Fatalf("running nv2: %v", err)
	}
	m.stdout, m.stderr = out.String(), errb.String()
	return m
}

// runLimit is the longest any nv2 run of these tests may take.
const runLimit = 90 * time.Second

// hostileEnv is an image signed by a trusted key in a real registry behind
// a Hostile proxy, which passes everything through until a rule is set.
type hostileEnv struct {
	t         *testing.T
	reg       *testregistry.Registry
	h         *testregistry.Hostile
	c         *cliUser
	key, cert string
	image     ocispec.Descriptor
	sig       digest.Digest // the genuine signature manifest
	ref       string        // host/hostile:v1
}

func newHostileEnv(t *testing.T, kind testregistry.Kind) *hostileEnv {
	t.Helper()
	e := &hostileEnv{t: t, h: &testregistry.Hostile{}}
	e.reg = testregistry.Start(t, kind, testregistry.Options{Wrap: e.h.Wrap})
	e.image = testregistry.PushImage(t, e.reg, "hostile", "v1", "hostile-"+t.Name())
	e.c = newCLI(t)
	e.key, e.cert = e.c.keys("trusted")
	e.ref = e.reg.Host + "/hostile:v1"
	var signed signResult
	decode(t, e.c.must(0, "sign", "-o", "json", "--key", e.key, "--cert", e.cert, e.ref).stdout, &signed)
	e.sig = digest.Digest(signed.Signature.Digest)
	return e
}

// repo is the repository as plain oras-go sees it, to push crafted content.
func (e *hostileEnv) repo() *remote.Repository {
	r, err := remote.NewRepository(e.reg.Host + "/hostile")
	if err != nil {
		e.t.Fatal(err)
	}
	r.PlainHTTP = true
	r.MaxMetadataBytes = 2 * spec.MaxManifestSize // to push oversized manifests
	return r
}

// pushBlob stores b in the registry.
func (e *hostileEnv) pushBlob(mediaType string, b []byte) ocispec.Descriptor {
	d := content.NewDescriptorFromBytes(mediaType, b)
	if err := e.repo().Push(context.Background(), d, bytes.NewReader(b)); err != nil {
		e.t.Fatal(err)
	}
	return d
}

// craftSignature pushes a signature manifest of the image built by edit from
// a valid one holding envelope (pushed too), and returns its descriptor.
func (e *hostileEnv) craftSignature(envelope []byte, edit func(*ocispec.Manifest)) ocispec.Descriptor {
	raw := e.signatureManifest(envelope, edit)
	d := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, raw)
	if err := e.repo().Push(context.Background(), d, bytes.NewReader(raw)); err != nil {
		e.t.Fatal(err)
	}
	return d
}

// signatureManifest is a signature manifest of the image built by edit from
// a valid one holding envelope; the envelope and config are pushed.
func (e *hostileEnv) signatureManifest(envelope []byte, edit func(*ocispec.Manifest)) []byte {
	e.pushBlob(spec.ArtifactTypeSignature, []byte("{}"))
	env := e.pushBlob(spec.MediaTypeEnvelope, envelope)
	subject := e.image
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		ArtifactType: spec.ArtifactTypeSignature,
		Config:       ocispec.Descriptor{MediaType: spec.ArtifactTypeSignature, Digest: spec.EmptyJSONDigest, Size: 2},
		Layers:       []ocispec.Descriptor{env}, Subject: &subject,
	}
	if edit != nil {
		edit(&m)
	}
	raw, err := json.Marshal(m)
	if err != nil {
		e.t.Fatal(err)
	}
	return raw
}

// listOnly makes the referrers API list exactly descs (and nothing else).
func listOnly(descs ...ocispec.Descriptor) testregistry.Rule {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if !testregistry.IsReferrers(r) {
			return false
		}
		for i := range descs {
			descs[i].ArtifactType = spec.ArtifactTypeSignature
		}
		idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: descs}
		b, _ := json.Marshal(idx)
		w.Header().Set("Content-Type", ocispec.MediaTypeImageIndex)
		testregistry.Reply(w, nil, http.StatusOK, b)
		return true
	}
}

// serveManifest answers GETs of desc's digest with raw, whatever it holds.
func serveManifest(desc ocispec.Descriptor, raw []byte, then testregistry.Rule) testregistry.Rule {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if testregistry.IsManifest(r, desc.Digest.String()) {
			w.Header().Set("Content-Type", desc.MediaType)
			w.Header().Set("Docker-Content-Digest", desc.Digest.String())
			testregistry.Reply(w, nil, http.StatusOK, raw)
			return true
		}
		return then(w, r, next)
	}
}

// rewriteBody passes requests matching match to the registry and changes
// the body of its answer with edit (same headers).
func rewriteBody(match func(*http.Request) bool, edit func([]byte) []byte) testregistry.Rule {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if !match(r) {
			return false
		}
		rec := testregistry.Record(next, r)
		testregistry.Reply(w, rec, rec.Code, edit(rec.Body.Bytes()))
		return true
	}
}

func flipLastBytes(b []byte) []byte {
	b = bytes.Clone(b)
	b[len(b)-2] ^= 1 // same size, other content
	return b
}

// maxHostileRSS bounds nv2's memory against any hostile answer: the largest
// thing it may hold is one 32 MiB envelope.
const maxHostileRSS = 256 << 20

func TestHostileRegistry(t *testing.T) {
	type testCase struct {
		name string
		kind testregistry.Kind
		// setup crafts content and returns the rule to set (nil: none).
		setup    func(e *hostileEnv) testregistry.Rule
		args     []string // extra verify flags
		wantCode int
		wantErr  []string
		// maxTime bounds the run (default 10s).
		maxTime time.Duration
	}
	isSigManifest := func(e *hostileEnv) func(*http.Request) bool {
		return func(r *http.Request) bool {
			return testregistry.IsManifest(r, e.sig.String()) && r.Method == http.MethodGet
		}
	}
	pages := func(n, size int) testregistry.Rule {
		return func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !testregistry.IsReferrers(r) {
				return false
			}
			var p int
			fmt.Sscan(r.URL.Query().Get("page"), &p)
			if (p+1)*size < n {
				w.Header().Set("Link", fmt.Sprintf(`<%s?page=%d>; rel="next"`, r.URL.Path, p+1))
			}
			streamReferrersPage(w, p, size)
			return true
		}
	}
	tests := []testCase{
		{
			name: "signature replayed from another image", kind: testregistry.GGCR,
			setup:    func(e *hostileEnv) testregistry.Rule { e.replay(); return nil },
			wantCode: exitNotVerified, wantErr: []string{"integrity"},
		},
		{
			name: "signature replayed from another image (fallback)", kind: testregistry.Distribution,
			setup:    func(e *hostileEnv) testregistry.Rule { e.replay(); return nil },
			wantCode: exitNotVerified, wantErr: []string{"integrity"},
		},
		{
			name: "signature manifest bytes do not match its digest", kind: testregistry.GGCR,
			setup: func(e *hostileEnv) testregistry.Rule {
				return rewriteBody(isSigManifest(e), flipLastBytes)
			},
			wantCode: exitNotVerified, wantErr: []string{"digest"},
		},
		{
			name: "envelope bytes do not match its digest", kind: testregistry.GGCR,
			setup: func(e *hostileEnv) testregistry.Rule {
				return rewriteBody(testregistry.IsBlob, flipLastBytes)
			},
			wantCode: exitNotVerified, wantErr: []string{"digest"},
		},
		{
			name: "envelope bytes do not match its digest (fallback)", kind: testregistry.Distribution,
			setup: func(e *hostileEnv) testregistry.Rule {
				return rewriteBody(testregistry.IsBlob, flipLastBytes)
			},
			wantCode: exitNotVerified, wantErr: []string{"digest"},
		},
		{
			name: "signature manifest over 4 MiB", kind: testregistry.GGCR,
			setup: func(e *hostileEnv) testregistry.Rule {
				// Served by the proxy: a registry holding it would keep 4 MiB
				// and parse it at every referrers listing.
				raw := e.signatureManifest(e.envelopeOf(), func(m *ocispec.Manifest) {
					m.Annotations = map[string]string{"pad": strings.Repeat("x", spec.MaxManifestSize)}
				})
				big := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, raw)
				return serveManifest(big, raw, listOnly(big))
			},
			wantCode: exitNotVerified, wantErr: []string{"over the limit"},
		},
		{
			name: "signature manifest listed small but served endless", kind: testregistry.GGCR,
			setup: func(e *hostileEnv) testregistry.Rule {
				return func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
					if !isSigManifest(e)(r) {
						return false
					}
					rec := testregistry.Record(next, r)
					testregistry.Endless(w, r, rec, rec.Body.Bytes())
					return true
				}
			},
			wantCode: exitNotVerified, wantErr: []string{"trailing data"},
		},
		{
			name: "envelope over 32 MiB", kind: testregistry.GGCR,
			setup: func(e *hostileEnv) testregistry.Rule {
				// The manifest says so; the registry (which does not check
				// that layers exist) need not hold 32 MiB for it.
				return listOnly(e.craftSignature(e.envelopeOf(), func(m *ocispec.Manifest) {
					m.Layers[0].Size = spec.MaxEnvelopeSize + 1
					m.Layers[0].Digest = digest.FromString("33 MiB of envelope")
				}))
			},
			wantCode: exitNotVerified, wantErr: []string{"envelope size", "not within"},
		},
		{
			name: "envelope served endless", kind: testregistry.GGCR,
			setup: func(e *hostileEnv) testregistry.Rule {
				return func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
					if !testregistry.IsBlob(r) {
						return false
					}
					testregistry.Endless(w, r, testregistry.Record(next, r), nil)
					return true
				}
			},
			wantCode: exitNotVerified, wantErr: []string{"envelope"},
		},
		{
			name: "referrers list of 100000 entries", kind: testregistry.GGCR,
			setup:    func(e *hostileEnv) testregistry.Rule { return pages(100000, 100000) },
			wantCode: exitError, wantErr: []string{"over 4194304 bytes"},
		},
		{
			name: "referrers list of 100000 entries in pages of 1000", kind: testregistry.GGCR,
			setup:    func(e *hostileEnv) testregistry.Rule { return pages(100000, 1000) },
			wantCode: exitError, wantErr: []string{"more than 10000 referrers"},
		},
		{
			name: "referrers index of 100000 entries (fallback)", kind: testregistry.Distribution,
			setup: func(e *hostileEnv) testregistry.Rule {
				tag := "sha256-" + e.image.Digest.Encoded()
				return func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
					if !testregistry.IsManifest(r, tag) {
						return false
					}
					streamReferrersPage(w, 0, 100000)
					return true
				}
			},
			wantCode: exitError, wantErr: []string{"over the limit"},
		},
		{
			name: "paging links that loop", kind: testregistry.GGCR,
			setup: func(e *hostileEnv) testregistry.Rule {
				return func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
					if !testregistry.IsReferrers(r) {
						return false
					}
					rec := testregistry.Record(next, r)
					rec.Header().Set("Link", "<"+r.URL.Path+`?n=5>; rel="next"`)
					if r.URL.Query().Get("n") != "" {
						rec.Header().Set("Link", "<"+r.URL.Path+`?artifactType=`+spec.ArtifactTypeSignature+`>; rel="next"`)
					}
					testregistry.Reply(w, rec, rec.Code, rec.Body.Bytes())
					return true
				}
			},
			wantCode: exitError, wantErr: []string{"loop"},
		},
		{
			name: "paging link to another host", kind: testregistry.GGCR,
			setup: func(e *hostileEnv) testregistry.Rule {
				return func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
					if !testregistry.IsReferrers(r) {
						return false
					}
					rec := testregistry.Record(next, r)
					rec.Header().Set("Link", `<http://attacker.invalid`+r.URL.Path+`?page=2>; rel="next"`)
					testregistry.Reply(w, rec, rec.Code, rec.Body.Bytes())
					return true
				}
			},
			wantCode: exitError, wantErr: []string{"leaves", "refused"},
		},
		{
			name: "signature manifest served with another media type", kind: testregistry.GGCR,
			setup: func(e *hostileEnv) testregistry.Rule {
				return func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
					if !isSigManifest(e)(r) {
						return false
					}
					rec := testregistry.Record(next, r)
					rec.Header().Set("Content-Type", "text/html")
					testregistry.Reply(w, rec, rec.Code, rec.Body.Bytes())
					return true
				}
			},
			wantCode: exitNotVerified, wantErr: []string{"Content-Type"},
		},
		{
			name: "signature listed as an index", kind: testregistry.GGCR,
			setup: func(e *hostileEnv) testregistry.Rule {
				return listOnly(ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: e.sig, Size: 500})
			},
			wantCode: exitNotVerified, wantErr: []string{"media type", ocispec.MediaTypeImageIndex},
		},
		{
			name: "envelope layer of another media type", kind: testregistry.GGCR,
			setup: func(e *hostileEnv) testregistry.Rule {
				return listOnly(e.craftSignature(e.envelopeOf(), func(m *ocispec.Manifest) { m.Layers[0].MediaType = "application/octet-stream" }))
			},
			wantCode: exitNotVerified, wantErr: []string{"layer media type"},
		},
		{
			name: "truncated envelope", kind: testregistry.GGCR,
			setup: func(e *hostileEnv) testregistry.Rule {
				return func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
					if !testregistry.IsBlob(r) {
						return false
					}
					testregistry.Truncate(w, testregistry.Record(next, r))
					return true
				}
			},
			wantCode: exitNotVerified, wantErr: []string{"unexpected EOF"},
		},
		{
			name: "truncated referrers answer", kind: testregistry.GGCR,
			setup: func(e *hostileEnv) testregistry.Rule {
				return func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
					if !testregistry.IsReferrers(r) {
						return false
					}
					testregistry.Truncate(w, testregistry.Record(next, r))
					return true
				}
			},
			wantCode: exitError, wantErr: []string{"unexpected EOF"},
		},
		{
			name: "invalid JSON referrers answer", kind: testregistry.GGCR,
			setup: func(e *hostileEnv) testregistry.Rule {
				return rewriteBody(testregistry.IsReferrers, func(b []byte) []byte { return b[:len(b)/2] })
			},
			wantCode: exitError, wantErr: []string{"decode referrers page"},
		},
		{
			name: "invalid JSON signature manifest", kind: testregistry.GGCR,
			setup: func(e *hostileEnv) testregistry.Rule {
				raw := []byte(`{"schemaVersion": 2, "layers": [`)
				d := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, raw)
				return serveManifest(d, raw, listOnly(d))
			},
			wantCode: exitNotVerified, wantErr: []string{"not a JSON manifest"},
		},
		{
			name: "invalid JSON envelope", kind: testregistry.GGCR,
			setup: func(e *hostileEnv) testregistry.Rule {
				return listOnly(e.craftSignature([]byte(`{"payload": "`), nil))
			},
			wantCode: exitNotVerified, wantErr: []string{"integrity"},
		},
		{
			name: "registry stalls mid-envelope", kind: testregistry.GGCR,
			setup: func(e *hostileEnv) testregistry.Rule {
				return func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
					if !testregistry.IsBlob(r) {
						return false
					}
					testregistry.Stall(w, r, testregistry.Record(next, r))
					return true
				}
			},
			args:     []string{"--timeout", "2s"},
			wantCode: exitError, wantErr: []string{"did not complete", "--timeout"},
		},
		{
			name: "registry stalls mid-listing", kind: testregistry.GGCR,
			setup: func(e *hostileEnv) testregistry.Rule {
				return func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
					if !testregistry.IsReferrers(r) {
						return false
					}
					testregistry.Stall(w, r, testregistry.Record(next, r))
					return true
				}
			},
			args:     []string{"--timeout", "2s"},
			wantCode: exitError, wantErr: []string{"--timeout"},
		},
		{
			name: "registry stalls mid-index (fallback)", kind: testregistry.Distribution,
			setup: func(e *hostileEnv) testregistry.Rule {
				tag := "sha256-" + e.image.Digest.Encoded()
				return func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
					if !testregistry.IsManifest(r, tag) || r.Method != http.MethodGet {
						return false
					}
					testregistry.Stall(w, r, testregistry.Record(next, r))
					return true
				}
			},
			args:     []string{"--timeout", "2s"},
			wantCode: exitError, wantErr: []string{"--timeout"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newHostileEnv(t, tt.kind)
			if rule := tt.setup(e); rule != nil {
				e.h.Set(rule)
			}
			args := append([]string{"verify", "--timeout", "10s", "--cert", e.cert}, tt.args...)
			r := e.c.runMeasured(append(args, e.ref)...)
			t.Logf("exit %d after %s, peak memory %d MiB, %d bytes sent by the registry\n%s", r.code, r.elapsed.Round(time.Millisecond), r.maxRSS>>20, e.h.BytesWritten(), r.stderr)
			if r.code != tt.wantCode {
				t.Errorf("exit %d, want %d\nstdout:\n%s", r.code, tt.wantCode, r.stdout)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("the error does not say %q", want)
				}
			}
			if strings.Contains(r.stdout, "Verified") {
				t.Errorf("reported as verified:\n%s", r.stdout)
			}
			maxTime := tt.maxTime
			if maxTime == 0 {
				maxTime = 10 * time.Second
			}
			if r.elapsed > maxTime {
				t.Errorf("took %s, want at most %s", r.elapsed, maxTime)
			}
			if r.maxRSS > maxHostileRSS {
				t.Errorf("peak memory %d MiB, want at most %d MiB", r.maxRSS>>20, maxHostileRSS>>20)
			}
		})
	}
}

// streamReferrersPage answers with page p (of size descriptors) of a fake
// referrers listing, with its Content-Length and digest, writing it as it
// is made: the test process never holds a 20 MB page.
func streamReferrersPage(w http.ResponseWriter, p, size int) {
	write := func(out io.Writer) {
		bw := bufio.NewWriter(out)
		bw.WriteString(`{"schemaVersion":2,"mediaType":"` + ocispec.MediaTypeImageIndex + `","manifests":[`)
		for i := range size {
			if i > 0 {
				bw.WriteByte(',')
			}
			fmt.Fprintf(bw, `{"mediaType":%q,"artifactType":%q,"digest":%q,"size":500}`, ocispec.MediaTypeImageManifest, spec.ArtifactTypeSignature, digest.FromString(fmt.Sprint(p*size+i)))
		}
		bw.WriteString("]}")
		_ = bw.Flush()
	}
	d := digest.Canonical.Digester()
	var n countBytes
	write(io.MultiWriter(d.Hash(), &n))
	w.Header().Set("Content-Type", ocispec.MediaTypeImageIndex)
	w.Header().Set("Docker-Content-Digest", d.Digest().String())
	w.Header().Set("Content-Length", strconv.FormatInt(int64(n), 10))
	w.WriteHeader(http.StatusOK)
	write(w)
}

// countBytes is an io.Writer that counts.
type countBytes int64

func (c *countBytes) Write(b []byte) (int, error) { *c += countBytes(len(b)); return len(b), nil }

// envelopeOf returns the genuine signature's envelope.
func (e *hostileEnv) envelopeOf() []byte {
	ctx := context.Background()
	tg := e.target()
	refs, err := tg.Referrers(ctx, e.image, spec.ArtifactTypeSignature)
	if err != nil || len(refs) == 0 {
		e.t.Fatalf("%d referrers, %v", len(refs), err)
	}
	sig, err := trust.FetchSignature(ctx, tg, refs[0])
	if err != nil {
		e.t.Fatal(err)
	}
	return sig.Envelope
}

// target is the repository as nv2's registry package sees it.
func (e *hostileEnv) target() registry.Storage {
	client, err := registry.NewClient(registry.Options{PlainHTTP: true, DockerConfig: e.t.TempDir()})
	if err != nil {
		e.t.Fatal(err)
	}
	ref, _ := registry.ParseReference(e.reg.Host+"/hostile", "")
	tg, err := client.Repository(ref)
	if err != nil {
		e.t.Fatal(err)
	}
	return tg
}

// replay pushes a new image, victim:v1, and as its only signature the
// genuine envelope of e.image by the trusted key (a signature replayed from
// another image), as an attacker would: nv2 attach refuses it. Verify
// must then check victim:v1, whose digest that envelope does not sign.
func (e *hostileEnv) replay() {
	victim := testregistry.PushImage(e.t, e.reg, "hostile", "victim", "victim-"+e.t.Name())
	env := e.envelopeOf()
	sigFile := filepath.Join(e.c.dir, "replayed.jws")
	if err := os.WriteFile(sigFile, env, 0o644); err != nil {
		e.t.Fatal(err)
	}
	victimRef := e.reg.Host + "/hostile:victim"
	if r := e.c.must(exitError, "attach", "--signature", sigFile, victimRef); !strings.Contains(r.stderr, "signs another artifact") {
		e.t.Fatalf("attach of a replayed envelope:\n%s", r.stderr)
	}
	envs := []testregistry.Envelope{{Data: env, Thumbprints: []string{thumbprintOf(e.t, e.cert)}}}
	if _, err := testregistry.PushSignatures(context.Background(), e.reg.Host, "hostile", victim, envs, 1); err != nil {
		e.t.Fatal(err)
	}
	e.ref = victimRef
}

// thumbprintOf is the SHA-256 thumbprint of the first certificate in file.
func thumbprintOf(t *testing.T, file string) string {
	t.Helper()
	certs, err := nvcrypto.LoadCertificates(file)
	if err != nil {
		t.Fatal(err)
	}
	return nvcrypto.Thumbprint(certs[0])
}
