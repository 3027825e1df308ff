package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nv2-signing/nv2/internal/testregistry"
)

// TestJSONDocs runs every command that reports, with -o json, and checks
// its output against the example docs/json.md gives for it: the same keys
// at every level, the same kinds of values (null stands for an object that
// may be absent), so that the documentation cannot drift from the output.
func TestJSONDocs(t *testing.T) {
	docs := jsonExamples(t, filepath.Join("..", "..", "docs", "json.md"))
	reg := testregistry.Start(t, testregistry.GGCR)
	testregistry.PushImage(t, reg, "net-monitor", "v1", "json-docs")
	u := newDockerUser(t)
	c := &cliUser{t: t, env: u.env, dir: u.dir}
	dir := t.TempDir()
	ref := reg.Host + "/net-monitor:v1"
	layout := buildLayout(t)
	policy := writeFile(t, dir, "policy.json", []byte(`{"version":"1.0","trustPolicies":[{"name":"all","registryScopes":["*"],`+
		`"signatureVerification":{"level":"strict"},"trustStores":["ca:json-docs"],"trustedIdentities":["*"]}]}`))

	got := map[string]string{}
	run := func(name string, args ...string) {
		got[name] = c.must(0, append(args, "-o", "json")...).stdout
	}
	// Nothing to list is an empty list, not a missing field.
	testregistry.PushImage(t, reg, "unsigned", "v1", "json-docs-unsigned")
	var empty struct{ Referrers []any }
	decode(t, c.must(0, "discover", "-o", "json", reg.Host+"/unsigned:v1").stdout, &empty)
	if empty.Referrers == nil {
		t.Errorf("discover -o json of an artifact without referrers has no referrers list")
	}
	run("nv2 cert generate", "cert", "generate", "--name", "signer", "--out", filepath.Join(dir, "keys"))
	key, cert := filepath.Join(dir, "keys", "signer.key"), filepath.Join(dir, "keys", "signer.crt")
	run("nv2 sign", "sign", "--key", key, "--cert", cert, "-a", "build=42", ref)
	run("nv2 verify", "verify", "--cert", cert, ref)
	run("nv2 discover", "discover", ref)
	run("nv2 inspect", "inspect", ref)
	run("nv2 copy", "copy", ref, reg.Host+"/mirror/net-monitor:v1")
	run("nv2 pull", "pull", "--cert", cert, "--to-oci-layout", filepath.Join(dir, "pulled"), ref)
	sig := filepath.Join(dir, "sig.jws")
	c.must(0, "sign", "--key", key, "--cert", cert, "--oci-layout", "--signature-only", "--signature-out", sig, layout+":v1")
	run("nv2 attach", "attach", "--oci-layout", "--signature", sig, layout+":v1")
	run("nv2 cert add", "cert", "add", "--store", "json-docs", cert)
	run("nv2 cert list", "cert", "list")
	run("nv2 policy import", "policy", "import", policy)
	run("nv2 policy show", "policy", "show")
	run("nv2 cert delete", "cert", "delete", "--store", "json-docs")

	file := writeFile(t, dir, "release.tar.gz", []byte("a release"))
	run("nv2 blob sign", "blob", "sign", "--key", key, "--cert", cert, "-a", "build=42", file)
	run("nv2 blob verify", "blob", "verify", "--cert", cert, "--signature", file+".jws.sig", file)
	run("nv2 blob inspect", "blob", "inspect", file+".jws.sig")
	blobPolicy := writeFile(t, dir, "blob-policy.json", []byte(`{"version":"1.0","trustPolicies":[{"name":"releases","globalPolicy":true,`+
		`"signatureVerification":{"level":"strict"},"trustStores":["ca:releases"],"trustedIdentities":["*"]}]}`))
	run("nv2 blob policy import", "blob", "policy", "import", blobPolicy)
	run("nv2 blob policy show", "blob", "policy", "show")

	u.must(0, "nv2", "config", "set", "--key", key, "--cert", cert, "--verify-cert", cert)
	got["docker nv2 config"] = u.must(0, "nv2", "config", "-o", "json").stdout
	checkJSONDocs(t, docs, got)
	for name := range docs {
		if _, ok := got[name]; !ok && !engineJSON[name] {
			t.Errorf("docs/json.md documents %s, which no test runs", name)
		}
	}
}

