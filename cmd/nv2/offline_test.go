package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/oci"

	"github.com/nv2-signing/nv2/internal/testregistry"
	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/registry"
	"github.com/nv2-signing/nv2/pkg/spec"
)

// The second goal of the seed: sign right after the build, with no registry
// reachable; push image and signatures later; pull only what verifies.

// netMonitorDigest is the manifest digest of testdata/net-monitor:v1.
const netMonitorDigest = "sha256:0452b6fab6cc640a201010341bea3bd8398bb420efa3dad320fe7d5c56d6f420"

// trap is a TCP listener that stands in for every network destination of
// an offline command: the registry (NV2_REGISTRY) and the HTTP(S) proxy
// that any other host would be reached through. It counts connections.
type trap struct {
	addr string
	mu   sync.Mutex
	hits int
}

func newTrap(t *testing.T) *trap {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tr := &trap{addr: l.Addr().String()}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			tr.mu.Lock()
			tr.hits++
			tr.mu.Unlock()
			conn.Close()
		}
	}()
	return tr
}

// connections returns the number of connections so far and resets it.
func (tr *trap) connections() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	n := tr.hits
	tr.hits = 0
	return n
}

// env sends every connection nv2 could open to the trap.
func (tr *trap) env() []string {
	proxy := "http://" + tr.addr
	return []string{"NV2_REGISTRY=" + tr.addr, "HTTP_PROXY=" + proxy, "HTTPS_PROXY=" + proxy, "ALL_PROXY=" + proxy, "NO_PROXY="}
}

// copyTree copies the folder src to dst (which must not exist).
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// buildLayout is what a build leaves: a copy of testdata/net-monitor (the
// image tagged v1) in a fresh folder.
func buildLayout(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "build")
	copyTree(t, filepath.Join("..", "..", "testdata", "net-monitor"), dir)
	return dir
}

// snapshot maps every path under dir to its mode and content hash: two
// equal snapshots mean a byte-for-byte identical tree. A missing dir gives nil.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		return nil
	}
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		entry := info.Mode().String()
		if !d.IsDir() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			entry += " " + hex.EncodeToString(sum[:])
		}
		out[rel] = entry
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	if before == nil && after == nil {
		return
	}
	if before == nil || after == nil {
		t.Fatalf("%s: the folder was created or removed (existed before: %v, after: %v)", what, before != nil, after != nil)
	}
	var diff []string
	for p, b := range before {
		if a, ok := after[p]; !ok {
			diff = append(diff, "removed "+p)
		} else if a != b {
			diff = append(diff, "changed "+p)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			diff = append(diff, "added "+p)
		}
	}
	if len(diff) > 0 {
		sort.Strings(diff)
		t.Fatalf("%s: the folder changed:\n  %s", what, strings.Join(diff, "\n  "))
	}
}

