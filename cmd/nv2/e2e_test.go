package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nv2-signing/nv2/internal/testregistry"
	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/signature"
)

// These tests run the built nv2 binary, as a user would, against real
// registries started in the test process.

var nv2Bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "nv2-e2e-")
	if err != nil {
		panic(err)
	}
	nv2Bin = filepath.Join(dir, "nv2")
	build := exec.Command("go", "build", "-o", nv2Bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("building nv2: " + err.Error())
	}
	code := m.Run()
	stopEngine()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cliUser is one user's environment: their own config folder and docker config.
type cliUser struct {
	t   testing.TB
	env []string
	dir string
}

func newCLI(t testing.TB, extraEnv ...string) *cliUser {
	t.Helper()
	dir := t.TempDir()
	env := []string{
		"HOME=" + dir,
		"PATH=" + os.Getenv("PATH"),
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"DOCKER_CONFIG=" + filepath.Join(dir, "docker"),
	}
	return &cliUser{t: t, env: append(env, extraEnv...), dir: dir}
}

type result struct {
	stdout, stderr string
	code           int
}

func (c *cliUser) run(args ...string) result {
	c.t.Helper()
	return execute(c.t, nv2Bin, c.env, args...)
}

// must runs nv2 and fails the test unless it exits with want.
func (c *cliUser) must(want int, args ...string) result {
	c.t.Helper()
	return expectExit(c.t, want, c.run(args...), "nv2", args)
}

// execute runs program with args in env and returns what it printed and
// its exit code.
func execute(t testing.TB, program string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(program, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s: %v", program, err)
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// expectExit fails the test unless r ended with the exit code want.
func expectExit(t testing.TB, want int, r result, name string, args []string) result {
	t.Helper()
	if r.code != want {
		t.Fatalf("%s %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), r.code, want, r.stdout, r.stderr)
	}
	return r
}

// keys generates a signing key and certificate (chain) with nv2 itself.
func (c *cliUser) keys(name string, extra ...string) (key, cert string) {
	c.t.Helper()
	out := filepath.Join(c.dir, "keys")
	c.must(0, append([]string{"cert", "generate", "--name", name, "--out", out}, extra...)...)
	return filepath.Join(out, name+".key"), filepath.Join(out, name+".crt")
}

func TestSignDiscoverVerify(t *testing.T) {
	for _, kind := range testregistry.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			reg := testregistry.Start(t, kind)
			img := testregistry.PushImage(t, reg, "net-monitor", "v1", "e2e")
			testregistry.PushImage(t, reg, "unsigned", "v1", "unsigned")
			c := newCLI(t, "NV2_REGISTRY="+reg.Host)
			key, cert := c.keys("wabbit-networks.io")

			r := c.must(0, "sign", "--key", key, "--cert", cert, "net-monitor:v1")
			want := reg.Host + "/net-monitor@" + img.Digest.String()
			if !strings.Contains(r.stdout, "Signed "+want) {
				t.Fatalf("sign output lacks %q:\n%s", want, r.stdout)
			}
			if !strings.Contains(r.stderr, "resolved tag") || !strings.Contains(r.stderr, img.Digest.String()) {
				t.Fatalf("signing a tag should warn and name the digest; stderr:\n%s", r.stderr)
			}

			d := c.must(0, "discover", "net-monitor:v1")
			sigDigest := strings.Fields(strings.TrimPrefix(strings.SplitN(r.stdout, "Signature ", 2)[1], ""))[0]
			if !strings.Contains(d.stdout, "application/vnd.cncf.notary.signature") || !strings.Contains(d.stdout, sigDigest) {
				t.Fatalf("discover does not show signature %s:\n%s", sigDigest, d.stdout)
			}

			v := c.must(0, "verify", "--cert", cert, "net-monitor:v1")
			if !strings.Contains(v.stdout, "Verified "+want) || !strings.Contains(v.stdout, "CN=wabbit-networks.io") {
				t.Fatalf("verify output:\n%s", v.stdout)
			}
			// By digest, and with the full reference.
			c.must(0, "verify", "--cert", cert, want)

			_, otherCert := c.keys("someone-else")
			bad := c.must(exitNotVerified, "verify", "--cert", otherCert, "net-monitor:v1")
			if !strings.Contains(bad.stderr, sigDigest) || !strings.Contains(bad.stderr, "authenticity") {
				t.Fatalf("exit 4 should name the rejected signature and why:\n%s", bad.stderr)
			}
			c.must(exitNoSignature, "verify", "--cert", cert, "unsigned:v1")
			// Several references: the worst outcome wins, JSON has one entry each.
			multi := c.must(exitNoSignature, "verify", "-o", "json", "--cert", cert, "net-monitor:v1", "unsigned:v1", "net-monitor@"+img.Digest.String())
			var entries []verifyResult
			if err := json.Unmarshal([]byte(multi.stdout), &entries); err != nil || len(entries) != 3 {
				t.Fatalf("want 3 JSON entries, got %v: %s", err, multi.stdout)
			}
			if entries[0].Status != "verified" || entries[1].Status != "no-signature" || entries[2].Status != "verified" {
				t.Fatalf("statuses: %+v", entries)
			}
			// A signature that did not verify is worse than a missing one.
			c.must(exitNotVerified, "verify", "--cert", otherCert, "unsigned:v1", "net-monitor:v1")
		})
	}
}