// engineJSON names the commands whose JSON TestDockerJSONDocs checks: they
// need a docker engine.
var engineJSON = map[string]bool{"docker nv2 push": true, "docker nv2 pull": true}

// TestDockerJSONDocs: docker nv2 push and pull with -o json, on a real
// engine, against their examples in docs/json.md.
func TestDockerJSONDocs(t *testing.T) {
	u, _ := engineUser(t)
	reg := testregistry.Start(t, testregistry.Distribution)
	ref := reg.Host + "/team/json-docs:v1"
	u.build(ref, "json-docs")
	got := map[string]string{
		"docker nv2 push": u.must(0, "nv2", "push", "--docker-push", "-o", "json", ref).stdout,
		"docker nv2 pull": u.must(0, "nv2", "pull", "-o", "json", ref).stdout,
	}
	docs := jsonExamples(t, filepath.Join("..", "..", "docs", "json.md"))
	checkJSONDocs(t, docs, got)
	// The local image, signed at push: the same shape.
	local := reg.Host + "/team/json-docs-local:v1"
	u.build(local, "json-docs-local")
	checkJSONDocs(t, docs, map[string]string{"docker nv2 push": u.must(0, "nv2", "push", "-o", "json", local).stdout})
}

// checkJSONDocs checks each command's output in got against its example.
func checkJSONDocs(t *testing.T, docs map[string]any, got map[string]string) {
	t.Helper()
	for name, out := range got {
		doc, ok := docs[name]
		if !ok {
			t.Errorf("docs/json.md has no example for %s; its output is:\n%s", name, out)
			continue
		}
		var v any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Errorf("%s: the output is not JSON: %v\n%s", name, err, out)
			continue
		}
		for _, d := range sameShape(doc, v, "") {
			t.Errorf("%s: %s\noutput:\n%s", name, d, out)
		}
	}
}

// jsonExamples reads the examples of docs/json.md: each "## `COMMAND`"
// heading, then the first json code block after it.
func jsonExamples(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)\n## `([^`]+)`.*?```json\n(.*?)```")
	out := map[string]any{}
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		var v any
		if err := json.Unmarshal([]byte(m[2]), &v); err != nil {
			t.Fatalf("docs/json.md, %s: the example is not JSON: %v", m[1], err)
		}
		out[m[1]] = v
	}
	return out
}

// sameShape lists how got differs from the documented example doc. Keys
// with a dot (annotation names) are examples of free-form entries: neither
// required nor refused.
func sameShape(doc, got any, at string) []string {
	if doc == nil || got == nil {
		return nil // null: an object that may be absent
	}
	switch d := doc.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: documented as an object, is %T", at, got)}
		}
		if len(d) == 0 || len(g) == 0 {
			return nil // a map of any keys, such as annotations
		}
		var diffs []string
		for _, k := range sortedKeys(d) {
			if _, ok := g[k]; !ok && !strings.Contains(k, ".") {
				diffs = append(diffs, fmt.Sprintf("%s.%s: documented, missing from the output", at, k))
				continue
			}
			if _, ok := g[k]; ok {
				diffs = append(diffs, sameShape(d[k], g[k], at+"."+k)...)
			}
		}
		for _, k := range sortedKeys(g) {
			if _, ok := d[k]; !ok && !strings.Contains(k, ".") {
				diffs = append(diffs, fmt.Sprintf("%s.%s: in the output, not documented", at, k))
			}
		}
		return diffs
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: documented as a list, is %T", at, got)}
		}
		var diffs []string
		for i := range g {
			if len(d) > 0 {
				diffs = append(diffs, sameShape(d[0], g[i], fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
		return diffs
	default:
		if fmt.Sprintf("%T", doc) != fmt.Sprintf("%T", got) {
			return []string{fmt.Sprintf("%s: documented as %T, is %T", at, doc, got)}
		}
	}
	return nil
}