// writeFile writes b to name in dir and returns its path.
func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// referrerDigests lists the digests of everything that refers, directly or
// not, to the artifact ref names in t (a registry or, with a "layout:"
// prefix, an OCI layout).
func referrerDigests(t *testing.T, ref string) []string {
	t.Helper()
	ctx := context.Background()
	var tg registry.Storage
	var reference string
	if p, ok := strings.CutPrefix(ref, "layout:"); ok {
		r, err := registry.ParseLayoutReference(p)
		if err != nil {
			t.Fatal(err)
		}
		if tg, err = registry.OpenLayout(r.Layout); err != nil {
			t.Fatal(err)
		}
		reference = r.Reference()
	} else {
		r, err := registry.ParseReference(ref, "")
		if err != nil {
			t.Fatal(err)
		}
		client, err := registry.NewClient(registry.Options{DockerConfig: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if tg, err = client.Repository(r); err != nil {
			t.Fatal(err)
		}
		reference = r.Reference()
	}
	desc, err := tg.Resolve(ctx, reference)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := tg.ReferrersTree(ctx, desc, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(n *registry.Node)
	walk = func(n *registry.Node) {
		for _, r := range n.Referrers {
			out = append(out, r.Digest.String())
			walk(r)
		}
	}
	walk(tree)
	sort.Strings(out)
	return out
}

func TestOfflineCommandsNeverTouchTheNetwork(t *testing.T) {
	tr := newTrap(t)
	c := newCLI(t, tr.env()...)
	key, cert := c.keys("build-signer")
	_, strangerCert := c.keys("stranger")
	// The trap works: commands that need a registry reach it, directly
	// (NV2_REGISTRY) or through the proxy (any other host).
	for _, ref := range []string{"net-monitor:v1", "registry.example/net-monitor:v1"} {
		c.must(exitError, "verify", "--cert", cert, ref)
		if n := tr.connections(); n == 0 {
			t.Fatalf("verify %s did not reach the trap: it would not notice offline commands connecting either", ref)
		}
	}
	layout := buildLayout(t)
	dir := filepath.Dir(layout)

	// Sign in the layout, as the build finishes.
	r := c.must(0, "sign", "--oci-layout", "--key", key, "--cert", cert, layout+":v1")
	if !strings.Contains(r.stdout, "Signed "+layout+"@"+netMonitorDigest) {
		t.Fatalf("sign --oci-layout output:\n%s", r.stdout)
	}
	if d := c.must(0, "discover", "--oci-layout", layout+":v1").stdout; !strings.Contains(d, spec.ArtifactTypeSignature) {
		t.Fatalf("the signature is not in the layout:\n%s", d)
	}
	v := c.must(0, "verify", "--oci-layout", "--cert", cert, layout+":v1")
	if !strings.Contains(v.stdout, "Verified "+layout+"@"+netMonitorDigest) {
		t.Fatalf("verify --oci-layout output:\n%s", v.stdout)
	}
	c.must(0, "verify", "--oci-layout", "--cert", cert, layout+"@"+netMonitorDigest)
	c.must(exitNotVerified, "verify", "--oci-layout", "--cert", strangerCert, layout+":v1")
	c.must(0, "inspect", "--oci-layout", layout+":v1")

	// --signature-only in a layout writes the envelope and nothing else.
	before := snapshot(t, layout)
	sigLayout := filepath.Join(dir, "from-layout.jws")
	c.must(0, "sign", "--oci-layout", "--signature-only", "--signature-out", sigLayout, "--key", key, "--cert", cert, layout+":v1")
	sameTree(t, "sign --signature-only", before, snapshot(t, layout))

	// A manifest file: digest and size computed here, envelope to a file.
	manifest, err := os.ReadFile(filepath.Join(layout, "blobs", "sha256", strings.TrimPrefix(netMonitorDigest, "sha256:")))
	if err != nil {
		t.Fatal(err)
	}
	manifestFile := writeFile(t, dir, "manifest.json", manifest)
	sig := filepath.Join(dir, "manifest.jws")
	var signed signResult
	decode(t, c.must(0, "sign", "-o", "json", "--manifest", manifestFile, "--signature-out", sig, "--key", key, "--cert", cert).stdout, &signed)
	if signed.Subject.Digest != netMonitorDigest || signed.Subject.Size != int64(len(manifest)) ||
		signed.Subject.MediaType != ocispec.MediaTypeImageManifest || signed.Signature != nil || signed.SignatureFile != sig {
		t.Fatalf("sign --manifest JSON: %+v", signed)
	}
	var vr verifyResults
	decode(t, c.must(0, "verify", "-o", "json", "--cert", cert, "--signature", sig, "--manifest", manifestFile).stdout, &vr)
	if len(vr) != 1 || vr[0].Status != "verified" || vr[0].Verified != manifestFile+"@"+netMonitorDigest {
		t.Fatalf("verify --signature JSON: %+v", vr)
	}
	c.must(0, "verify", "--cert", cert, "--signature", sigLayout, "--manifest", manifestFile)
	c.must(exitNotVerified, "verify", "--cert", strangerCert, "--signature", sig, "--manifest", manifestFile)

	// A trust policy covers files and layouts through its "*" scope.
	c.must(0, "cert", "add", "--store", "build", cert)
	policy := writeFile(t, dir, "policy.json", []byte(`{"version":"1.0","trustPolicies":[{"name":"everything","registryScopes":["*"],`+
		`"signatureVerification":{"level":"strict"},"trustStores":["ca:build"],"trustedIdentities":["*"]}]}`))
	c.must(0, "verify", "--policy", policy, "--signature", sig, "--manifest", manifestFile)
	c.must(0, "verify", "--policy", policy, "--oci-layout", layout+":v1")
	scoped := writeFile(t, dir, "scoped.json", []byte(`{"version":"1.0","trustPolicies":[{"name":"one-repo","registryScopes":["registry.example/app"],`+
		`"signatureVerification":{"level":"strict"},"trustStores":["ca:build"],"trustedIdentities":["*"]}]}`))
	if r := c.must(exitError, "verify", "--policy", scoped, "--signature", sig, "--manifest", manifestFile); !strings.Contains(r.stderr, `"*"`) {
		t.Fatalf("a policy that does not cover files should say which scope does:\n%s", r.stderr)
	}

	if n := tr.connections(); n != 0 {
		t.Fatalf("offline commands opened %d network connections", n)
	}
}

func TestSignManifestMediaType(t *testing.T) {
	c := newCLI(t)
	key, cert := c.keys("media-signer")
	dir := t.TempDir()
	img := testregistry.NewImage("media")
	var m map[string]any
	if err := json.Unmarshal(img.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "mediaType")
	bare, _ := json.Marshal(m)
	bareFile := writeFile(t, dir, "bare.json", bare)
	withType := writeFile(t, dir, "typed.json", img.Manifest)
	sig := filepath.Join(dir, "sig.jws")
	sign := func(want int, extra ...string) result {
		t.Helper()
		return c.must(want, append([]string{"sign", "--key", key, "--cert", cert, "--signature-out", sig}, extra...)...)
	}

	if r := sign(exitUsage, "--manifest", bareFile); !strings.Contains(r.stderr, "--media-type") {
		t.Fatalf("no media type anywhere: the refusal should name --media-type:\n%s", r.stderr)
	}
	if _, err := os.Stat(sig); !os.IsNotExist(err) {
		t.Fatal("a refused sign wrote an envelope")
	}
	sign(0, "--manifest", bareFile, "--media-type", ocispec.MediaTypeImageManifest)
	c.must(0, "verify", "--cert", cert, "--signature", sig, "--manifest", bareFile, "--media-type", ocispec.MediaTypeImageManifest)
	// The media type is signed: verifying the same bytes as another type fails.
	c.must(exitNotVerified, "verify", "--cert", cert, "--signature", sig, "--manifest", bareFile, "--media-type", ocispec.MediaTypeImageIndex)

	sign(exitUsage, "--manifest", withType, "--media-type", ocispec.MediaTypeImageIndex)
	sign(exitUsage, "--manifest", bareFile, "--media-type", "text/plain")
	sign(0, "--manifest", withType, "--media-type", ocispec.MediaTypeImageManifest, "--force") // sig exists: replace it
	for _, args := range [][]string{
		{"sign", "--key", key, "--cert", cert, "--manifest", withType},                                  // nowhere to write
		{"sign", "--key", key, "--cert", cert, "--manifest", withType, "--signature-out", sig, "x/y:z"}, // REF too
		{"sign", "--key", key, "--cert", cert, "--signature-only", "x/y:z"},                             // no --signature-out
		{"sign", "--key", key, "--cert", cert, "--media-type", ocispec.MediaTypeImageManifest, "x/y:z"}, // --media-type without --manifest
		{"verify", "--cert", cert, "--signature", sig},                                                  // no --manifest
		{"verify", "--cert", cert, "--signature", sig, "--manifest", withType, "x/y:z"},
		{"attach", "x/y:z"}, // no --signature
		{"pull", "--cert", cert, "x/y:z"},
		{"pull", "--cert", cert, "--to-oci-layout", dir + "@" + netMonitorDigest, "x/y:z"},
	} {
		c.must(exitUsage, args...)
	}
}

func TestDetachedEnvelopeSignsOneDigest(t *testing.T) {
	for _, kind := range testregistry.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			reg := testregistry.Start(t, kind)
			imgA, imgB := testregistry.NewImage("detached-a"), testregistry.NewImage("detached-b")
			imgA.Push(t, reg.Host, "app", "a")
			imgB.Push(t, reg.Host, "app", "b")
			c := newCLI(t, "NV2_REGISTRY="+reg.Host)
			key, cert := c.keys("detached-signer")
			dir := t.TempDir()
			fileA := writeFile(t, dir, "a.json", imgA.Manifest)
			fileB := writeFile(t, dir, "b.json", imgB.Manifest)
			sigA := filepath.Join(dir, "a.jws")
			c.must(0, "sign", "--manifest", fileA, "--signature-out", sigA, "--key", key, "--cert", cert)

			// Verified for A only.
			c.must(0, "verify", "--cert", cert, "--signature", sigA, "--manifest", fileA)
			r := c.must(exitNotVerified, "verify", "--cert", cert, "--signature", sigA, "--manifest", fileB)
			if !strings.Contains(r.stderr, imgA.Descriptor.Digest.String()) || !strings.Contains(r.stderr, "another artifact") {
				t.Fatalf("verifying A's envelope for B should say it signs A:\n%s", r.stderr)
			}

			// Attached to A only; refusing B pushes nothing.
			reg.Reset()
			r = c.must(exitError, "attach", "--signature", sigA, "app:b")
			if !strings.Contains(r.stderr, imgA.Descriptor.Digest.String()) || !strings.Contains(r.stderr, "nothing was pushed") {
				t.Fatalf("attach to B should name the digest the envelope signs:\n%s", r.stderr)
			}
			noWrites(t, reg)
			c.must(exitNoSignature, "verify", "--cert", cert, "app:b")

			var att attachResult
			decode(t, c.must(0, "attach", "-o", "json", "--signature", sigA, "app:a").stdout, &att)
			if att.Subject.Digest != imgA.Descriptor.Digest.String() || att.Signature.Digest == "" {
				t.Fatalf("attach JSON: %+v", att)
			}
			var vr verifyResults
			decode(t, c.must(0, "verify", "-o", "json", "--cert", cert, "app:a").stdout, &vr)
			if vr[0].Signature.Digest != att.Signature.Digest {
				t.Fatalf("verify found %s, attach pushed %s", vr[0].Signature.Digest, att.Signature.Digest)
			}
			// The pushed manifest carries the chain's thumbprints (the hint verify uses).
			chain, err := nvcrypto.LoadCertificates(cert)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := json.Marshal(nvcrypto.Thumbprints(chain))
			if got := att.Signature.Annotations[spec.AnnotationThumbprints]; got != string(want) {
				t.Fatalf("thumbprint annotation %q, want %q", got, want)
			}

			// A tampered envelope is refused, whatever it claims to sign.
			env, _ := os.ReadFile(sigA)
			var jws map[string]any
			json.Unmarshal(env, &jws)
			s := jws["signature"].(string)
			jws["signature"] = strings.Repeat("A", 8) + s[8:]
			bad, _ := json.Marshal(jws)
			badFile := writeFile(t, dir, "bad.jws", bad)
			reg.Reset()
			if r := c.must(exitError, "attach", "--signature", badFile, "app:a"); !strings.Contains(r.stderr, "not an intact") {
				t.Fatalf("tampered envelope:\n%s", r.stderr)
			}
			noWrites(t, reg)

			// --signature-only against a registry: the digest is resolved,
			// nothing is written; attach pushes it later.
			sigB := filepath.Join(dir, "b.jws")
			reg.Reset()
			c.must(0, "sign", "--signature-only", "--signature-out", sigB, "--key", key, "--cert", cert, "app:b")
			noWrites(t, reg)
			c.must(exitNoSignature, "verify", "--cert", cert, "app:b")
			c.must(0, "verify", "--cert", cert, "--signature", sigB, "--manifest", fileB)
			c.must(0, "attach", "--signature", sigB, reg.Host+"/app@"+imgB.Descriptor.Digest.String())
			c.must(0, "verify", "--cert", cert, "app:b")
		})
	}
}

