package main

import (
	"github.com/nv2-signing/nv2/internal/dockerplugin"

	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nv2-signing/nv2/internal/testregistry"
)

// These tests run the docker plugin through the real docker client, with
// the built nv2 installed as DOCKER_CONFIG/cli-plugins/docker-nv2. No docker
// engine is needed to dispatch a plugin; push and pull run against the real
// engine (docker_engine_test.go), one test checks what the real client does
// without an engine, and a stand-in "docker" script earlier on PATH checks
// only what an engine cannot show: what reaches the docker nv2 runs.

// dockerUser is one docker user: their own home, DOCKER_CONFIG with nv2
// installed as a plugin, and no reachable docker engine.
type dockerUser struct {
	t      *testing.T
	docker string // the real docker client
	dir    string
	config string // DOCKER_CONFIG
	env    []string
}

func newDockerUser(t *testing.T) *dockerUser {
	t.Helper()
	docker, err := exec.LookPath("docker")
	if err != nil {
		msg := "skipping: the docker CLI plugin tests need the docker client on PATH (Debian's docker.io has it)"
		if os.Getenv("NV2_REQUIRE_DOCKER") == "1" {
			t.Fatal(msg + "; NV2_REQUIRE_DOCKER=1: the docker tests must run")
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	u := &dockerUser{t: t, docker: docker, dir: dir, config: filepath.Join(dir, "docker")}
	u.env = []string{
		"HOME=" + dir,
		"PATH=" + os.Getenv("PATH"),
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"DOCKER_CONFIG=" + u.config,
		// No engine, whatever the machine has: push and pull fail alike everywhere.
		"DOCKER_HOST=unix://" + filepath.Join(dir, "no-engine.sock"),
	}
	installPlugin(t, u.config)
	return u
}

// installPlugin installs the built nv2 as config/cli-plugins/docker-nv2.
func installPlugin(t *testing.T, config string) {
	t.Helper()
	bin, err := os.ReadFile(nv2Bin)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(config, "cli-plugins")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, dockerplugin.Binary), bin, 0o755); err != nil {
		t.Fatal(err)
	}
}

// run runs the real docker client with args.
func (u *dockerUser) run(args ...string) result {
	u.t.Helper()
	return execute(u.t, u.docker, u.env, args...)
}

// must runs docker and fails the test unless it exits with want.
func (u *dockerUser) must(want int, args ...string) result {
	u.t.Helper()
	return expectExit(u.t, want, u.run(args...), "docker", args)
}

// keys makes a signing key and certificate with 'docker nv2 cert generate'.
func (u *dockerUser) keys(name string) (key, cert string) {
	u.t.Helper()
	out := filepath.Join(u.dir, "keys")
	u.must(0, "nv2", "cert", "generate", "--name", name, "--out", out)
	return filepath.Join(out, name+".key"), filepath.Join(out, name+".crt")
}

// login stores credentials for host in the docker config's auths, as
// 'docker login' does without a credential store.
func login(t *testing.T, config, host, user, pass string) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"auths": map[string]any{host: map[string]string{"auth": basic(user, pass)}}})
	if err := os.MkdirAll(config, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(config, "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// dockerStandIn is a "docker" script put first on the user's PATH. It
// records each call, with docker's plugin variables if they leaked through.
type dockerStandIn struct {
	t   *testing.T
	log string
}

func (u *dockerUser) standIn() *dockerStandIn {
	u.t.Helper()
	dir := filepath.Join(u.dir, "standin")
	s := &dockerStandIn{t: u.t, log: filepath.Join(dir, "calls")}
	script := `#!/bin/sh
echo "env=${DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND:-}${DOCKER_CLI_PLUGIN_SOCKET:-} args=$*" >> '` + s.log + `'
case "$1" in
fail) echo "stand-in docker failed" >&2; exit 42 ;;
*) echo "stand-in docker: $*" ;;
esac
`
	if err := os.MkdirAll(dir, 0o755); err != nil {
		u.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "docker"), []byte(script), 0o755); err != nil {
		u.t.Fatal(err)
	}
	for i, kv := range u.env {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			u.env[i] = "PATH=" + dir + string(os.PathListSeparator) + p
		}
	}
	return s
}