func TestJSONCarriesTheSameFactsAsText(t *testing.T) {
	reg := testregistry.Start(t, testregistry.GGCR)
	img := testregistry.PushImage(t, reg, "app", "v1", "json")
	c := newCLI(t)
	key, cert := c.keys("json-signer")
	ref := reg.Host + "/app:v1"

	var signed signResult
	decode(t, c.must(0, "sign", "-o", "json", "--key", key, "--cert", cert, "--annotation", "build=7", ref).stdout, &signed)
	if signed.Subject.Digest != img.Digest.String() || signed.Signature.Digest == "" {
		t.Fatalf("sign JSON: %+v", signed)
	}
	text := c.must(0, "verify", "--cert", cert, ref).stdout
	var vr []verifyResult
	decode(t, c.must(0, "verify", "-o", "json", "--cert", cert, ref).stdout, &vr)
	v := vr[0]
	if v.Status != "verified" || v.Signature == nil {
		t.Fatalf("verify JSON: %+v", v)
	}
	for _, fact := range []string{v.Verified, v.Signature.Signer, v.Signature.Digest, v.Signature.Algorithm, v.Signature.SigningTime.Format(time.RFC3339)} {
		if !strings.Contains(text, fact) {
			t.Errorf("text output lacks %q that JSON has:\n%s", fact, text)
		}
	}
	if v.Signature.Annotations["build"] != "7" || v.Signature.Digest != signed.Signature.Digest {
		t.Fatalf("verify JSON lost signed metadata or digest: %+v", v.Signature)
	}

	var disc discoverResult
	decode(t, c.must(0, "discover", "-o", "json", ref).stdout, &disc)
	if len(disc.Referrers) != 1 || disc.Referrers[0].Digest != signed.Signature.Digest {
		t.Fatalf("discover JSON: %+v", disc)
	}
	var ins inspectResult
	decode(t, c.must(0, "inspect", "-o", "json", ref).stdout, &ins)
	if len(ins.Signatures) != 1 || ins.Signatures[0].Annotations["build"] != "7" || len(ins.Signatures[0].Certificates) != 1 {
		t.Fatalf("inspect JSON: %+v", ins)
	}
	if tp := ins.Signatures[0].Certificates[0].Thumbprint; !strings.Contains(c.must(0, "inspect", ref).stdout, tp) {
		t.Fatalf("inspect text lacks thumbprint %s", tp)
	}
	// Required signed metadata.
	c.must(0, "verify", "--cert", cert, "--annotation", "build=7", ref)
	c.must(exitNotVerified, "verify", "--cert", cert, "--annotation", "build=8", ref)
}

func decode(t testing.TB, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, s)
	}
}