// noWrites fails the test when the registry received anything but reads
// since its last Reset.
func noWrites(t *testing.T, reg *testregistry.Registry) {
	t.Helper()
	for _, r := range reg.Requests() {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			t.Fatalf("the registry received a write: %s (all: %v)", r, reg.Requests())
		}
	}
}

func TestOfflineToRegistryAndBack(t *testing.T) {
	for _, kind := range testregistry.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			reg := testregistry.Start(t, kind)
			c := newCLI(t, "NV2_REGISTRY="+reg.Host)
			key, cert := c.keys("wabbit-networks.io")
			layout := buildLayout(t)
			c.must(0, "sign", "--oci-layout", "--key", key, "--cert", cert, layout+":v1")
			c.must(0, "verify", "--oci-layout", "--cert", cert, layout+":v1")

			// Push image and signature together; verify in the registry.
			c.must(0, "copy", "--from-oci-layout", layout+":v1", "net-monitor:v1")
			v := c.must(0, "verify", "--cert", cert, "net-monitor:v1")
			if !strings.Contains(v.stdout, "Verified "+reg.Host+"/net-monitor@"+netMonitorDigest) {
				t.Fatalf("verify after push:\n%s", v.stdout)
			}

			// Pull what verified into a new layout; it verifies offline.
			pulled := filepath.Join(t.TempDir(), "pulled")
			var pr pullResult
			decode(t, c.must(0, "pull", "-o", "json", "--cert", cert, "--to-oci-layout", pulled, "net-monitor:v1").stdout, &pr)
			if pr.Verification.Status != "verified" || pr.Destination != pulled+"@"+netMonitorDigest || pr.Tag != "v1" {
				t.Fatalf("pull JSON: %+v", pr)
			}
			c.must(0, "verify", "--oci-layout", "--cert", cert, pulled+":v1")
			if a, b := referrerDigests(t, "layout:"+layout+":v1"), referrerDigests(t, "layout:"+pulled+":v1"); !equal(a, b) || len(a) != 1 {
				t.Fatalf("referrers: built layout %v, pulled layout %v", a, b)
			}
			// The staging folder is gone.
			entries, _ := os.ReadDir(filepath.Dir(pulled))
			if len(entries) != 1 {
				t.Fatalf("pull left files beside the layout: %v", entries)
			}
		})
	}
}

