package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/nv2-signing/nv2/internal/dockerplugin"
	"github.com/nv2-signing/nv2/internal/testregistry"
	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
)

// These tests run docker nv2 against a real docker engine: the one that
// `docker info` reaches, else a private dockerd that scripts/dockerd.sh
// starts for the test run (root, Debian's docker.io installed) and stops in
// TestMain. Images are built FROM scratch with a static binary built here;
// nothing is pulled from the internet. Without an engine they skip, unless
// NV2_REQUIRE_DOCKER=1 (CI) makes that a failure.

var engine struct {
	once  sync.Once
	host  string // DOCKER_HOST of the engine
	state string // the private dockerd's state folder, when the tests started one
	why   string // why there is no engine
	ctx   string // a build context with the static binary
}

const helloOutput = "hello from an nv2 test image"

// dockerEngine returns the DOCKER_HOST of a reachable engine, or skips.
func dockerEngine(t *testing.T) string {
	t.Helper()
	engine.once.Do(startEngine)
	if engine.host == "" {
		msg := "no docker engine for the docker engine tests: " + engine.why +
			"\n  to run them: as root with Debian's docker.io package (sudo scripts/dockerd.sh install), or with DOCKER_HOST set to what 'sudo scripts/dockerd.sh start' prints"
		if os.Getenv("NV2_REQUIRE_DOCKER") == "1" {
			t.Fatal(msg + "\n  NV2_REQUIRE_DOCKER=1: the docker engine tests must run")
		}
		t.Skip("skipping: " + msg)
	}
	return engine.host
}

func startEngine() {
	state, err := os.MkdirTemp("", "nv2-dockerd-")
	if err != nil {
		engine.why = err.Error()
		return
	}
	cmd := exec.Command("../../scripts/dockerd.sh", "start")
	cmd.Env = append(os.Environ(), "NV2_DOCKERD_STATE="+state, "NV2_DOCKERD_INSTALL=0")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		engine.why = strings.TrimSpace(stderr.String())
		os.RemoveAll(state)
		return
	}
	engine.host, engine.state = strings.TrimSpace(string(out)), state
	// The image's program: static, so that it runs FROM scratch.
	engine.ctx = filepath.Join(state, "context")
	os.MkdirAll(engine.ctx, 0o755)
	os.WriteFile(filepath.Join(engine.ctx, "go.mod"), []byte("module hello\n\ngo 1.26\n"), 0o644)
	os.WriteFile(filepath.Join(engine.ctx, "main.go"), []byte("package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\""+helloOutput+"\") }\n"), 0o644)
	build := exec.Command("go", "build", "-o", "hello", ".")
	build.Dir, build.Env = engine.ctx, append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
	if out, err := build.CombinedOutput(); err != nil {
		engine.host, engine.why = "", "building the test image's program: "+err.Error()+"\n"+string(out)
	}
}

// stopEngine stops the dockerd startEngine started, if any.
func stopEngine() {
	if engine.state == "" {
		return
	}
	cmd := exec.Command("../../scripts/dockerd.sh", "stop")
	cmd.Env = append(os.Environ(), "NV2_DOCKERD_STATE="+engine.state)
	cmd.Stderr = os.Stderr
	_ = cmd.Run()
	os.RemoveAll(engine.state)
}

// engineUser is a docker user of the real engine with nv2 as a plugin,
// enabled, signing with their own key and trusting it on pull.
func engineUser(t *testing.T) (u *dockerUser, cert string) {
	t.Helper()
	host := dockerEngine(t)
	u = newDockerUser(t)
	for i, kv := range u.env {
		if strings.HasPrefix(kv, "DOCKER_HOST=") {
			u.env[i] = "DOCKER_HOST=" + host
		}
	}
	key, cert := u.keys("engine-signer")
	u.must(0, "nv2", "config", "set", "--key", key, "--cert", cert, "--verify-cert", cert)
	u.must(0, "nv2", "config", "enable")
	return u, cert
}

// build builds a FROM scratch image of the test program named name; label
// makes its content, and so its ID, its own.
func (u *dockerUser) build(name, label string) (id string) {
	u.t.Helper()
	dockerfile := fmt.Sprintf("FROM scratch\nCOPY hello /hello\nLABEL test=%q\nENTRYPOINT [\"/hello\"]\n", label)
	file := filepath.Join(u.dir, "Dockerfile."+label)
	if err := os.WriteFile(file, []byte(dockerfile), 0o644); err != nil {
		u.t.Fatal(err)
	}
	u.must(0, "build", "-q", "-f", file, "-t", name, engine.ctx)
	id = u.imageID(name)
	// An engine the tests did not start keeps nothing of theirs.
	u.t.Cleanup(func() { u.run("rmi", "-f", id) })
	return id
}