// calls returns the argument lists the stand-in was called with, and fails
// the test if docker's plugin variables reached it.
func (s *dockerStandIn) calls() []string {
	s.t.Helper()
	b, err := os.ReadFile(s.log)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		s.t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		env, args, _ := strings.Cut(l, " args=")
		if env != "env=" {
			s.t.Errorf("docker's plugin variables reached the docker nv2 ran: %s", l)
		}
		out = append(out, args)
	}
	return out
}

func TestDockerPluginMetadata(t *testing.T) {
	for _, name := range []string{"nv2", dockerplugin.Binary} {
		bin := filepath.Join(t.TempDir(), name)
		data, err := os.ReadFile(nv2Bin)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(bin, data, 0o755)
		out, err := exec.Command(bin, dockerplugin.MetadataCommand).Output()
		if err != nil {
			t.Fatalf("%s %s: %v", name, dockerplugin.MetadataCommand, err)
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("metadata is not JSON: %v\n%s", err, out)
		}
		want := map[string]any{"SchemaVersion": "0.1.0", "Vendor": "nv2-signing", "Version": version,
			"ShortDescription": dockerplugin.NewMetadata(version).ShortDescription, "URL": "https://github.com/nv2-signing/nv2"}
		for k, v := range want {
			if m[k] != v {
				t.Errorf("%s: metadata %s = %v, want %v", name, k, m[k], v)
			}
		}
		if len(m) != len(want) {
			t.Errorf("%s: metadata has extra fields: %v", name, m)
		}
	}
}

func TestDockerHelpListsThePlugin(t *testing.T) {
	u := newDockerUser(t)
	h := u.must(0, "--help")
	if !strings.Contains(h.stdout, "nv2*") || !strings.Contains(h.stdout, dockerplugin.NewMetadata(version).ShortDescription) {
		t.Fatalf("docker --help does not list the nv2 plugin:\n%s%s", h.stdout, h.stderr)
	}
	p := u.must(0, "nv2", "--help")
	for _, cmd := range []string{"sign", "verify", "discover", "inspect", "copy", "cert", "push", "pull", "run", "config"} {
		if !strings.Contains(p.stdout, "\n   "+cmd+" ") {
			t.Errorf("docker nv2 --help lacks %q:\n%s", cmd, p.stdout)
		}
	}
	// Aliases that would hide a docker command are gone ("cp" is docker cp).
	if strings.Contains(p.stdout, "copy, cp") {
		t.Errorf("docker nv2 keeps the cp alias:\n%s", p.stdout)
	}
	if r := u.must(exitUsage, "nv2", "push", "--no-such-flag", "x"); !strings.Contains(r.stderr, "docker nv2 push --help") {
		t.Errorf("usage error should point at docker nv2's help:\n%s", r.stderr)
	}
}

// TestMakeInstallDockerPlugin runs 'make install-docker-plugin' with a
// DOCKER_CONFIG of its own.
func TestMakeInstallDockerPlugin(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: builds nv2 with make")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("skipping: make is not on PATH")
	}
	u := newDockerUser(t)
	config := filepath.Join(u.dir, "other-docker-config")
	cmd := exec.Command("make", "-C", "../..", "install-docker-plugin", "BIN="+filepath.Join(u.dir, "bin"))
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+config)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install-docker-plugin: %v\n%s", err, out)
	}
	info, err := os.Stat(filepath.Join(config, "cli-plugins", dockerplugin.Binary))
	if err != nil || info.Mode().Perm() != 0o755 {
		t.Fatalf("plugin not installed in $DOCKER_CONFIG/cli-plugins with mode 0755: %v %v", info, err)
	}
	if h := u.must(0, "--config", config, "--help"); !strings.Contains(h.stdout, "nv2*") {
		t.Fatalf("docker --help does not list the installed plugin:\n%s", h.stdout)
	}
}

