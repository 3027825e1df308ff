package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nv2-signing/nv2/internal/testregistry"
)

// runStdin runs nv2 as c does, with stdin as its standard input.
func (c *cliUser) runStdin(stdin []byte, args ...string) result {
	c.t.Helper()
	cmd := exec.Command(nv2Bin, args...)
	cmd.Env, cmd.Stdin = c.env, bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatal(err)
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// blobInspect returns what 'nv2 blob inspect -o json' says of sig.
func (c *cliUser) blobInspect(sig string) blobInspectResult {
	c.t.Helper()
	var res blobInspectResult
	decode(c.t, c.must(0, "blob", "inspect", "-o", "json", sig).stdout, &res)
	return res
}

func TestBlobSignVerifyDigestFollowsTheKey(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "release.tar.gz", bytes.Repeat([]byte("nv2 blob "), 100_000))
	for keyType, alg := range map[string]string{"ecdsa-p256": "sha256:", "ecdsa-p384": "sha384:", "rsa-3072": "sha384:", "ecdsa-p521": "sha512:"} {
		t.Run(keyType, func(t *testing.T) {
			key, cert := c.keys(keyType, "--key-type", keyType, "--ca")
			ca := strings.TrimSuffix(cert, ".crt") + "-ca.crt"
			r := c.must(0, "blob", "sign", "--force", "--key", key, "--cert", cert, "-a", "build=42", file)
			sig := file + ".jws.sig" // beside the file, named as notation names it
			if !strings.Contains(r.stdout, "Signature written to "+sig) {
				t.Fatalf("sign output:\n%s", r.stdout)
			}
			got := c.blobInspect(sig)
			if !strings.HasPrefix(got.Blob.Digest, alg) || got.Blob.MediaType != "application/octet-stream" || got.Blob.Size != 900_000 ||
				got.Signature.Annotations["build"] != "42" {
				t.Fatalf("a %s key signs %+v; want a %s digest of the 900000 bytes, application/octet-stream, build=42", keyType, got.Blob, alg)
			}
			v := c.must(0, "blob", "verify", "--cert", ca, "--signature", sig, "-a", "build=42", file)
			if !strings.Contains(v.stdout, "Verified "+file+"@"+got.Blob.Digest) {
				t.Fatalf("verify output:\n%s", v.stdout)
			}
		})
	}
}

func TestBlobVerifyFailsClosed(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	key, cert := c.keys("blob-signer")
	_, strangerCert := c.keys("stranger")
	content := bytes.Repeat([]byte("release "), 10_000)
	file := writeFile(t, dir, "app.bin", content)
	c.must(0, "blob", "sign", "--key", key, "--cert", cert, "--media-type", "application/vnd.acme.app", "-a", "build=7", file)
	sig := file + ".jws.sig"
	verify := func(want int, file string, extra ...string) result {
		t.Helper()
		return c.must(want, append([]string{"blob", "verify", "--cert", cert, "--signature", sig}, append(extra, file)...)...)
	}
	verify(0, file)
	verify(0, file, "--media-type", "application/vnd.acme.app", "-a", "build=7")

	// An image's signature: sign a manifest file offline, verify it as a blob.
	img := testregistry.NewImage("blob-image")
	manifest := writeFile(t, dir, "manifest.json", img.Manifest)
	imageSig := filepath.Join(dir, "image.jws")
	c.must(0, "sign", "--key", key, "--cert", cert, "--manifest", manifest, "--signature-out", imageSig)

	cases := []struct {
		name, file string
		extra      []string
		want       int
		says       string
	}{
		{"another file", writeFile(t, dir, "other.bin", []byte("something else")), nil, exitNotVerified, "not the one that was signed"},
		{"a truncated file", writeFile(t, dir, "short.bin", content[:len(content)-1]), nil, exitNotVerified, "another artifact"},
		{"a longer file", writeFile(t, dir, "long.bin", append(append([]byte{}, content...), '\n')), nil, exitNotVerified, "another artifact"},
		{"another media type", file, []string{"--media-type", "application/octet-stream"}, exitNotVerified, "media type"},
		{"missing metadata", file, []string{"-a", "build=8"}, exitNotVerified, "build"},
		{"a missing file", filepath.Join(dir, "absent.bin"), nil, exitError, "blob file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := verify(tc.want, tc.file, tc.extra...)
			if !strings.Contains(r.stderr, tc.says) {
				t.Fatalf("stderr does not say %q:\n%s", tc.says, r.stderr)
			}
		})
	}
	t.Run("an untrusted signer", func(t *testing.T) {
		r := c.must(exitNotVerified, "blob", "verify", "--cert", strangerCert, "--signature", sig, file)
		if !strings.Contains(r.stderr, "authenticity") || !strings.Contains(r.stderr, "nv2 blob policy show") {
			t.Fatalf("stderr:\n%s", r.stderr)
		}
	})
	t.Run("an image signature", func(t *testing.T) {
		r := c.must(exitNotVerified, "blob", "verify", "--cert", cert, "--signature", imageSig, manifest)
		if !strings.Contains(r.stderr, "image manifest, not a blob") {
			t.Fatalf("stderr:\n%s", r.stderr)
		}
	})
	t.Run("a signature that is not an envelope", func(t *testing.T) {
		junk := writeFile(t, dir, "junk.jws.sig", []byte(`{"payload":"x"}`))
		c.must(exitNotVerified, "blob", "verify", "--cert", cert, "--signature", junk, file)
	})
}