func TestTrustPolicy(t *testing.T) {
	for _, kind := range testregistry.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			reg := testregistry.Start(t, kind)
			testregistry.PushImage(t, reg, "team/app", "v1", "policy-app")
			testregistry.PushImage(t, reg, "team/other", "v1", "policy-other")
			testregistry.PushImage(t, reg, "team/unsigned", "v1", "policy-unsigned")
			c := newCLI(t, "NV2_REGISTRY="+reg.Host)
			key, cert := c.keys("acme-signer", "--ca", "--subject", "C=US, ST=Test, O=nv2 test")
			caCert := filepath.Join(c.dir, "keys", "acme-signer-ca.crt")
			c.must(0, "sign", "--key", key, "--cert", cert, "team/app:v1")
			c.must(0, "sign", "--key", key, "--cert", cert, "team/other:v1")

			// No policy configured: an error that says how to set one up.
			r := c.must(exitError, "verify", "team/app:v1")
			if !strings.Contains(r.stderr, "nv2 policy import") {
				t.Fatalf("missing-policy error does not say what to do:\n%s", r.stderr)
			}
			// --cert trusts a CA that issued the signer, as the prototype did.
			c.must(0, "verify", "--cert", caCert, "team/app:v1")
			c.must(0, "cert", "add", "--store", "acme", caCert)
			if l := c.must(0, "cert", "list").stdout; !strings.Contains(l, "ca:acme") || !strings.Contains(l, "acme-signer CA") {
				t.Fatalf("cert list:\n%s", l)
			}
			_, strangerCert := c.keys("stranger")
			c.must(0, "cert", "add", "--store", "strangers", strangerCert)

			files := 0
			policy := func(level, scope, store string, ids ...string) string {
				p := map[string]any{"name": "p-" + level, "registryScopes": []string{scope},
					"signatureVerification": map[string]string{"level": level}}
				if level != "skip" {
					p["trustStores"] = []string{store}
					p["trustedIdentities"] = ids
				}
				b, _ := json.MarshalIndent(map[string]any{"version": "1.0", "trustPolicies": []any{p}}, "", "  ")
				files++
				f := filepath.Join(c.dir, fmt.Sprintf("policy-%d.json", files))
				if err := os.WriteFile(f, b, 0o644); err != nil {
					t.Fatal(err)
				}
				return f
			}
			app := reg.Host + "/team/app"
			cases := []struct {
				name, file, ref string
				want            int
			}{
				{"strict, trusted CA", policy("strict", app, "ca:acme", "*"), "team/app:v1", 0},
				{"strict, matching identity", policy("strict", app, "ca:acme", "x509.subject: CN=acme-signer, O=nv2 test, ST=Test, C=US"), "team/app:v1", 0},
				{"strict, other identity", policy("strict", app, "ca:acme", "x509.subject: CN=someone, O=nv2 test, ST=Test, C=US"), "team/app:v1", exitNotVerified},
				{"strict, untrusted store", policy("strict", app, "ca:strangers", "*"), "team/app:v1", exitNotVerified},
				{"audit passes an untrusted signer", policy("audit", app, "ca:strangers", "*"), "team/app:v1", 0},
				{"scope covers another repository only", policy("strict", app, "ca:acme", "*"), "team/other:v1", exitError},
				{"wildcard scope", policy("strict", "*", "ca:acme", "*"), "team/other:v1", 0},
				{"unsigned under strict", policy("strict", "*", "ca:acme", "*"), "team/unsigned:v1", exitNoSignature},
				{"skip checks nothing", policy("skip", "*", "", ""), "team/unsigned:v1", 0},
			}
			for _, tc := range cases {
				r := c.run("verify", "--policy", tc.file, tc.ref)
				if r.code != tc.want {
					t.Errorf("%s: exit %d, want %d\n%s%s", tc.name, r.code, tc.want, r.stdout, r.stderr)
				}
			}
			// The configured policy is used when --policy is not given.
			c.must(0, "policy", "import", policy("strict", app, "ca:acme", "*"))
			c.must(0, "verify", "team/app:v1")
			if s := c.must(0, "policy", "show").stdout; !strings.Contains(s, "p-strict") {
				t.Fatalf("policy show:\n%s", s)
			}
		})
	}
}