// imageID is the local image's ID, or "" when the engine has no such image.
func (u *dockerUser) imageID(name string) string {
	u.t.Helper()
	r := u.run("image", "inspect", "--format", "{{.Id}}", name)
	if r.code != 0 {
		return ""
	}
	return strings.TrimSpace(r.stdout)
}

var signedLine = regexp.MustCompile(`Signed (\S+)@(sha256:[0-9a-f]{64})\b`)

// signedDigest is the digest a sign or push output says it signed.
func signedDigest(t *testing.T, out string) digest.Digest {
	t.Helper()
	m := signedLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no 'Signed NAME@DIGEST' line in:\n%s", out)
	}
	return digest.Digest(m[2])
}

// TestDockerEngineSignBeforePush is the user's docker flow: build, sign the
// local image offline, push image and signature, verify, pull, run.
func TestDockerEngineSignBeforePush(t *testing.T) {
	for _, kind := range testregistry.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			u, cert := engineUser(t)
			reg := testregistry.Start(t, kind)
			name := reg.Host + "/team/app"
			// Built for a registry that nothing serves (port 1): signed offline.
			offline := "127.0.0.1:1/team/app:v1"
			id := u.build(offline, "sign-before-push-"+string(kind))
			s := u.must(0, "nv2", "sign", offline)
			signed := signedDigest(t, s.stdout)
			if !strings.Contains(s.stderr, "docker nv2 push "+offline) {
				t.Errorf("sign should say how to push:\n%s", s.stderr)
			}
			// The digest is the image's, whatever its name: signed under the
			// registry's name too, with no request to that registry.
			u.must(0, "tag", offline, name+":v1")
			if again := signedDigest(t, u.must(0, "nv2", "sign", name+":v1").stdout); again != signed || reg.Count() != 0 {
				t.Fatalf("signed %s as %s, %s under the registry's name, with %d requests to it", offline, signed, again, reg.Count())
			}

			p := u.must(0, "nv2", "push", name+":v1")
			if want := "Pushed " + name + "@" + signed.String() + " as " + name + ":v1 with 2 signature(s)"; !strings.Contains(p.stdout, want) {
				t.Fatalf("push output lacks %q:\n%s", want, p.stdout)
			}
			pinned := name + "@" + signed.String()
			v := execute(t, nv2Bin, u.env, "verify", "--cert", cert, name+":v1")
			if v.code != 0 || !strings.Contains(v.stdout, "Verified "+pinned) {
				t.Fatalf("nv2 verify of the pushed tag: exit %d\n%s%s", v.code, v.stdout, v.stderr)
			}
			if err := notationVerify(t, pinned, cert); err != nil {
				t.Fatalf("notation-go does not verify %s: %v", pinned, err)
			}
			if _, stranger := u.keys("stranger"); notationVerify(t, pinned, stranger) == nil {
				t.Fatalf("notation-go verified %s with a stranger's certificate", pinned)
			}

			// A plain docker pull gets the digest signed offline, and the same image.
			u.must(0, "rmi", offline, name+":v1")
			if u.imageID(id) != "" {
				t.Fatal("the built image is still in the engine")
			}
			if pl := u.must(0, "pull", name+":v1"); !strings.Contains(pl.stdout, "Digest: "+signed.String()) {
				t.Fatalf("docker pull got another digest than %s:\n%s", signed, pl.stdout)
			}
			if got := u.imageID(name + ":v1"); got != id {
				t.Fatalf("pulled image ID %s, built %s", got, id)
			}
			if r := u.must(0, "run", "--rm", "--network", "none", name+":v1"); strings.TrimSpace(r.stdout) != helloOutput {
				t.Fatalf("docker run output %q", r.stdout)
			}

			// Verified pull and run: the verified digest, nothing else.
			u.must(0, "rmi", name+":v1") // and the pulled name@digest with it
			pl := u.must(0, "nv2", "pull", name+":v1")
			if !strings.Contains(pl.stdout, "Pulled "+pinned+" as "+name+":v1 (verified)") || u.imageID(name+":v1") != id {
				t.Fatalf("docker nv2 pull:\n%s", pl.stdout)
			}
			r := u.must(0, "nv2", "run", "--rm", "--network", "none", name+":v1")
			if strings.TrimSpace(r.stdout) != helloOutput || !strings.Contains(r.stderr, "Verified "+pinned) {
				t.Fatalf("docker nv2 run: stdout %q\nstderr:\n%s", r.stdout, r.stderr)
			}
		})
	}
}