// TestDockerSignVerifyUseDockerLogin signs and verifies on a registry that
// requires basic auth, with the credentials only in the docker config.
func TestDockerSignVerifyUseDockerLogin(t *testing.T) {
	const user, pass = "docker-user", "d0cker-secret"
	reg := testregistry.Start(t, testregistry.Distribution, testregistry.Options{Username: user, Password: pass})
	img := testregistry.NewImage("docker-login")
	layout := filepath.Join(t.TempDir(), "layout")
	writeLayout(t, layout, img)
	u := newDockerUser(t)
	key, cert := u.keys("docker-signer")
	ref := reg.Host + "/team/app:v1"
	pinned := reg.Host + "/team/app@" + img.Descriptor.Digest.String()

	// Not logged in: the registry refuses, and nv2 says to log in.
	if r := u.run("nv2", "copy", "--from-oci-layout", layout+":v1", ref); r.code == 0 || !strings.Contains(strings.ToLower(r.stderr), "login") {
		t.Fatalf("copy without credentials: exit %d\n%s", r.code, r.stderr)
	}
	login(t, u.config, reg.Host, user, pass)
	out := []result{u.must(0, "nv2", "copy", "--from-oci-layout", layout+":v1", ref)}
	s := u.must(0, "nv2", "sign", "--key", key, "--cert", cert, ref)
	if !strings.Contains(s.stdout, "Signed "+pinned) {
		t.Fatalf("docker nv2 sign output:\n%s", s.stdout)
	}
	v := u.must(0, "nv2", "verify", "--cert", cert, ref)
	if !strings.Contains(v.stdout, "Verified "+pinned) {
		t.Fatalf("docker nv2 verify output:\n%s", v.stdout)
	}
	d := u.must(0, "nv2", "discover", ref)
	if !strings.Contains(d.stdout, "application/vnd.cncf.notary.signature") {
		t.Fatalf("docker nv2 discover:\n%s", d.stdout)
	}
	out = append(out, s, v, d, u.must(0, "nv2", "inspect", ref))

	// The configured key and trust are sign's and verify's defaults.
	u.must(0, "nv2", "config", "set", "--key", key, "--cert", cert, "--verify-cert", cert)
	out = append(out, u.must(0, "nv2", "sign", ref), u.must(0, "nv2", "verify", ref))
	_, otherCert := u.keys("someone-else")
	u.must(exitNotVerified, "nv2", "verify", "--cert", otherCert, ref) // a flag wins over the config

	// docker --config DIR: the credentials and settings in DIR are used.
	other := filepath.Join(u.dir, "other-config")
	installPlugin(t, other)
	if r := u.run("--config", other, "nv2", "verify", "--cert", cert, ref); r.code == 0 {
		t.Fatalf("--config without credentials verified:\n%s", r.stdout)
	}
	login(t, other, reg.Host, user, pass)
	u.must(0, "--config", other, "nv2", "verify", "--cert", cert, ref)
	if c := u.must(0, "--config", other, "nv2", "config").stdout; !strings.Contains(c, filepath.Join(other, "nv2.json")) {
		t.Fatalf("docker --config %s nv2 config shows another file:\n%s", other, c)
	}

	for _, r := range out {
		for _, secret := range []string{pass, basic(user, pass)} {
			if strings.Contains(r.stdout+r.stderr, secret) {
				t.Fatalf("a credential appeared in the output:\n%s%s", r.stdout, r.stderr)
			}
		}
	}
}

