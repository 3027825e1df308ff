package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/nv2-signing/nv2/internal/testregistry"
	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/signature"
	"github.com/nv2-signing/nv2/pkg/spec"
)

// killAfter lets n requests reach the registry, then drops the connection
// of every later one, as a registry that went away would.
func killAfter(n int64) testregistry.Rule {
	var seen atomic.Int64
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if seen.Add(1) <= n {
			return false
		}
		testregistry.Drop(w)
		return true
	}
}

// signatureCount is how many signatures `nv2 discover -o json` lists for ref.
func signatureCount(c *cliUser, ref string) int {
	c.t.Helper()
	var d discoverResult
	decode(c.t, c.must(0, "discover", "-o", "json", "--artifact-type", spec.ArtifactTypeSignature, ref).stdout, &d)
	return len(d.Referrers)
}

// TestRegistryGoesAwayMidCommand stops the registry at every request of a
// sign and of a copy in turn: the command must not claim success, and
// running it again must complete and leave exactly one signature listed.
func TestRegistryGoesAwayMidCommand(t *testing.T) {
	for _, kind := range testregistry.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			c := newCLI(t)
			key, cert := c.keys("signer")
			layout := buildLayout(t)
			c.must(0, "sign", "--oci-layout", "--key", key, "--cert", cert, layout+":v1")
			commands := []struct {
				name    string
				args    func(ref string) []string
				success string // what the output says on success
				image   bool   // push an image first
			}{
				{"sign", func(ref string) []string { return []string{"sign", "--key", key, "--cert", cert, ref} }, "Signed", true},
				{"copy", func(ref string) []string { return []string{"copy", "--from-oci-layout", layout + ":v1", ref} }, "Copied", false},
			}
			for _, cmd := range commands {
				// Each attempt gets a new registry, so that every one sends
				// the requests of a first push.
				start := func() (*testregistry.Registry, *testregistry.Hostile, string) {
					h := &testregistry.Hostile{}
					reg := testregistry.Start(t, kind, testregistry.Options{Wrap: h.Wrap})
					if cmd.image {
						testregistry.PushImage(t, reg, "app", "v1", "goes-away")
					}
					reg.Reset()
					return reg, h, reg.Host + "/app:v1"
				}
				reg, _, ref := start()
				c.must(0, cmd.args(ref)...)
				total := reg.Count()
				t.Logf("%s: %d requests when all goes well", cmd.name, total)
				for k := 0; k < total; k++ {
					_, h, ref := start()
					h.Set(killAfter(int64(k)))
					r := c.run(cmd.args(ref)...)
					h.Set(nil)
					if r.code == 0 || strings.Contains(r.stdout, cmd.success) {
						t.Errorf("%s with the registry gone at request %d: exit %d, stdout:\n%s", cmd.name, k+1, r.code, r.stdout)
						continue
					}
					again := c.run(cmd.args(ref)...)
					if again.code != 0 {
						t.Errorf("%s again after the registry went away at request %d: exit %d\n%s", cmd.name, k+1, again.code, again.stderr)
						continue
					}
					if n := signatureCount(c, ref); n != 1 {
						t.Errorf("%s, registry gone at request %d, then again: %d signatures listed, want 1\nfirst run:\n%s", cmd.name, k+1, n, r.stderr)
					}
					c.must(0, "verify", "--cert", cert, ref)
				}
			}
		})
	}
}

// failFirst answers the first attempt of every distinct request with an
// error status, and lets the retries through: the first one gets statuses[0],
// later ones the rest in turn.
func failFirst(statuses ...int) testregistry.Rule {
	var mu sync.Mutex
	seen := map[string]bool{}
	n := 0
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		key := r.Method + " " + r.URL.Path
		mu.Lock()
		first := !seen[key]
		seen[key] = true
		status := statuses[0]
		if n > 0 {
			status = statuses[1+(n-1)%(len(statuses)-1)]
		}
		if first {
			n++
		}
		mu.Unlock()
		if !first {
			return false
		}
		if status == http.StatusTooManyRequests {
			// A registry may ask for any wait: nv2 caps it.
			w.Header().Set("Retry-After", "3600")
		}
		w.WriteHeader(status)
		return true
	}
}