func equal(a, b []string) bool {
	return strings.Join(a, ",") == strings.Join(b, ",")
}

func TestFailedPullLeavesTheFolderAsItWas(t *testing.T) {
	for _, kind := range testregistry.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			reg := testregistry.Start(t, kind)
			c := newCLI(t, "NV2_REGISTRY="+reg.Host)
			key, cert := c.keys("pull-signer")
			_, strangerCert := c.keys("stranger")
			testregistry.PushImage(t, reg, "app", "unsigned", "pull-unsigned")
			signedImg := testregistry.NewImage("pull-signed")
			signedImg.Push(t, reg.Host, "app", "v1")
			c.must(0, "sign", "--key", key, "--cert", cert, "app:v1")

			// An existing layout with content of its own, and a folder that
			// does not exist yet.
			existing := buildLayout(t)
			c.must(0, "sign", "--oci-layout", "--key", key, "--cert", cert, existing+":v1")
			missing := filepath.Join(t.TempDir(), "new", "layout")

			cases := []struct {
				name string
				want int
				args []string
			}{
				{"unsigned", exitNoSignature, []string{"--cert", cert, "app:unsigned"}},
				{"untrusted signer", exitNotVerified, []string{"--cert", strangerCert, "app:v1"}},
				{"missing signed metadata", exitNotVerified, []string{"--cert", cert, "-a", "build=1", "app:v1"}},
				{"no such tag", exitError, []string{"--cert", cert, "app:nope"}},
			}
			// around is the folder that holds dst and every folder pull could create.
			around := func(dst string) string {
				if dst == missing {
					return filepath.Dir(filepath.Dir(missing))
				}
				return filepath.Dir(strings.TrimSuffix(dst, ":other"))
			}
			for _, tc := range cases {
				for _, dst := range []string{existing, existing + ":other", missing} {
					before := snapshot(t, around(dst))
					r := c.run(append([]string{"pull", "--to-oci-layout", dst}, tc.args...)...)
					if r.code != tc.want {
						t.Fatalf("%s into %s: exit %d, want %d\n%s", tc.name, dst, r.code, tc.want, r.stderr)
					}
					if !strings.Contains(r.stderr, "nothing was written") {
						t.Errorf("%s: the error should say nothing was written:\n%s", tc.name, r.stderr)
					}
					sameTree(t, tc.name+" into "+dst, before, snapshot(t, around(dst)))
				}
			}

			// Verification passes but the copy fails halfway: a layer blob
			// is gone from the registry.
			broken := testregistry.NewImage("pull-broken")
			broken.Push(t, reg.Host, "app", "broken")
			c.must(0, "sign", "--key", key, "--cert", cert, "app:broken")
			layer := broken.BlobDescriptors()[1].Digest
			req, _ := http.NewRequest(http.MethodDelete, reg.URL+"/v2/app/blobs/"+layer.String(), nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("deleting the layer blob: %s", resp.Status)
			}
			for _, dst := range []string{existing, missing} {
				before := snapshot(t, around(dst))
				r := c.must(exitError, "pull", "--cert", cert, "--to-oci-layout", dst, "app:broken")
				if !strings.Contains(r.stderr, "verified, but copying it failed") || !strings.Contains(r.stderr, "nothing was written") {
					t.Errorf("a failed copy should say so, and that nothing was written:\n%s", r.stderr)
				}
				sameTree(t, "failed copy into "+dst, before, snapshot(t, around(dst)))
			}

			// And a pull that works adds to the existing layout, keeping what was there.
			before := snapshot(t, existing)
			c.must(0, "pull", "--cert", cert, "--to-oci-layout", existing+":pulled", "app:v1")
			after := snapshot(t, existing)
			for p := range before {
				if _, ok := after[p]; !ok {
					t.Fatalf("a successful pull removed %s from the existing layout", p)
				}
			}
			c.must(0, "verify", "--oci-layout", "--cert", cert, existing+":v1")
			v := c.must(0, "verify", "--oci-layout", "--cert", cert, existing+":pulled")
			if !strings.Contains(v.stdout, signedImg.Descriptor.Digest.String()) {
				t.Fatalf("the pulled tag names another image:\n%s", v.stdout)
			}
			// A folder that is not a layout is refused before any request.
			notLayout := t.TempDir()
			writeFile(t, notLayout, "notes.txt", []byte("mine"))
			reg.Reset()
			c.must(exitError, "pull", "--cert", cert, "--to-oci-layout", notLayout, "app:v1")
			if n := reg.Count(); n != 0 {
				t.Fatalf("pull into a non-layout folder sent %d requests before refusing", n)
			}
		})
	}
}