// TestDockerEngineSignedAtPush: an image with no signature waiting is
// signed with the configured key as it is pushed; without a key, nothing is
// pushed.
func TestDockerEngineSignedAtPush(t *testing.T) {
	u, cert := engineUser(t)
	reg := testregistry.Start(t, testregistry.GGCR)
	name := reg.Host + "/team/at-push"
	u.build(name+":v1", "signed-at-push")

	// No key configured: refused, nothing written.
	path := filepath.Join(u.config, dockerplugin.ConfigFile)
	configured, _, err := dockerplugin.LoadConfig(u.config)
	if err != nil {
		t.Fatal(err)
	}
	noKey := *configured
	noKey.Key, noKey.Cert = "", ""
	if err := noKey.Save(path); err != nil {
		t.Fatal(err)
	}
	r := u.must(exitError, "nv2", "push", name+":v1")
	if !strings.Contains(r.stderr, "docker nv2 sign "+name+":v1") {
		t.Fatalf("push without signature or key should say how to sign:\n%s", r.stderr)
	}
	for _, req := range reg.Requests() {
		if req.Method != "GET" && req.Method != "HEAD" {
			t.Fatalf("an unsigned push wrote to the registry: %v", req)
		}
	}
	// An image the engine does not have: nothing pushed, and said why.
	if r := u.must(exitError, "nv2", "push", reg.Host+"/team/never-built:v1"); !strings.Contains(r.stderr, "build or tag it first") {
		t.Fatalf("push of an image that is not local:\n%s", r.stderr)
	}
	if err := configured.Save(path); err != nil {
		t.Fatal(err)
	}
	p := u.must(0, "nv2", "push", name+":v1")
	d := signedDigest(t, p.stdout)
	if !strings.Contains(p.stdout, "Pushed "+name+"@"+d.String()+" as "+name+":v1 with 1 signature(s)") {
		t.Fatalf("push output:\n%s", p.stdout)
	}
	if v := execute(t, nv2Bin, u.env, "verify", "--cert", cert, name+":v1"); v.code != 0 {
		t.Fatalf("nv2 verify: exit %d\n%s", v.code, v.stderr)
	}
}

// TestDockerEngineRefusesUnverified: an unsigned image (exit 3) and one with
// a tampered signature (exit 4) are neither pulled nor run.
func TestDockerEngineRefusesUnverified(t *testing.T) {
	u, cert := engineUser(t)
	reg := testregistry.Start(t, testregistry.GGCR)

	unsigned := reg.Host + "/team/unsigned:v1"
	u.build(unsigned, "unsigned")
	u.must(0, "push", unsigned)
	u.must(0, "rmi", unsigned)

	tampered := reg.Host + "/team/tampered:v1"
	u.build(tampered, "tampered")
	u.must(0, "push", tampered)
	u.must(0, "rmi", tampered)
	sig := filepath.Join(u.dir, "sig.jws")
	execute(t, nv2Bin, u.env, "sign", "--key", filepath.Join(u.dir, "keys", "engine-signer.key"), "--cert", cert,
		"--signature-only", "--signature-out", sig, tampered)
	pushTampered(t, reg.Host, "team/tampered", sig, cert)

	for _, tc := range []struct {
		ref  string
		code int
	}{{unsigned, exitNoSignature}, {tampered, exitNotVerified}} {
		if r := u.must(tc.code, "nv2", "pull", tc.ref); strings.Contains(r.stdout, "Pulled") {
			t.Fatalf("pull of %s:\n%s", tc.ref, r.stdout)
		}
		if r := u.must(tc.code, "nv2", "run", "--rm", "--network", "none", tc.ref); strings.Contains(r.stdout, helloOutput) {
			t.Fatalf("%s ran:\n%s", tc.ref, r.stdout)
		}
		if u.imageID(tc.ref) != "" {
			t.Fatalf("%s reached the engine although it did not verify", tc.ref)
		}
	}
}

// pushTampered pushes the envelope in file, with its signature bytes
// changed, as a signature of the image tagged v1 in repo.
func pushTampered(t *testing.T, host, repo, file, cert string) {
	t.Helper()
	env, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var jws map[string]any
	if err := json.Unmarshal(env, &jws); err != nil {
		t.Fatal(err)
	}
	var payload struct{ TargetArtifact ocispec.Descriptor }
	s := jws["signature"].(string)
	jws["signature"] = strings.Repeat("A", 8) + s[8:]
	bad, _ := json.Marshal(jws)
	chain, err := nvcrypto.LoadCertificates(cert)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := jws["payload"].(string)
	raw, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &payload); err != nil || payload.TargetArtifact.Digest == "" {
		t.Fatalf("payload of %s: %v %s", file, err, raw)
	}
	envs := []testregistry.Envelope{{Data: bad, Thumbprints: nvcrypto.Thumbprints(chain)}}
	if _, err := testregistry.PushSignatures(context.Background(), host, repo, payload.TargetArtifact, envs, 1); err != nil {
		t.Fatal(err)
	}
}
