package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nv2-signing/nv2/internal/testregistry"
	"github.com/nv2-signing/nv2/internal/testsign"
	"github.com/nv2-signing/nv2/internal/testtsa"
)

// closedURL is a TSA URL on a loopback port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "http://" + ln.Addr().String() + testtsa.TimestampPath
}

func TestSignWithTimestampShowsIt(t *testing.T) {
	tsa := testtsa.New(t)
	tsaName := tsa.Leaf().Subject.String()
	for _, kind := range testregistry.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			reg := testregistry.Start(t, kind)
			testregistry.PushImage(t, reg, "app", "v1", "timestamped")
			testregistry.PushImage(t, reg, "down", "v1", "tsa-down")
			c := newCLI(t, "NV2_REGISTRY="+reg.Host)
			key, cert := c.keys("wabbit-networks.io")
			root := testsign.WritePEM(t, c.dir, "tsa-root.crt", tsa.Root())

			c.must(0, "sign", "--key", key, "--cert", cert, "--timestamp-url", tsa.URL, "--timestamp-root-cert", root, "app:v1")

			v := c.must(0, "verify", "--cert", cert, "--tsa-cert", root, "app:v1")
			if !strings.Contains(v.stdout, "timestamp:") || !strings.Contains(v.stdout, tsaName) {
				t.Fatalf("verify should show the trusted timestamp and its TSA:\n%s", v.stdout)
			}
			var vj []verifyResult
			decode(t, c.must(0, "verify", "-o", "json", "--cert", cert, "--tsa-cert", root, "app:v1").stdout, &vj)
			if ts := vj[0].Signature.Timestamp; ts == nil || ts.TSA != tsaName || ts.Time.IsZero() || ts.Accuracy == "" {
				t.Fatalf("verify JSON timestamp: %+v", ts)
			}
			// Without a trusted TSA the timestamp is not checked, and not shown.
			if v := c.must(0, "verify", "--cert", cert, "app:v1"); strings.Contains(v.stdout, "timestamp:") {
				t.Fatalf("a timestamp no one checked is shown:\n%s", v.stdout)
			}

			in := c.must(0, "inspect", "app:v1")
			if !strings.Contains(in.stdout, "timestamp:") || !strings.Contains(in.stdout, tsaName) {
				t.Fatalf("inspect should show the timestamp:\n%s", in.stdout)
			}
			var ij inspectResult
			decode(t, c.must(0, "inspect", "-o", "json", "app:v1").stdout, &ij)
			if ts := ij.Signatures[0].Timestamp; ts == nil || ts.TSA != tsaName || ts.Time.IsZero() {
				t.Fatalf("inspect JSON timestamp: %+v", ts)
			}

			// A tsa trust store and a policy that requires timestamps.
			c.must(0, "cert", "add", "--store", "signer", cert)
			c.must(0, "cert", "add", "--type", "tsa", "--store", "tsa", root)
			policy := filepath.Join(c.dir, "policy.json")
			doc := `{"version":"1.0","trustPolicies":[{"name":"p","registryScopes":["*"],"signatureVerification":{"level":"strict","verifyTimestamp":"always"},"trustStores":["ca:signer","tsa:tsa"],"trustedIdentities":["*"]}]}`
			if err := os.WriteFile(policy, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			c.must(0, "policy", "import", policy)
			if s := c.must(0, "policy", "show").stdout; !strings.Contains(s, "verifyTimestamp always") || !strings.Contains(s, "tsa:tsa") {
				t.Fatalf("policy show:\n%s", s)
			}
			if v := c.must(0, "verify", "app:v1"); !strings.Contains(v.stdout, tsaName) {
				t.Fatalf("policy with a tsa store:\n%s", v.stdout)
			}
			if l := c.must(0, "cert", "list").stdout; !strings.Contains(l, "tsa") {
				t.Fatalf("cert list does not show the tsa store:\n%s", l)
			}

			// TSA down: sign fails, says which step, and nothing is pushed.
			r := c.must(exitError, "sign", "--key", key, "--cert", cert, "--timestamp-url", closedURL(t), "--timestamp-root-cert", root, "down:v1")
			if !strings.Contains(r.stderr, "unreachable") || !strings.Contains(r.stderr, "--timestamp-url") || !strings.Contains(r.stderr, "nothing was pushed") {
				t.Fatalf("sign with the TSA down:\n%s", r.stderr)
			}
			c.must(exitNoSignature, "verify", "--cert", cert, "down:v1")
			// A TSA whose root is not the one given: refused before any push.
			other := testsign.WritePEM(t, c.dir, "other-root.crt", testsign.NewPKI(t, "other TSA").Root)
			r = c.must(exitError, "sign", "--key", key, "--cert", cert, "--timestamp-url", tsa.URL, "--timestamp-root-cert", other, "down:v1")
			if !strings.Contains(r.stderr, "not from a trusted time stamping authority") || !strings.Contains(r.stderr, "--timestamp-root-cert") {
				t.Fatalf("sign with the wrong TSA root:\n%s", r.stderr)
			}
			c.must(exitNoSignature, "verify", "--cert", cert, "down:v1")
		})
	}
}