func TestExpiredCertificateLevels(t *testing.T) {
	reg := testregistry.Start(t, testregistry.GGCR)
	img := testregistry.PushImage(t, reg, "app", "v1", "expired")
	c := newCLI(t, "NV2_REGISTRY="+reg.Host)
	// A certificate that was valid two days ago for an hour, and a signature
	// made then: nv2 sign refuses expired certificates, so sign with the
	// library at a time inside the validity and push the signature.
	notBefore := time.Now().Add(-48 * time.Hour)
	creds, err := nvcrypto.Generate(nvcrypto.GenerateOptions{CommonName: "old-signer", NotBefore: notBefore, Validity: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	paths, err := nvcrypto.WriteCredentials(filepath.Join(c.dir, "old"), "old-signer", creds, false)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := signature.NewSigner(creds.Key, creds.Chain)
	if err != nil {
		t.Fatal(err)
	}
	env, err := signer.Sign(signature.SignRequest{Target: img, SigningTime: notBefore.Add(30 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	envs := []testregistry.Envelope{{Data: env, Thumbprints: nvcrypto.Thumbprints(creds.Chain)}}
	if _, err := testregistry.PushSignatures(context.Background(), reg.Host, "app", img, envs, 1); err != nil {
		t.Fatal(err)
	}

	r := c.must(exitNotVerified, "verify", "--cert", paths.Cert, "app:v1")
	if !strings.Contains(r.stderr, "authenticTimestamp") || !strings.Contains(r.stderr, "expired") {
		t.Fatalf("expired certificate: the reason should name the check:\n%s", r.stderr)
	}
	c.must(0, "cert", "add", "--store", "old", paths.Cert)
	for level, want := range map[string]int{"strict": exitNotVerified, "permissive": 0, "audit": 0} {
		doc := `{"version":"1.0","trustPolicies":[{"name":"p","registryScopes":["*"],"signatureVerification":{"level":"` + level + `"},"trustStores":["ca:old"],"trustedIdentities":["*"]}]}`
		f := filepath.Join(c.dir, level+".json")
		if err := os.WriteFile(f, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		r := c.run("verify", "--policy", f, "app:v1")
		if r.code != want {
			t.Errorf("level %s: exit %d, want %d\n%s", level, r.code, want, r.stderr)
		}
		if want == 0 && !strings.Contains(r.stderr, "Warning") {
			t.Errorf("level %s passed without a warning about the logged failure:\n%s", level, r.stderr)
		}
	}
}

func TestPolicyImportRefusesInvalidWithLine(t *testing.T) {
	c := newCLI(t)
	f := filepath.Join(c.dir, "bad.json")
	os.WriteFile(f, []byte("{\n  \"version\": \"1.0\",\n  \"trustPolicies\": [\n    {\n      \"name\": \"p\",\n      \"registryScopes\": [\"*\"],\n      \"signatureVerification\": {\"level\": \"sometimes\"},\n      \"trustStores\": [\"ca:x\"],\n      \"trustedIdentities\": [\"*\"]\n    }\n  ]\n}\n"), 0o644)
	r := c.must(exitError, "policy", "import", f)
	if !strings.Contains(r.stderr, "line 4") || !strings.Contains(r.stderr, "sometimes") {
		t.Fatalf("want the line and the reason:\n%s", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(c.dir, "config", "nv2", "trustpolicy.json")); !os.IsNotExist(err) {
		t.Fatalf("an invalid policy was installed (stat: %v)", err)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	c := newCLI(t)
	for _, args := range [][]string{
		{"verify"},
		{"sign", "--key", "k", "--cert", "c"},
		{"verify", "--output", "yaml", "--cert", "x", "a/b:c"},
		{"discover", "--no-such-flag", "x"},
		{"sign", "--key", "k", "--cert", "c", "a", "b"},
		{"verify", "--cert", "x", "UPPER/Case:v1"},
	} {
		if r := c.run(args...); r.code != exitUsage {
			t.Errorf("nv2 %v: exit %d, want 2\n%s", args, r.code, r.stderr)
		}
	}
}

func TestCredentialsNeverPrinted(t *testing.T) {
	const user, pass = "alice", "pa55-w0rd-secret"
	reg := testregistry.Start(t, testregistry.Distribution, testregistry.Options{Username: user, Password: pass})
	img := testregistry.NewImage("auth")
	// Push the image with credentials through nv2 itself: copy from a layout.
	layout := filepath.Join(t.TempDir(), "layout")
	writeLayout(t, layout, img)
	c := newCLI(t)
	ref := reg.Host + "/private/app:v1"
	// Without credentials the registry refuses, and nv2 says how to log in.
	r := c.run("copy", "--from-oci-layout", layout+":v1", ref)
	if r.code == 0 || !strings.Contains(strings.ToLower(r.stderr), "login") {
		t.Fatalf("copy without credentials: exit %d\n%s", r.code, r.stderr)
	}
	key, cert := c.keys("auth-signer")
	all := c.must(0, "copy", "--debug", "-u", user, "-p", pass, "--from-oci-layout", layout+":v1", ref)
	s := c.must(0, "sign", "--debug", "-u", user, "-p", pass, "--key", key, "--cert", cert, ref)
	// Registry flags may also come before the command.
	v := c.must(0, "--debug", "-u", user, "-p", pass, "verify", "--cert", cert, ref)
	env := newCLI(t, "NV2_USERNAME="+user, "NV2_PASSWORD="+pass)
	e := env.must(0, "discover", "--debug", ref)
	for _, out := range []result{all, s, v, e} {
		text := out.stdout + out.stderr
		if !strings.Contains(out.stderr, "GET") && !strings.Contains(out.stderr, "PUT") && !strings.Contains(out.stderr, "HEAD") {
			t.Fatalf("--debug logged no requests:\n%s", out.stderr)
		}
		for _, secret := range []string{pass, basic(user, pass)} {
			if strings.Contains(text, secret) {
				t.Fatalf("a credential appeared in the output:\n%s", text)
			}
		}
	}
	_ = img
}

func TestCertGenerateNeverOverwrites(t *testing.T) {
	c := newCLI(t)
	key, _ := c.keys("keeper")
	before, _ := os.ReadFile(key)
	info, _ := os.Stat(key)
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("key mode %v, want 0600", info.Mode().Perm())
	}
	r := c.must(exitError, "cert", "generate", "--name", "keeper", "--out", filepath.Dir(key))
	if !strings.Contains(r.stderr, "--force") {
		t.Fatalf("refusal should mention --force:\n%s", r.stderr)
	}
	after, _ := os.ReadFile(key)
	if !bytes.Equal(before, after) {
		t.Fatal("the key was overwritten without --force")
	}
	c.must(0, "cert", "generate", "--force", "--name", "keeper", "--out", filepath.Dir(key))
	if after, _ := os.ReadFile(key); bytes.Equal(before, after) {
		t.Fatal("--force did not replace the key")
	}
}

func TestShellCompletion(t *testing.T) {
	c := newCLI(t)
	words := c.must(0, "--generate-bash-completion").stdout
	for _, cmd := range []string{"sign", "verify", "discover", "inspect", "copy", "cert", "policy"} {
		if !strings.Contains(words, cmd+"\n") {
			t.Errorf("completion lacks %q:\n%s", cmd, words)
		}
	}
	if sub := c.must(0, "cert", "--generate-bash-completion").stdout; !strings.Contains(sub, "generate\n") {
		t.Errorf("cert completion lacks generate:\n%s", sub)
	}
	script := c.must(0, "completion", "bash").stdout
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash to run the completion script in")
	}
	// Complete "nv2 ve" in a real bash with the printed script.
	cmd := exec.Command(bash, "-c", script+"\nCOMP_WORDS=(nv2 ve); COMP_CWORD=1; _nv2_complete; echo \"${COMPREPLY[@]}\"")
	cmd.Env = append(c.env, "PATH="+filepath.Dir(nv2Bin)+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "verify" {
		t.Fatalf("bash completion of 'nv2 ve' gave %q (%v)", out, err)
	}
	c.must(exitUsage, "completion", "fish")
}

// TestFlagsAnywhere: flags may follow the reference, as with notation, oras
// and cosign; "--" ends the flags.
func TestFlagsAnywhere(t *testing.T) {
	reg := testregistry.Start(t, testregistry.GGCR)
	testregistry.PushImage(t, reg, "app", "v1", "flags-anywhere")
	c := newCLI(t)
	key, cert := c.keys("anywhere")
	ref := reg.Host + "/app:v1"
	c.must(0, "sign", ref, "--key", key, "--cert", cert)
	c.must(0, "verify", ref, "--cert", cert, "-o", "json")
	c.must(0, "--plain-http", "verify", ref, "--cert="+cert)
	c.must(0, "discover", ref, "--depth", "1")
	c.must(0, "cert", "add", cert, "--store", "anywhere")
	// After "--" a flag is an argument: here, a reference that is malformed.
	if r := c.must(exitUsage, "verify", "--cert", cert, "--", "--debug"); !strings.Contains(r.stderr, `"--debug"`) {
		t.Errorf("after --, a flag-like argument is a reference:\n%s", r.stderr)
	}
}

// TestUnknownCommand: a mistyped command is a usage error that suggests the
// nearest command and names the real command path for help.
func TestUnknownCommand(t *testing.T) {
	c := newCLI(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sing", "x"}, `unknown command "sing": did you mean "sign"? (see 'nv2 --help')`},
		{[]string{"--debug", "verfy", "x"}, `did you mean "verify"?`},
		{[]string{"cert", "ad", "x"}, `unknown command "ad": did you mean "add"? (see 'nv2 cert --help')`},
	} {
		if r := c.must(exitUsage, tc.args...); !strings.Contains(r.stderr, tc.want) {
			t.Errorf("nv2 %s: stderr %q, want %q", strings.Join(tc.args, " "), r.stderr, tc.want)
		}
	}
	c.must(0, "cert", "help", "add")
}
