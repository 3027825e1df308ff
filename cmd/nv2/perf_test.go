package main

import (
	"github.com/nv2-signing/nv2/pkg/flows"

	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/nv2-signing/nv2/internal/testregistry"
	nvcrypto "github.com/nv2-signing/nv2/pkg/crypto"
	"github.com/nv2-signing/nv2/pkg/signature"
)

// The performance targets, counted at real registries while the built nv2
// binary runs: every command is a new process, as in a CI job. Counts and
// peaks are asserted, never durations.

// counted runs nv2, fails the test unless it exits with want, and returns
// its result, the requests the registry answered meanwhile, and the
// process's peak resident memory in bytes.
func (c *cliUser) counted(reg *testregistry.Registry, want int, args ...string) (result, int, int64) {
	c.t.Helper()
	reg.Reset()
	m := c.runMeasured(args...)
	expectExit(c.t, want, m.result, "nv2", args)
	return m.result, reg.Count(), m.maxRSS
}

// TestCLIRequestCounts: one signature, each command a new process. With
// the referrers API, sign takes 5 requests whether or not the repository
// holds the config blob (resolve, referrers probe, config and envelope
// single-POST uploads, manifest) and writes no tag; verify takes 4 by tag
// in 4 sequential levels (resolve, list, manifest, envelope) and 4 by
// digest in 3 levels (the artifact's descriptor, which the payload's must
// match, is read beside the list). Without it (CNCF distribution), sign
// takes 10 (the resolve, then 9 to push: the config and envelope each take
// a POST and a PUT, and the referrers index is read, written and read again
// to protect concurrent signers) and verify 5 by tag (the list is a
// referrers GET, then the index).
func TestCLIRequestCounts(t *testing.T) {
	limits := map[testregistry.Kind]struct{ signFirst, sign, verifyTag, verifyDigest, digestLevels int }{
		testregistry.GGCR:         {signFirst: 5, sign: 5, verifyTag: 4, verifyDigest: 4, digestLevels: 3},
		testregistry.Distribution: {signFirst: 10, sign: 10, verifyTag: 5, verifyDigest: 5, digestLevels: 4},
	}
	for _, kind := range testregistry.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			reg := testregistry.Start(t, kind)
			img := testregistry.PushImage(t, reg, "net-monitor", "v1", "counts")
			c := newCLI(t, "NV2_REGISTRY="+reg.Host)
			key, cert := c.keys("wabbit-networks.io")
			lim := limits[kind]
			check := func(what string, n, limit int) {
				t.Helper()
				t.Logf("%s: %d requests (limit %d): %v", what, n, limit, reg.Requests())
				if n > limit {
					t.Errorf("%s took %d requests, limit %d", what, n, limit)
				}
			}
			_, n, _ := c.counted(reg, 0, "sign", "--key", key, "--cert", cert, "net-monitor:v1")
			check("sign, config blob not yet in the repository", n, lim.signFirst)
			_, n, _ = c.counted(reg, 0, "sign", "--key", key, "--cert", cert, "net-monitor:v1")
			check("sign", n, lim.sign)
			for _, r := range reg.Requests() {
				if r.Method == http.MethodHead && strings.Contains(r.Path, "/blobs/") {
					t.Errorf("sign asked whether a blob exists (%v): it should upload it in a single POST", r)
				}
			}
			_, n, _ = c.counted(reg, 0, "verify", "--cert", cert, "net-monitor:v1")
			check("verify by tag", n, lim.verifyTag)
			reg.SetDelay(20 * time.Millisecond) // parallel requests must arrive within it to share a level
			_, n, _ = c.counted(reg, 0, "verify", "--cert", cert, "net-monitor@"+img.Digest.String())
			check("verify by digest", n, lim.verifyDigest)
			if l := reg.Levels(); l > lim.digestLevels {
				t.Errorf("verify by digest took %d sequential round-trip levels, limit %d: %v", l, lim.digestLevels, reg.Requests())
			}
			if kind == testregistry.GGCR {
				if tags := repoTags(t, reg, "net-monitor"); len(tags) != 1 || tags[0] != "v1" {
					t.Errorf("signing wrote tags on a registry with the referrers API: %v", tags)
				}
			}
		})
	}
}

// repoTags lists the tags of reg/repo.
func repoTags(t *testing.T, reg *testregistry.Registry, repo string) []string {
	t.Helper()
	resp, err := http.Get(reg.URL + "/v2/" + repo + "/tags/list")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct{ Tags []string }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	return list.Tags
}