func TestDockerConfigCommand(t *testing.T) {
	u := newDockerUser(t)
	key, cert := u.keys("config-signer")
	_, otherCert := u.keys("config-other")
	file := filepath.Join(u.config, "nv2.json")
	read := func() dockerplugin.Config {
		t.Helper()
		var cfg dockerplugin.Config
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &cfg); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	show := u.must(0, "nv2", "config").stdout
	for _, hint := range []string{"docker nv2 config enable", "docker nv2 config set --key FILE", "--verify-cert FILE"} {
		if !strings.Contains(show, hint) {
			t.Errorf("unset settings should say how to set them (%q):\n%s", hint, show)
		}
	}
	u.must(exitUsage, "nv2", "config", "set")
	if fileExists(file) {
		t.Fatal("an empty 'config set' wrote the settings")
	}

	// Relative paths are stored absolute.
	relKey, _ := filepath.Rel(u.dir, key)
	relCert, _ := filepath.Rel(u.dir, cert)
	cmd := exec.Command(u.docker, "nv2", "config", "set", "--key", relKey, "--cert", relCert, "--verify-cert", cert, "--verify-cert", otherCert)
	cmd.Dir, cmd.Env = u.dir, u.env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("config set with relative paths: %v\n%s", err, out)
	}
	if cfg := read(); cfg.Key != key || cfg.Cert != cert || len(cfg.VerifyCerts) != 2 || cfg.Policy != "" || cfg.Enabled {
		t.Fatalf("stored settings: %+v", cfg)
	}
	info, _ := os.Stat(file)
	if info.Mode().Perm() != 0o600 {
		t.Errorf("nv2.json mode %v, want 0600", info.Mode().Perm())
	}

	// A policy replaces the certificates; files are checked before saving.
	policy := filepath.Join(u.dir, "policy.json")
	os.WriteFile(policy, []byte(`{"version":"1.0","trustPolicies":[{"name":"p","registryScopes":["*"],"signatureVerification":{"level":"strict"},"trustStores":["ca:x"],"trustedIdentities":["*"]}]}`), 0o644)
	u.must(0, "nv2", "config", "set", "--policy", policy)
	if cfg := read(); cfg.Policy != policy || cfg.VerifyCerts != nil || cfg.Key != key {
		t.Fatalf("after --policy: %+v", cfg)
	}
	u.must(exitUsage, "nv2", "config", "set", "--policy", policy, "--verify-cert", cert)
	u.must(exitError, "nv2", "config", "set", "--verify-cert", filepath.Join(u.dir, "missing.crt"))
	u.must(exitError, "nv2", "config", "set", "--cert", otherCert) // not the key's certificate
	u.must(exitError, "nv2", "config", "set", "--policy", key)     // not a policy
	if cfg := read(); cfg.Policy != policy || cfg.Cert != cert {
		t.Fatalf("a refused 'config set' changed the settings: %+v", cfg)
	}

	u.must(0, "nv2", "config", "enable")
	var shown pluginConfigReport
	decode(t, u.must(0, "nv2", "config", "-o", "json").stdout, &shown)
	if !shown.Enabled || shown.File != file || shown.Policy != policy {
		t.Fatalf("config -o json: %+v", shown)
	}
	u.must(0, "nv2", "config", "disable")
	if read().Enabled {
		t.Fatal("still enabled after disable")
	}

	os.WriteFile(file, []byte("{not json"), 0o600)
	if r := u.must(exitError, "nv2", "config"); !strings.Contains(r.stderr, file) {
		t.Fatalf("a broken nv2.json should be named:\n%s", r.stderr)
	}
}