func TestTimestampFlagsGoTogether(t *testing.T) {
	c := newCLI(t)
	key, cert := c.keys("signer")
	c.must(exitUsage, "sign", "--key", key, "--cert", cert, "--timestamp-url", "http://127.0.0.1:1/tsa", "127.0.0.1:1/app:v1")
	c.must(exitUsage, "sign", "--key", key, "--cert", cert, "--timestamp-root-cert", cert, "127.0.0.1:1/app:v1")
	c.must(exitUsage, "sign", "--key", key, "--cert", cert, "--timestamp-url", "ftp://tsa", "--timestamp-root-cert", cert, "127.0.0.1:1/app:v1")
	c.must(exitUsage, "verify", "--tsa-cert", cert, "127.0.0.1:1/app:v1")
}

// TestDockerPushTimestamps: with the TSA in the plugin's settings, an image
// signed as docker nv2 pushes it carries a trusted timestamp.
func TestDockerPushTimestamps(t *testing.T) {
	tsa := testtsa.New(t)
	u, cert := engineUser(t)
	reg := testregistry.Start(t, testregistry.GGCR)
	name := reg.Host + "/team/timestamped"
	u.build(name+":v1", "timestamped")
	root := testsign.WritePEM(t, u.dir, "tsa-root.crt", tsa.Root())
	u.must(exitUsage, "nv2", "config", "set", "--timestamp-url", tsa.URL)
	u.must(0, "nv2", "config", "set", "--timestamp-url", tsa.URL, "--timestamp-root-cert", root)
	if s := u.must(0, "nv2", "config").stdout; !strings.Contains(s, tsa.URL) {
		t.Fatalf("config does not show the TSA:\n%s", s)
	}
	u.must(0, "nv2", "push", name+":v1")
	v := execute(t, nv2Bin, u.env, "verify", "--cert", cert, "--tsa-cert", root, name+":v1")
	if v.code != 0 || !strings.Contains(v.stdout, tsa.Leaf().Subject.String()) {
		t.Fatalf("docker nv2 push did not timestamp: exit %d\n%s%s", v.code, v.stdout, v.stderr)
	}
}

func TestBlobSignWithTimestamp(t *testing.T) {
	tsa := testtsa.New(t)
	c := newCLI(t)
	key, cert := c.keys("blob-signer")
	root := testsign.WritePEM(t, c.dir, "tsa-root.crt", tsa.Root())
	file := filepath.Join(c.dir, "release.tar.gz")
	if err := os.WriteFile(file, []byte("a release"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.must(0, "blob", "sign", "--key", key, "--cert", cert, "--timestamp-url", tsa.URL, "--timestamp-root-cert", root, file)
	v := c.must(0, "blob", "verify", "--cert", cert, "--tsa-cert", root, "--signature", file+".jws.sig", file)
	if !strings.Contains(v.stdout, "timestamp:") || !strings.Contains(v.stdout, tsa.Leaf().Subject.String()) {
		t.Fatalf("blob verify should show the trusted timestamp:\n%s", v.stdout)
	}
	// Signed without a timestamp, the same trust fails: the TSA is trusted, so one is required.
	c.must(0, "blob", "sign", "--force", "--key", key, "--cert", cert, file)
	if r := c.must(exitNotVerified, "blob", "verify", "--cert", cert, "--tsa-cert", root, "--signature", file+".jws.sig", file); !strings.Contains(r.stderr, "no timestamp") {
		t.Fatalf("blob verify of an untimestamped signature with --tsa-cert:\n%s", r.stderr)
	}
}