func TestBlobStdinAndSignatureFile(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	key, cert := c.keys("stdin-signer")
	data := []byte("from a pipe\n")
	file := writeFile(t, dir, "piped.txt", data)
	sig := filepath.Join(dir, "piped.sig")

	// - reads the standard input, and then names no signature file of its own.
	if r := c.runStdin(data, "blob", "sign", "--key", key, "--cert", cert, "-"); r.code != exitUsage {
		t.Fatalf("signing stdin without --signature-out: exit %d\n%s", r.code, r.stderr)
	}
	if r := c.runStdin(data, "blob", "sign", "--key", key, "--cert", cert, "--signature-out", sig, "-"); r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	c.must(0, "blob", "verify", "--cert", cert, "--signature", sig, file)
	if r := c.runStdin(data, "blob", "verify", "--cert", cert, "--signature", sig, "-"); r.code != 0 {
		t.Fatalf("verify from stdin: exit %d\n%s", r.code, r.stderr)
	}
	if r := c.runStdin(data[1:], "blob", "verify", "--cert", cert, "--signature", sig, "-"); r.code != exitNotVerified {
		t.Fatalf("verify of other bytes from stdin: exit %d\n%s", r.code, r.stderr)
	}

	// An existing signature is kept unless --force.
	before, _ := os.ReadFile(sig)
	r := c.must(exitError, "blob", "sign", "--key", key, "--cert", cert, "--signature-out", sig, file)
	if after, _ := os.ReadFile(sig); !bytes.Equal(before, after) || !strings.Contains(r.stderr, "--force") {
		t.Fatalf("an existing signature file was replaced, or the error does not name --force:\n%s", r.stderr)
	}
	c.must(0, "blob", "sign", "--key", key, "--cert", cert, "--signature-out", sig, "--force", file)

	// A timestamp asked for from a TSA that is down: nothing is written.
	r = c.must(exitError, "blob", "sign", "--key", key, "--cert", cert, "--timestamp-url", "http://127.0.0.1:1/tsa", "--timestamp-root-cert", cert, file)
	if _, err := os.Stat(file + ".jws.sig"); !os.IsNotExist(err) || !strings.Contains(r.stderr, "timestamp") {
		t.Fatalf("a refused timestamp wrote a signature, or the error does not say why:\n%s", r.stderr)
	}
	for _, args := range [][]string{
		{"blob", "sign", "--cert", cert, file},                                    // no key
		{"blob", "verify", "--cert", cert, file},                                  // no --signature
		{"blob", "verify", "--cert", cert, "-s", sig, "--policy-name", "x", file}, // both trust sources
		{"blob", "verify", "--cert", cert, "-s", sig},                             // no file
		{"blob", "inspect"},
	} {
		c.must(exitUsage, args...)
	}
}