// TestTransientErrorsAreRetried: 429 and 5xx answers are retried with
// backoff, a Retry-After of an hour is capped, and sign, copy and verify
// succeed.
func TestTransientErrorsAreRetried(t *testing.T) {
	for _, kind := range testregistry.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			h := &testregistry.Hostile{}
			reg := testregistry.Start(t, kind, testregistry.Options{Wrap: h.Wrap})
			c := newCLI(t)
			key, cert := c.keys("signer")
			layout := buildLayout(t)
			ref := reg.Host + "/app:v1"
			// One 429 asking for an hour, then 5xx answers.
			h.Set(failFirst(http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusInternalServerError, http.StatusGatewayTimeout))
			start := time.Now()
			for _, args := range [][]string{
				{"copy", "--from-oci-layout", layout + ":v1", ref},
				{"sign", "--key", key, "--cert", cert, ref},
				{"verify", "--cert", cert, ref},
			} {
				if r := c.runMeasured(args...); r.code != 0 {
					t.Fatalf("nv2 %s: exit %d\n%s", args[0], r.code, r.stderr)
				}
			}
			elapsed := time.Since(start)
			failed := 0
			for _, r := range reg.Requests() {
				if r.Status >= 429 {
					failed++
				}
			}
			t.Logf("%s: %d requests answered with an error and retried; %s", kind, failed, elapsed.Round(time.Millisecond))
			if failed < 5 {
				t.Errorf("%s: only %d requests failed: the test did not exercise the retries", kind, failed)
			}
			if elapsed > 25*time.Second {
				t.Errorf("%s: %s: the Retry-After of an hour was not capped", kind, elapsed)
			}
		})
	}
}

// TestPersistentErrorsGiveUp: a registry that always answers 503 gets a
// bounded number of attempts with backoff, then an error that names it.
func TestPersistentErrorsGiveUp(t *testing.T) {
	t.Parallel()
	h := &testregistry.Hostile{}
	reg := testregistry.Start(t, testregistry.GGCR, testregistry.Options{Wrap: h.Wrap})
	testregistry.PushImage(t, reg, "app", "v1", "503")
	h.Set(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	})
	c := newCLI(t)
	_, cert := c.keys("signer")
	reg.Reset()
	start := time.Now()
	r := c.run("verify", "--cert", cert, reg.Host+"/app:v1")
	elapsed := time.Since(start)
	t.Logf("exit %d after %s, %d requests\n%s", r.code, elapsed.Round(time.Millisecond), reg.Count(), r.stderr)
	if r.code != exitError || !strings.Contains(r.stderr, "503") || !strings.Contains(r.stderr, reg.Host) {
		t.Errorf("exit %d, want 1 with an error naming the registry and the 503", r.code)
	}
	// One request, retried 5 times with exponential backoff (0.25s doubling,
	// at most 3s a wait): about 7s.
	if n := reg.Count(); n != 6 {
		t.Errorf("%d attempts, want 6 (one and five retries): %v", n, reg.Requests())
	}
	if elapsed < 3*time.Second || elapsed > 20*time.Second {
		t.Errorf("gave up after %s: no backoff, or no cap", elapsed)
	}
}

// TestUnreachableRegistryHints: errors name the registry and the likely fix.
func TestUnreachableRegistryHints(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	plain := testregistry.Start(t, testregistry.Distribution)
	auth := testregistry.Start(t, testregistry.Distribution, testregistry.Options{Username: "alice", Password: "s3cret"})
	testregistry.PushImage(t, plain, "app", "v1", "hints")
	c := newCLI(t)
	_, cert := c.keys("signer")
	for _, tt := range []struct {
		name  string
		args  []string
		wants []string
	}{
		{"connection refused", []string{closed + "/app:v1"}, []string{closed, "is the registry running"}},
		{"connection refused over HTTPS", []string{"--insecure", closed + "/app:v1"}, []string{closed, "is the registry running", "--plain-http"}},
		{"DNS failure", []string{"nv2-no-such-registry.invalid/app:v1"}, []string{"nv2-no-such-registry.invalid", "cannot resolve"}},
		{"HTTPS to an HTTP registry", []string{"--insecure", plain.Host + "/app:v1"}, []string{plain.Host, "--plain-http"}},
		{"credentials needed", []string{auth.Host + "/app:v1"}, []string{auth.Host, "docker login"}},
		{"wrong credentials", []string{"-u", "alice", "-p", "not-the-pa55word", auth.Host + "/app:v1"}, []string{auth.Host, "-u/-p"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := c.run(append([]string{"verify", "--timeout", "20s", "--cert", cert}, tt.args...)...)
			t.Log(r.stderr)
			if r.code != exitError {
				t.Errorf("exit %d, want 1", r.code)
			}
			for _, want := range tt.wants {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("the error does not say %q", want)
				}
			}
			if strings.Contains(r.stdout+r.stderr, "not-the-pa55word") {
				t.Errorf("the password appears in the output")
			}
		})
	}
}