// TestPullCopiesTheDigestThatVerified moves the tag between verification
// and copy: the registry answers the first request for app:v1 with the
// signed image and every later one with another image. The pulled layout
// must hold the signed image only.
func TestPullCopiesTheDigestThatVerified(t *testing.T) {
	for _, kind := range testregistry.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			var mu sync.Mutex
			moved := false
			reg := testregistry.Start(t, kind, testregistry.Options{Wrap: func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == "/v2/app/manifests/v1" && r.Method != http.MethodPut {
						mu.Lock()
						if moved {
							r.URL.Path = "/v2/app/manifests/evil"
						}
						moved = true
						mu.Unlock()
					}
					next.ServeHTTP(w, r)
				})
			}})
			good, evil := testregistry.NewImage("moving-good"), testregistry.NewImage("moving-evil")
			good.Push(t, reg.Host, "app", "evil") // sign it under another tag first
			evil.Push(t, reg.Host, "app", "evil")
			c := newCLI(t, "NV2_REGISTRY="+reg.Host)
			key, cert := c.keys("moving-signer")
			c.must(0, "sign", "--key", key, "--cert", cert, reg.Host+"/app@"+good.Descriptor.Digest.String())
			good.Push(t, reg.Host, "app", "v1") // a PUT: does not move the tag
			mu.Lock()
			moved = false
			mu.Unlock()

			dst := filepath.Join(t.TempDir(), "pulled")
			r := c.must(0, "pull", "--cert", cert, "--to-oci-layout", dst, "app:v1")
			if !strings.Contains(r.stdout, good.Descriptor.Digest.String()) {
				t.Fatalf("pull output:\n%s", r.stdout)
			}
			s, err := oci.New(dst)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			got, err := s.Resolve(ctx, "v1")
			if err != nil || got.Digest != good.Descriptor.Digest {
				t.Fatalf("the layout's v1 is %s (%v), want the image that verified, %s", got.Digest, err, good.Descriptor.Digest)
			}
			if ok, _ := s.Exists(ctx, evil.Descriptor); ok {
				t.Fatal("the layout holds the image the tag moved to")
			}
		})
	}
}