// TestDockerPushSignsWhatDockerPushed: with --docker-push, the real docker
// push pushes the image and nv2 signs exactly the digest docker reports.
func TestDockerPushSignsWhatDockerPushed(t *testing.T) {
	const user, pass = "pusher", "pu5h-secret"
	u, cert := engineUser(t)
	reg := testregistry.Start(t, testregistry.Distribution, testregistry.Options{Username: user, Password: pass})
	login(t, u.config, reg.Host, user, pass)
	ref := reg.Host + "/team/app:v1"
	u.build(ref, "docker-push")

	// Missing settings: refused before docker runs, saying what to run.
	u.must(0, "nv2", "config", "disable")
	if r := u.must(exitError, "nv2", "push", "--docker-push", ref); !strings.Contains(r.stderr, "docker nv2 config enable") {
		t.Fatalf("disabled push:\n%s", r.stderr)
	}
	u.must(0, "nv2", "config", "enable")
	u.must(exitUsage, "nv2", "push", "--all-tags", reg.Host+"/team/app") // --all-tags is docker push's

	p := u.must(0, "nv2", "push", "--docker-push", ref)
	pushed := regexp.MustCompile(`v1: digest: (sha256:[0-9a-f]{64}) size: \d+`).FindStringSubmatch(p.stdout)
	if pushed == nil {
		t.Fatalf("push should show docker's output:\n%s", p.stdout)
	}
	pinned := reg.Host + "/team/app@" + pushed[1]
	if !strings.Contains(p.stdout, "Signed "+pinned) {
		t.Fatalf("push should sign what docker pushed (%s):\n%s", pushed[1], p.stdout)
	}
	if v := u.must(0, "nv2", "verify", "--cert", cert, ref); !strings.Contains(v.stdout, "Verified "+pinned) {
		t.Fatalf("the pushed digest does not verify:\n%s", v.stdout)
	}

	// docker push fails: nothing is signed, docker's exit code and message.
	r := u.run("nv2", "push", "--docker-push", "127.0.0.1:1/team/app:v1")
	if r.code == 0 || strings.Contains(r.stdout, "Signed") || !strings.Contains(r.stderr, "nothing was signed") {
		t.Fatalf("failed push: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestDockerPassThrough: other commands go to docker unchanged (with
// docker's global options), only when enabled, with docker's exit code.
func TestDockerPassThrough(t *testing.T) {
	u := newDockerUser(t)
	docker := u.standIn()
	if r := u.must(exitUsage, "nv2", "images", "--all"); !strings.Contains(r.stderr, "docker nv2 config enable") {
		t.Fatalf("pass-through while disabled:\n%s", r.stderr)
	}
	u.must(0, "nv2", "config", "enable")
	if r := u.must(0, "nv2", "images", "--all"); !strings.Contains(r.stdout, "stand-in docker: images --all") {
		t.Fatalf("pass-through output:\n%s", r.stdout)
	}
	u.must(0, "nv2", "cp", "c:/x", "y") // docker cp, not nv2 copy
	if r := u.must(42, "nv2", "fail"); !strings.Contains(r.stderr, "stand-in docker failed") {
		t.Fatalf("docker's stderr is lost:\n%s", r.stderr)
	}
	u.must(0, "--config", u.config, "nv2", "ps")
	want := []string{"images --all", "cp c:/x y", "fail", "--config " + u.config + " ps"}
	if calls := docker.calls(); strings.Join(calls, "\n") != strings.Join(want, "\n") {
		t.Fatalf("docker calls:\n%q\nwant\n%q", calls, want)
	}
}

// TestDockerPushPullWithoutEngine runs push and pull with the real docker
// client as the child: with no engine they fail with docker's own message,
// and nothing claims success.
func TestDockerPushPullWithoutEngine(t *testing.T) {
	reg := testregistry.Start(t, testregistry.GGCR)
	testregistry.PushImage(t, reg, "team/app", "v1", "no-engine")
	u := newDockerUser(t)
	key, cert := u.keys("no-engine")
	ref := reg.Host + "/team/app:v1"
	u.must(0, "nv2", "config", "set", "--key", key, "--cert", cert, "--verify-cert", cert)
	u.must(0, "nv2", "config", "enable")

	for _, args := range [][]string{{"push", ref}, {"push", "--docker-push", ref}} {
		r := u.run(append([]string{"nv2"}, args...)...)
		if r.code == 0 || !strings.Contains(r.stderr, "Cannot connect to the Docker daemon") || !strings.Contains(r.stderr, "nothing was") || strings.Contains(r.stdout, "Signed") {
			t.Fatalf("%s without an engine: exit %d\nstdout:\n%s\nstderr:\n%s", args, r.code, r.stdout, r.stderr)
		}
	}
	u.must(exitNoSignature, "nv2", "verify", ref) // nothing was signed

	// Without an engine, sign signs the registry's image.
	u.must(0, "nv2", "sign", ref)
	for _, args := range [][]string{{"pull", ref}, {"run", ref}} {
		r := u.run(append([]string{"nv2"}, args...)...)
		if r.code == 0 || !strings.Contains(r.stderr, "Cannot connect to the Docker daemon") || strings.Contains(r.stdout, "Pulled") {
			t.Fatalf("%s without an engine: exit %d\nstdout:\n%s\nstderr:\n%s", args, r.code, r.stdout, r.stderr)
		}
	}
}