// TestConcurrentSignProcesses: 20 nv2 sign processes at once, each with its
// own key, on one image of CNCF distribution (no referrers API: every signer
// rewrites the one referrers index tag). All 20 signatures must be
// discoverable afterwards, by nv2 and by another client reading the tag.
// scripts/concurrent-sign.sh does the same against a registry process.
func TestConcurrentSignProcesses(t *testing.T) {
	const signers = 20
	reg := testregistry.Start(t, testregistry.Distribution)
	img := testregistry.PushImage(t, reg, "net-monitor", "v1", "concurrent")
	reg.SetDelay(5 * time.Millisecond) // a registry a little further away: more overlap
	c := newCLI(t)
	keys, certs := make([]string, signers), make([]string, signers)
	for i := range signers {
		creds, err := nvcrypto.Generate(nvcrypto.GenerateOptions{CommonName: fmt.Sprintf("signer-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		p, err := nvcrypto.WriteCredentials(filepath.Join(c.dir, "keys"), fmt.Sprintf("signer-%d", i), creds, false)
		if err != nil {
			t.Fatal(err)
		}
		keys[i], certs[i] = p.Key, p.Cert
	}
	ref := reg.Host + "/net-monitor:v1"
	cmds := make([]*exec.Cmd, signers)
	outs := make([]*bytes.Buffer, signers)
	errs := make([]*bytes.Buffer, signers)
	for i := range signers {
		cmds[i] = exec.Command(nv2Bin, "sign", "-o", "json", "--timeout", "60s", "--key", keys[i], "--cert", certs[i], ref)
		cmds[i].Env = c.env
		outs[i], errs[i] = &bytes.Buffer{}, &bytes.Buffer{}
		cmds[i].Stdout, cmds[i].Stderr = outs[i], errs[i]
	}
	start := time.Now()
	for _, cmd := range cmds {
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	signed := map[string]bool{}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("signer %d: %v\n%s", i, err, errs[i])
			continue
		}
		var r signResult
		decode(t, outs[i].String(), &r)
		signed[r.Signature.Digest] = true
	}
	t.Logf("%d signers in %s, %d requests", signers, time.Since(start).Round(time.Millisecond), reg.Count())
	reg.SetDelay(0)

	var d discoverResult
	decode(t, c.must(0, "discover", "-o", "json", ref).stdout, &d)
	listed := map[string]bool{}
	for _, n := range d.Referrers {
		listed[n.Digest] = true
	}
	// Another client: the referrers tag schema index, read with oras-go.
	repo, err := remote.NewRepository(reg.Host + "/net-monitor")
	if err != nil {
		t.Fatal(err)
	}
	repo.PlainHTTP = true
	_, raw, err := oras.FetchBytes(context.Background(), repo, "sha256-"+img.Digest.Encoded(), oras.DefaultFetchBytesOptions)
	if err != nil {
		t.Fatal(err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(raw, &idx); err != nil {
		t.Fatal(err)
	}
	inIndex := map[string]bool{}
	for _, m := range idx.Manifests {
		inIndex[m.Digest.String()] = true
	}
	if len(signed) != signers || len(listed) != signers || len(inIndex) != signers {
		t.Errorf("%d signed, nv2 discover lists %d, the index tag holds %d; want %d each", len(signed), len(listed), len(inIndex), signers)
	}
	for s := range signed {
		if !listed[s] || !inIndex[s] {
			t.Errorf("signature %s: listed by nv2 %v, in the index %v", s, listed[s], inIndex[s])
		}
	}
	for _, i := range []int{0, signers / 2, signers - 1} {
		c.must(0, "verify", "--cert", certs[i], ref)
	}
}

// flood pushes n junk signatures of img, from untrusted keys, straight into
// the registry as any client with push access could (on a registry without
// the referrers API, all listed in one write of the referrers index). The
// first claim of them carry the thumbprint hint of claimCert, copied from
// its public signature; the rest name their own, untrusted, certificates.
func flood(t *testing.T, reg *testregistry.Registry, repo string, img ocispec.Descriptor, n, claim int, claimCert string) {
	t.Helper()
	ctx := context.Background()
	r, err := remote.NewRepository(reg.Host + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	r.PlainHTTP = true
	// oras-go must not maintain the referrers index: it is written once below.
	if err := r.SetReferrersCapability(true); err != nil {
		t.Fatal(err)
	}
	push := func(mediaType string, b []byte) ocispec.Descriptor {
		d := content.NewDescriptorFromBytes(mediaType, b)
		if err := r.Push(ctx, d, bytes.NewReader(b)); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
			t.Fatal(err)
		}
		return d
	}
	config := push(spec.ArtifactTypeSignature, []byte("{}"))
	// A few junk signers, each envelope a genuine signature of img by an
	// untrusted key; the manifests differ by their creation time.
	const keys = 8
	layers := make([]ocispec.Descriptor, keys)
	hints := make([]string, keys)
	for i := range keys {
		creds, err := nvcrypto.Generate(nvcrypto.GenerateOptions{CommonName: fmt.Sprintf("junk-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		signer, err := signature.NewSigner(creds.Key, creds.Chain)
		if err != nil {
			t.Fatal(err)
		}
		env, err := signer.Sign(signature.SignRequest{Target: img})
		if err != nil {
			t.Fatal(err)
		}
		layers[i] = push(spec.MediaTypeEnvelope, env)
		hints[i] = `["` + nvcrypto.Thumbprint(creds.Chain[0]) + `"]`
	}
	claimed := `["` + thumbprintOf(t, claimCert) + `"]`
	entries := make([]ocispec.Descriptor, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		hint := hints[i%keys]
		if i < claim {
			hint = claimed
		}
		subject := img
		m := ocispec.Manifest{
			Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
			ArtifactType: spec.ArtifactTypeSignature, Config: config, Layers: []ocispec.Descriptor{layers[i%keys]}, Subject: &subject,
			Annotations: map[string]string{spec.AnnotationThumbprints: hint, spec.AnnotationCreated: time.Unix(int64(i), 0).UTC().Format(time.RFC3339)},
		}
		raw, _ := json.Marshal(m)
		d := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, raw)
		d.ArtifactType, d.Annotations = m.ArtifactType, m.Annotations
		entries[i] = d
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := r.Push(ctx, d, bytes.NewReader(raw)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if reg.Kind == testregistry.Distribution {
		idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: entries}
		raw, _ := json.Marshal(idx)
		d := content.NewDescriptorFromBytes(ocispec.MediaTypeImageIndex, raw)
		if err := r.PushReference(ctx, d, bytes.NewReader(raw), "sha256-"+img.Digest.Encoded()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSignatureFlood: anyone who can push to a repository can add thousands
// of signatures from untrusted keys. Verification must still succeed, at the
// cost of a verification without them, when a trusted signature exists;
// without one it fails with 4 after a bounded number of attempts and says so.
func TestSignatureFlood(t *testing.T) {
	const junk = 2000
	for _, kind := range testregistry.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			reg := testregistry.Start(t, kind)
			c := newCLI(t)
			key, cert := c.keys("trusted")
			// One repository each: a registry lists referrers per repository.
			ref := func(tag string) string { return reg.Host + "/flooded-" + tag + ":v1" }
			testregistry.PushImage(t, reg, "flooded-clean", "v1", "flood-clean")
			img := testregistry.PushImage(t, reg, "flooded-img", "v1", "flood")
			only := testregistry.PushImage(t, reg, "flooded-junk-only", "v1", "flood-junk-only")
			claims := testregistry.PushImage(t, reg, "flooded-claims", "v1", "flood-claims")

			// The cost of verifying with no junk at all.
			c.must(0, "sign", "--key", key, "--cert", cert, ref("clean"))
			reg.Reset()
			c.must(0, "verify", "--cert", cert, ref("clean"))
			baseline := reg.Count()

			start := time.Now()
			flood(t, reg, "flooded-img", img, junk, 0, cert)
			flood(t, reg, "flooded-junk-only", only, junk, 0, cert)
			// Junk that copies the trusted signer's hint, fewer than the
			// attempt limit: tried first, fully verified, refused.
			flood(t, reg, "flooded-claims", claims, 200, 30, cert)
			t.Logf("%d junk signatures pushed twice, 200 once, in %s", junk, time.Since(start).Round(time.Millisecond))
			c.must(0, "sign", "--key", key, "--cert", cert, ref("img"))
			c.must(0, "sign", "--key", key, "--cert", cert, ref("claims"))

			reg.Reset()
			v := c.runMeasured("verify", "-o", "json", "--cert", cert, ref("img"))
			if v.code != 0 {
				t.Fatalf("verify of a flooded image with a trusted signature: exit %d\n%s", v.code, v.stderr)
			}
			var res verifyResults
			decode(t, v.stdout, &res)
			t.Logf("flooded, trusted signature: %d requests (%d without junk), %d found, %d tried, %s", reg.Count(), baseline, res[0].Found, res[0].Tried, v.elapsed.Round(time.Millisecond))
			if res[0].Found != junk+1 || res[0].Tried != 1 {
				t.Errorf("found %d, tried %d; want %d found and the trusted one tried first", res[0].Found, res[0].Tried, junk+1)
			}
			if reg.Count() > baseline {
				t.Errorf("%d requests with the junk, %d without: the junk cost requests", reg.Count(), baseline)
			}

			reg.Reset()
			v = c.runMeasured("verify", "-o", "json", "--cert", cert, ref("claims"))
			if v.code != 0 {
				t.Fatalf("verify with 30 junk signatures claiming the trusted thumbprint: exit %d\n%s", v.code, v.stderr)
			}
			decode(t, v.stdout, &res)
			t.Logf("flooded, 30 claim the trusted hint: %d requests, %d tried, %s", reg.Count(), res[0].Tried, v.elapsed.Round(time.Millisecond))
			if res[0].Tried > 31 {
				t.Errorf("tried %d signatures, want at most the 31 whose hint names the trusted certificate", res[0].Tried)
			}

			reg.Reset()
			v = c.runMeasured("verify", "-o", "json", "--cert", cert, ref("junk-only"))
			decode(t, v.stdout, &res)
			t.Logf("flooded, no trusted signature: exit %d, %d requests, %d tried, %s: %s", v.code, reg.Count(), res[0].Tried, v.elapsed.Round(time.Millisecond), res[0].Error)
			if v.code != exitNotVerified {
				t.Errorf("exit %d, want 4", v.code)
			}
			if res[0].Tried != 50 || !strings.Contains(res[0].Error, "limit is 50") || !strings.Contains(res[0].Error, fmt.Sprint(junk)) {
				t.Errorf("tried %d (want 50, the default limit), error %q: it should say how many were found and the limit", res[0].Tried, res[0].Error)
			}
			if max := baseline + 2*50; reg.Count() > max {
				t.Errorf("%d requests, want at most %d", reg.Count(), max)
			}
			if v.elapsed > 20*time.Second {
				t.Errorf("took %s", v.elapsed)
			}
		})
	}
}

// TestSignResumesOnlyTheSameRequest: after a push that did not complete,
// the same sign command pushes the same envelope; a different request
// (other signed metadata, another key) signs afresh.
func TestSignResumesOnlyTheSameRequest(t *testing.T) {
	h := &testregistry.Hostile{}
	reg := testregistry.Start(t, testregistry.GGCR, testregistry.Options{Wrap: h.Wrap})
	testregistry.PushImage(t, reg, "app", "v1", "resume")
	c := newCLI(t)
	key, cert := c.keys("signer")
	otherKey, otherCert := c.keys("other")
	ref := reg.Host + "/app:v1"
	// The registry goes away at the signature manifest's PUT.
	h.Set(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
			testregistry.Drop(w)
			return true
		}
		return false
	})
	first := c.run("sign", "--key", key, "--cert", cert, ref)
	if first.code == 0 || !strings.Contains(first.stderr, "run the same command again") {
		t.Fatalf("interrupted sign: exit %d\n%s", first.code, first.stderr)
	}
	h.Set(nil)
	var a, b, again signResult
	decode(t, c.must(0, "sign", "-o", "json", "-a", "build=2", "--key", key, "--cert", cert, ref).stdout, &a)
	decode(t, c.must(0, "sign", "-o", "json", "--key", otherKey, "--cert", otherCert, ref).stdout, &b)
	r := c.must(0, "sign", "-o", "json", "--key", key, "--cert", cert, ref)
	decode(t, r.stdout, &again)
	if !strings.Contains(r.stderr, "resuming the signature") {
		t.Errorf("the same command did not resume the interrupted signature:\n%s", r.stderr)
	}
	if a.Signature.Digest == again.Signature.Digest || b.Signature.Digest == again.Signature.Digest {
		t.Errorf("other requests reused the pending signature")
	}
	// Pushed: nothing is pending any more, the next run signs afresh.
	r = c.must(0, "sign", "-o", "json", "--key", key, "--cert", cert, ref)
	if strings.Contains(r.stderr, "resuming") {
		t.Errorf("a pushed signature was resumed again:\n%s", r.stderr)
	}
	if n := signatureCount(c, ref); n != 4 {
		t.Errorf("%d signatures, want 4", n)
	}
}