func TestBlobTrustPolicy(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	key, cert := c.keys("acme-blobs", "--ca", "--subject", "C=US, ST=Test, O=nv2 test")
	c.must(0, "cert", "add", "--store", "acme", strings.TrimSuffix(cert, ".crt")+"-ca.crt")
	_, strangerCert := c.keys("stranger")
	c.must(0, "cert", "add", "--store", "strangers", strangerCert)
	file := writeFile(t, dir, "sbom.json", []byte(`{"sbom": true}`))
	c.must(0, "blob", "sign", "--key", key, "--cert", cert, file)
	sig := file + ".jws.sig"

	r := c.must(exitError, "blob", "verify", "--signature", sig, file)
	if !strings.Contains(r.stderr, "nv2 blob policy import") {
		t.Fatalf("with no blob policy, the error should say how to set one up:\n%s", r.stderr)
	}
	policy := func(policies ...map[string]any) string {
		b, _ := json.Marshal(map[string]any{"version": "1.0", "trustPolicies": policies})
		return writeFile(t, dir, "trustpolicy.blob.json", b)
	}
	entry := func(name, level, store string, global bool) map[string]any {
		p := map[string]any{"name": name, "signatureVerification": map[string]string{"level": level}}
		if level != "skip" {
			p["trustStores"], p["trustedIdentities"] = []string{store}, []string{"*"}
		}
		if global {
			p["globalPolicy"] = true
		}
		return p
	}
	c.must(0, "blob", "policy", "import", policy(entry("acme", "strict", "ca:acme", false), entry("strangers", "strict", "ca:strangers", true), entry("anything", "skip", "", false)))
	if s := c.must(0, "blob", "policy", "show").stdout; !strings.Contains(s, "strangers (global)") {
		t.Fatalf("policy show:\n%s", s)
	}
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"named policy trusts the signer", []string{"--policy-name", "acme"}, 0},
		{"global policy trusts someone else", nil, exitNotVerified},
		{"skip checks nothing", []string{"--policy-name", "anything"}, 0},
		{"a name no policy has", []string{"--policy-name", "acme-typo"}, exitError},
	} {
		args := append(append([]string{"blob", "verify", "--signature", sig}, tc.args...), file)
		if r := c.run(args...); r.code != tc.want {
			t.Errorf("%s: exit %d, want %d\n%s%s", tc.name, r.code, tc.want, r.stdout, r.stderr)
		}
	}
	// Without a global policy, a verification that names none fails.
	c.must(0, "blob", "policy", "import", policy(entry("acme", "strict", "ca:acme", false)))
	if r := c.must(exitError, "blob", "verify", "--signature", sig, file); !strings.Contains(r.stderr, "--policy-name") {
		t.Fatalf("no policy applies: the error should name --policy-name:\n%s", r.stderr)
	}
	// The OCI trust policy is another file: importing a blob policy leaves it alone.
	if _, err := os.Stat(filepath.Join(c.dir, "config", "nv2", "trustpolicy.json")); !os.IsNotExist(err) {
		t.Fatal("blob policy import wrote trustpolicy.json")
	}
	// Two global policies are refused, and the configured one stays.
	r = c.must(exitError, "blob", "policy", "import", policy(entry("a", "strict", "ca:acme", true), entry("b", "audit", "ca:acme", true)))
	if !strings.Contains(r.stderr, "globalPolicy") {
		t.Fatalf("import of two global policies:\n%s", r.stderr)
	}
	c.must(0, "blob", "verify", "--policy-name", "acme", "--signature", sig, file)
}