// junkSignatures stores n signatures of subject by three untrusted signers
// (each a valid signature, with its own thumbprint hint).
func junkSignatures(t *testing.T, reg *testregistry.Registry, repo string, subject ocispec.Descriptor, n int) {
	t.Helper()
	var envs []testregistry.Envelope
	for i := range 3 {
		creds, err := nvcrypto.Generate(nvcrypto.GenerateOptions{CommonName: fmt.Sprint("untrusted-", i)})
		if err != nil {
			t.Fatal(err)
		}
		s, err := signature.NewSigner(creds.Key, creds.Chain)
		if err != nil {
			t.Fatal(err)
		}
		for j := range 4 {
			env, err := s.Sign(signature.SignRequest{Target: subject, SigningTime: time.Now().Add(-time.Duration(j+1) * time.Second)})
			if err != nil {
				t.Fatal(err)
			}
			envs = append(envs, testregistry.Envelope{Data: env, Thumbprints: nvcrypto.Thumbprints(creds.Chain)})
		}
	}
	if _, err := testregistry.PushSignatures(context.Background(), reg.Host, repo, subject, envs, n); err != nil {
		t.Fatal(err)
	}
}

// TestCLIThousandJunkSignatures: 1,000 signatures from untrusted signers
// and one trusted on one image, on both kinds of registry. verify costs
// what it costs with one signature (the thumbprint hints put the trusted
// one first) and stays under 100 MiB; discover lists all 1,001.
func TestCLIThousandJunkSignatures(t *testing.T) {
	const junk, pageSize = 1000, 100
	const memLimit = 100 << 20
	for _, tt := range []struct {
		name                string
		kind                testregistry.Kind
		opts                testregistry.Options
		verifyLimit         int
		discoverArgs        []string
		discoverLimit       int
		discoverDescription string
	}{
		{name: "referrers API", kind: testregistry.GGCR, verifyLimit: 4,
			discoverArgs: []string{"--depth", "1"}, discoverLimit: 2, discoverDescription: "resolve, one listing"},
		{name: "referrers API in pages of 100", kind: testregistry.GGCR, opts: testregistry.Options{Wrap: testregistry.PageReferrers(pageSize)},
			verifyLimit: 3 + (junk+pageSize)/pageSize, discoverArgs: []string{"--depth", "1"}, discoverLimit: 1 + (junk+pageSize)/pageSize, discoverDescription: "resolve, 11 pages"},
		{name: "referrers tag schema", kind: testregistry.Distribution, verifyLimit: 5,
			discoverLimit: 4, discoverDescription: "resolve, referrers GET, index, one tag listing for the second level"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			reg := testregistry.Start(t, tt.kind, tt.opts)
			img := testregistry.PushImage(t, reg, "net-monitor", "v1", "junk")
			junkSignatures(t, reg, "net-monitor", img, junk)
			c := newCLI(t, "NV2_REGISTRY="+reg.Host)
			key, cert := c.keys("wabbit-networks.io")
			c.must(0, "sign", "--key", key, "--cert", cert, "net-monitor:v1")

			r, n, rss := c.counted(reg, 0, "verify", "-o", "json", "--cert", cert, "net-monitor:v1")
			var out verifyResults
			if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out) != 1 {
				t.Fatalf("verify JSON: %v\n%s", err, r.stdout)
			}
			t.Logf("verify: %d requests (limit %d), %d found, %d tried, peak RSS %d MiB", n, tt.verifyLimit, out[0].Found, out[0].Tried, rss>>20)
			if out[0].Found != junk+1 || out[0].Tried != 1 {
				t.Errorf("verify found %d and tried %d signatures, want %d and 1", out[0].Found, out[0].Tried, junk+1)
			}
			if n > tt.verifyLimit {
				t.Errorf("verify took %d requests with %d junk signatures, limit %d", n, junk, tt.verifyLimit)
			}
			if rss > memLimit {
				t.Errorf("verify peaked at %d MiB of memory, limit %d MiB", rss>>20, memLimit>>20)
			}

			args := append(append([]string{"discover", "-o", "json"}, tt.discoverArgs...), "net-monitor:v1")
			r, n, rss = c.counted(reg, 0, args...)
			var tree discoverResult
			if err := json.Unmarshal([]byte(r.stdout), &tree); err != nil {
				t.Fatal(err)
			}
			t.Logf("discover %v: %d referrers, %d requests (limit %d: %s), peak RSS %d MiB", tt.discoverArgs, len(tree.Referrers), n, tt.discoverLimit, tt.discoverDescription, rss>>20)
			if len(tree.Referrers) != junk+1 {
				t.Errorf("discover listed %d referrers, want %d", len(tree.Referrers), junk+1)
			}
			if n > tt.discoverLimit {
				t.Errorf("discover took %d requests, limit %d (%s)", n, tt.discoverLimit, tt.discoverDescription)
			}
			if rss > memLimit {
				t.Errorf("discover peaked at %d MiB of memory, limit %d MiB", rss>>20, memLimit>>20)
			}
		})
	}
}