func TestCopyKeepsEveryReferrer(t *testing.T) {
	for i, kind := range testregistry.Kinds {
		other := testregistry.Kinds[(i+1)%len(testregistry.Kinds)]
		t.Run(string(kind)+"-to-"+string(other), func(t *testing.T) {
			reg, reg2 := testregistry.Start(t, kind), testregistry.Start(t, other)
			c := newCLI(t)
			key1, cert1 := c.keys("signer-one")
			key2, cert2 := c.keys("signer-two")
			layout := buildLayout(t)
			// Two signatures, an SBOM, and a signature of the first signature.
			var s1 signResult
			decode(t, c.must(0, "sign", "-o", "json", "--oci-layout", "--key", key1, "--cert", cert1, layout+":v1").stdout, &s1)
			c.must(0, "sign", "--oci-layout", "--key", key2, "--cert", cert2, layout+":v1")
			addSBOM(t, layout, digest.Digest(netMonitorDigest))
			c.must(0, "sign", "--oci-layout", "--key", key2, "--cert", cert2, layout+"@"+s1.Signature.Digest)
			want := referrerDigests(t, "layout:"+layout+":v1")
			if len(want) != 4 {
				t.Fatalf("the layout should hold 4 referrers, has %v", want)
			}

			// layout -> registry -> other registry -> layout.
			src := reg.Host + "/net-monitor:v1"
			dst := reg2.Host + "/mirror/net-monitor:v1"
			back := filepath.Join(t.TempDir(), "back")
			c.must(0, "copy", "--from-oci-layout", layout+":v1", src)
			c.must(0, "copy", src, dst)
			c.must(0, "copy", "--to-oci-layout", dst, back+":v1")
			for _, ref := range []string{src, dst, "layout:" + back + ":v1"} {
				if got := referrerDigests(t, ref); !equal(got, want) {
					t.Errorf("%s: referrers %v, want %v", ref, got, want)
				}
			}
			for _, cert := range []string{cert1, cert2} {
				c.must(0, "verify", "--cert", cert, dst)
				c.must(0, "verify", "--oci-layout", "--cert", cert, back+":v1")
			}
		})
	}
}

// addSBOM stores an SBOM-like artifact whose subject is the manifest
// subject in the layout at dir.
func addSBOM(t *testing.T, dir string, subject digest.Digest) {
	t.Helper()
	ctx := context.Background()
	s, err := oci.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	subj, err := s.Resolve(ctx, subject.String())
	if err != nil {
		t.Fatal(err)
	}
	push := func(d ocispec.Descriptor, b []byte) {
		if err := s.Push(ctx, d, bytes.NewReader(b)); err != nil && !strings.Contains(err.Error(), "already exists") {
			t.Fatal(err)
		}
	}
	empty := []byte("{}")
	emptyDesc := content.NewDescriptorFromBytes(spec.MediaTypeEmptyJSON, empty)
	sbom := []byte(`{"spdxVersion":"SPDX-2.3","name":"net-monitor"}`)
	sbomDesc := content.NewDescriptorFromBytes("application/spdx+json", sbom)
	push(emptyDesc, empty)
	push(sbomDesc, sbom)
	m, _ := json.Marshal(ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		ArtifactType: "application/spdx+json", Config: emptyDesc, Layers: []ocispec.Descriptor{sbomDesc},
		Subject: &ocispec.Descriptor{MediaType: subj.MediaType, Digest: subj.Digest, Size: subj.Size},
	})
	push(content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, m), m)
}