// tokenAuth is a bearer-token front for a real registry, the way Docker Hub
// and most registries authenticate: a request without a token gets a 401
// challenge naming the token service and scope; the token service counts
// what it hands out, and new TCP connections are counted too.
type tokenAuth struct {
	mu      sync.Mutex
	tokens  map[string]int // scope -> tokens issued
	conns   int
	server  *httptest.Server
	backend *url.URL
}

func newTokenAuth(t *testing.T, reg *testregistry.Registry) *tokenAuth {
	ta := &tokenAuth{tokens: map[string]int{}}
	ta.backend, _ = url.Parse(reg.URL)
	proxy := httputil.NewSingleHostReverseProxy(ta.backend)
	ta.server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			scope := r.URL.Query().Get("scope")
			ta.mu.Lock()
			ta.tokens[scope]++
			ta.mu.Unlock()
			_ = json.NewEncoder(w).Encode(map[string]any{"token": "tok " + scope, "expires_in": 300})
			return
		}
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer tok repository:") {
			repo := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/v2/"), "/", 2)[0]
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q,service="test",scope="repository:%s:pull"`, ta.server.URL+"/token", repo))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	ta.server.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			ta.mu.Lock()
			ta.conns++
			ta.mu.Unlock()
		}
	}
	ta.server.Start()
	t.Cleanup(ta.server.Close)
	return ta
}

// TestCLIVerifyManyReferencesSharesConnectionsAndTokens: 'nv2 verify' of 100
// images in one process on a token-auth registry asks for one token per
// repository scope, reuses a small pool of connections, and checks several
// images at once; the results keep the order of the references.
func TestCLIVerifyManyReferencesSharesConnectionsAndTokens(t *testing.T) {
	const images = 100
	reg := testregistry.Start(t, testregistry.GGCR)
	c := newCLI(t)
	key, cert := c.keys("wabbit-networks.io")
	signer, err := flows.LoadSigner(key, cert)
	if err != nil {
		t.Fatal(err)
	}
	auth := newTokenAuth(t, reg)
	var refs []string
	for i := range images {
		repo := "team-a/app"
		if i%2 == 1 {
			repo = "team-b/app"
		}
		img := testregistry.PushImage(t, reg, repo, fmt.Sprint("v", i), fmt.Sprint("many-", i))
		env, err := signer.Sign(signature.SignRequest{Target: img})
		if err != nil {
			t.Fatal(err)
		}
		envs := []testregistry.Envelope{{Data: env, Thumbprints: nvcrypto.Thumbprints(signer.Chain())}}
		if _, err := testregistry.PushSignatures(context.Background(), reg.Host, repo, img, envs, 1); err != nil {
			t.Fatal(err)
		}
		refs = append(refs, fmt.Sprintf("%s/%s:v%d", strings.TrimPrefix(auth.server.URL, "http://"), repo, i))
	}
	// A little latency, so that requests the process sends at once are
	// seen at once by the registry.
	reg.SetDelay(5 * time.Millisecond)
	reg.Reset()
	r := c.must(0, append([]string{"verify", "-o", "json", "--cert", cert}, refs...)...)
	var out verifyResults
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out) != images {
		t.Fatalf("verify JSON: %v", err)
	}
	for i, res := range out {
		if res.Reference != refs[i] || res.Status != "verified" {
			t.Fatalf("result %d is %s (%s), want %s verified: the order of the references must be kept", i, res.Reference, res.Status, refs[i])
		}
	}
	auth.mu.Lock()
	defer auth.mu.Unlock()
	t.Logf("%d images: %d requests, %d in flight at most, %d connections, tokens %v", images, reg.Count(), reg.MaxInFlight(), auth.conns, auth.tokens)
	for scope, n := range auth.tokens {
		if n != 1 {
			t.Errorf("%d tokens fetched for scope %q, want 1 per process", n, scope)
		}
	}
	if len(auth.tokens) != 2 {
		t.Errorf("tokens fetched for %d scopes (%v), want 2 (one per repository)", len(auth.tokens), auth.tokens)
	}
	if auth.conns > 2*flows.VerifyParallel*4 {
		t.Errorf("%d TCP connections for %d images: the connection pool is not shared", auth.conns, images)
	}
	if n := reg.Count(); n > images*4 {
		t.Errorf("%d requests for %d images, want at most 4 each", n, images)
	}
	if reg.MaxInFlight() < flows.VerifyParallel/2 {
		t.Errorf("the images were verified one at a time (at most %d request in flight)", reg.MaxInFlight())
	}
}
