package revocation_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nv2-signing/nv2/internal/testrevocation"
	"github.com/nv2-signing/nv2/pkg/revocation"
)

// The tests run every check against OpenSSL's OCSP responder logic and CRLs
// made by `openssl ca -gencrl`, served on loopback (internal/testrevocation).
// A policy enforcing revocation fails on Revoked and Unknown; the package
// reports the statuses, so each case asserts the status and the error.

func newChecker() *revocation.Checker {
	return &revocation.Checker{HTTPClient: &http.Client{}, Timeout: 3 * time.Second}
}

type want struct {
	status revocation.Status
	method revocation.Method
	reason int
	err    error     // errors.Is; nil: Err must be nil
	inval  time.Time // the invalidity date, when set
}

func TestCheck(t *testing.T) {
	later := func() time.Time { return time.Now().Add(48 * time.Hour) } // past every nextUpdate
	compromised := time.Now().Add(-24 * time.Hour).UTC().Truncate(time.Second)
	tests := []struct {
		name    string
		leaf    testrevocation.LeafOptions
		setup   func(e *testrevocation.Env, leaf *x509.Certificate)
		checker func(c *revocation.Checker)
		leafRes want
		intRes  want
	}{{
		name:    "good: both certificates answered by OCSP",
		leafRes: want{status: revocation.Good, method: revocation.MethodOCSP},
		intRes:  want{status: revocation.Good, method: revocation.MethodOCSP},
	}, {
		name:    "revoked via OCSP",
		setup:   func(e *testrevocation.Env, leaf *x509.Certificate) { e.Revoke(leaf, "keyCompromise") },
		leafRes: want{status: revocation.Revoked, method: revocation.MethodOCSP, reason: 1},
		intRes:  want{status: revocation.Good, method: revocation.MethodOCSP},
	}, {
		name:    "revoked intermediate via OCSP",
		setup:   func(e *testrevocation.Env, _ *x509.Certificate) { e.Revoke(e.Intermediate.Cert, "cACompromise") },
		leafRes: want{status: revocation.Good, method: revocation.MethodOCSP},
		intRes:  want{status: revocation.Revoked, method: revocation.MethodOCSP, reason: 2},
	}, {
		name: "revoked via CRL when OCSP is down",
		setup: func(e *testrevocation.Env, leaf *x509.Certificate) {
			e.Revoke(leaf, "keyCompromise")
			e.SetOCSPDown(true)
		},
		leafRes: want{status: revocation.Revoked, method: revocation.MethodCRL, reason: 1},
		intRes:  want{status: revocation.Good, method: revocation.MethodCRL},
	}, {
		name:    "key compromise with an invalidity date via OCSP",
		setup:   func(e *testrevocation.Env, leaf *x509.Certificate) { e.RevokeCompromised(leaf, compromised) },
		leafRes: want{status: revocation.Revoked, method: revocation.MethodOCSP, reason: 1, inval: compromised},
		intRes:  want{status: revocation.Good, method: revocation.MethodOCSP},
	}, {
		name: "key compromise with an invalidity date via CRL",
		setup: func(e *testrevocation.Env, leaf *x509.Certificate) {
			e.RevokeCompromised(leaf, compromised)
			e.SetOCSPDown(true)
		},
		leafRes: want{status: revocation.Revoked, method: revocation.MethodCRL, reason: 1, inval: compromised},
		intRes:  want{status: revocation.Good, method: revocation.MethodCRL},
	}, {
		name:    "on hold via OCSP counts as revoked",
		setup:   func(e *testrevocation.Env, leaf *x509.Certificate) { e.Revoke(leaf, "certificateHold") },
		leafRes: want{status: revocation.Revoked, method: revocation.MethodOCSP, reason: 6},
		intRes:  want{status: revocation.Good, method: revocation.MethodOCSP},
	}, {
		name: "on hold via CRL counts as revoked",
		setup: func(e *testrevocation.Env, leaf *x509.Certificate) {
			e.Revoke(leaf, "certificateHold")
			e.SetOCSPDown(true)
		},
		leafRes: want{status: revocation.Revoked, method: revocation.MethodCRL, reason: 6},
		intRes:  want{status: revocation.Good, method: revocation.MethodCRL},
	}, {
		name: "responders and distribution points down: unknown",
		setup: func(e *testrevocation.Env, _ *x509.Certificate) {
			e.SetOCSPDown(true)
			e.SetCRLDown(true)
		},
		leafRes: want{status: revocation.Unknown, err: revocation.ErrUnreachable},
		intRes:  want{status: revocation.Unknown, err: revocation.ErrUnreachable},
	}, {
		name:    "server stopped: unknown",
		setup:   func(e *testrevocation.Env, _ *x509.Certificate) { e.Stop() },
		leafRes: want{status: revocation.Unknown, err: revocation.ErrUnreachable},
		intRes:  want{status: revocation.Unknown, err: revocation.ErrUnreachable},
	}, {
		name:    "slower than the timeout: unknown",
		setup:   func(e *testrevocation.Env, _ *x509.Certificate) { e.SetDelay(5 * time.Second) },
		checker: func(c *revocation.Checker) { c.Timeout = 100 * time.Millisecond },
		leafRes: want{status: revocation.Unknown, err: revocation.ErrTimeout},
		intRes:  want{status: revocation.Unknown, err: revocation.ErrTimeout},
	}, {
		name:    "CRL past its nextUpdate: unknown",
		setup:   func(e *testrevocation.Env, _ *x509.Certificate) { e.SetOCSPDown(true) },
		checker: func(c *revocation.Checker) { c.Now = later },
		leafRes: want{status: revocation.Unknown, err: revocation.ErrStale},
		intRes:  want{status: revocation.Unknown, err: revocation.ErrStale},
	}, {
		name: "CRL past its nextUpdate listing the certificate: still revoked",
		setup: func(e *testrevocation.Env, leaf *x509.Certificate) {
			e.Revoke(leaf, "keyCompromise")
			e.SetOCSPDown(true)
		},
		checker: func(c *revocation.Checker) { c.Now = later },
		leafRes: want{status: revocation.Revoked, method: revocation.MethodCRL, reason: 1},
		intRes:  want{status: revocation.Unknown, err: revocation.ErrStale},
	}, {
		name: "CRL past its nextUpdate with the certificate on hold: unknown",
		setup: func(e *testrevocation.Env, leaf *x509.Certificate) {
			e.Revoke(leaf, "certificateHold")
			e.SetOCSPDown(true)
		},
		checker: func(c *revocation.Checker) { c.Now = later },
		leafRes: want{status: revocation.Unknown, err: revocation.ErrStale},
		intRes:  want{status: revocation.Unknown, err: revocation.ErrStale},
	}, {
		name:    "OCSP response past its nextUpdate, CRL down: unknown",
		setup:   func(e *testrevocation.Env, _ *x509.Certificate) { e.SetCRLDown(true) },
		checker: func(c *revocation.Checker) { c.Now = later },
		leafRes: want{status: revocation.Unknown, err: revocation.ErrStale},
		intRes:  want{status: revocation.Unknown, err: revocation.ErrStale},
	}, {
		name: "CRL signed by the wrong key: unknown",
		setup: func(e *testrevocation.Env, _ *x509.Certificate) {
			e.SetOCSPDown(true)
			e.SetCRLWrongKey(true)
		},
		leafRes: want{status: revocation.Unknown, err: revocation.ErrInvalidResponse},
		intRes:  want{status: revocation.Unknown, err: revocation.ErrInvalidResponse},
	}, {
		name: "OCSP response about another certificate, CRL down: unknown",
		setup: func(e *testrevocation.Env, _ *x509.Certificate) {
			e.SetOCSPAnswerAbout(e.Leaf(testrevocation.LeafOptions{}))
			e.SetCRLDown(true)
		},
		leafRes: want{status: revocation.Unknown, err: revocation.ErrWrongCertificate},
		intRes:  want{status: revocation.Unknown, err: revocation.ErrWrongCertificate},
	}, {
		name: "OCSP response about another certificate: the CRL answers",
		setup: func(e *testrevocation.Env, _ *x509.Certificate) {
			e.SetOCSPAnswerAbout(e.Leaf(testrevocation.LeafOptions{}))
		},
		leafRes: want{status: revocation.Good, method: revocation.MethodCRL},
		intRes:  want{status: revocation.Good, method: revocation.MethodCRL},
	}, {
		name: "OCSP response signed with another key under the issuer's name, CRL down: unknown",
		setup: func(e *testrevocation.Env, _ *x509.Certificate) {
			e.SetOCSPSigner(testrevocation.SignerWrongKey)
			e.SetCRLDown(true)
		},
		leafRes: want{status: revocation.Unknown, err: revocation.ErrInvalidResponse},
		intRes:  want{status: revocation.Unknown, err: revocation.ErrInvalidResponse},
	}, {
		name: "OCSP response signed by a certificate of the issuer without OCSPSigning, CRL down: unknown",
		setup: func(e *testrevocation.Env, _ *x509.Certificate) {
			e.SetOCSPSigner(testrevocation.SignerNoOCSPSigning)
			e.SetCRLDown(true)
		},
		leafRes: want{status: revocation.Unknown, err: revocation.ErrInvalidResponse},
		intRes:  want{status: revocation.Unknown, err: revocation.ErrInvalidResponse},
	}, {
		name: "one distribution point of two answers: its CRL decides",
		leaf: testrevocation.LeafOptions{MissingCRLFirst: true},
		setup: func(e *testrevocation.Env, leaf *x509.Certificate) {
			e.Revoke(leaf, "keyCompromise")
			e.SetOCSPDown(true)
		},
		leafRes: want{status: revocation.Revoked, method: revocation.MethodCRL, reason: 1},
		intRes:  want{status: revocation.Good, method: revocation.MethodCRL},
	}, {
		name:    "no distribution point answers: unknown",
		leaf:    testrevocation.LeafOptions{MissingCRLFirst: true, NoCRL: true},
		setup:   func(e *testrevocation.Env, _ *x509.Certificate) { e.SetOCSPDown(true) },
		leafRes: want{status: revocation.Unknown, err: revocation.ErrUnreachable},
		intRes:  want{status: revocation.Good, method: revocation.MethodCRL},
	}, {
		name:    "delegated responder without ocsp-nocheck: its own CRL is checked too",
		setup:   func(e *testrevocation.Env, _ *x509.Certificate) { e.SetOCSPSigner(testrevocation.SignerWithoutNoCheck) },
		leafRes: want{status: revocation.Good, method: revocation.MethodOCSP},
		intRes:  want{status: revocation.Good, method: revocation.MethodOCSP},
	}, {
		name: "delegated responder without ocsp-nocheck, revoked: its answers are refused, the CRL decides",
		setup: func(e *testrevocation.Env, _ *x509.Certificate) {
			e.SetOCSPSigner(testrevocation.SignerWithoutNoCheck)
			e.Revoke(e.Intermediate.Responder(testrevocation.SignerWithoutNoCheck), "keyCompromise")
		},
		leafRes: want{status: revocation.Good, method: revocation.MethodCRL},
		intRes:  want{status: revocation.Good, method: revocation.MethodOCSP},
	}, {
		name: "delegated responder without ocsp-nocheck, CRLs down: unknown",
		setup: func(e *testrevocation.Env, _ *x509.Certificate) {
			e.SetOCSPSigner(testrevocation.SignerWithoutNoCheck)
			e.SetCRLDown(true)
		},
		leafRes: want{status: revocation.Unknown, err: revocation.ErrInvalidResponse},
		intRes:  want{status: revocation.Unknown, err: revocation.ErrInvalidResponse},
	}, {
		name:    "CRL whose issuing distribution point is another URL: unknown",
		leaf:    testrevocation.LeafOptions{CRLAlias: true},
		setup:   func(e *testrevocation.Env, _ *x509.Certificate) { e.SetOCSPDown(true) },
		leafRes: want{status: revocation.Unknown, err: revocation.ErrInvalidResponse},
		intRes:  want{status: revocation.Good, method: revocation.MethodCRL},
	}, {
		name:    "CRL only: good",
		leaf:    testrevocation.LeafOptions{NoOCSP: true},
		leafRes: want{status: revocation.Good, method: revocation.MethodCRL},
		intRes:  want{status: revocation.Good, method: revocation.MethodOCSP},
	}, {
		name:    "CRL only: revoked",
		leaf:    testrevocation.LeafOptions{NoOCSP: true},
		setup:   func(e *testrevocation.Env, leaf *x509.Certificate) { e.Revoke(leaf, "superseded") },
		leafRes: want{status: revocation.Revoked, method: revocation.MethodCRL, reason: 4},
		intRes:  want{status: revocation.Good, method: revocation.MethodOCSP},
	}, {
		name:    "OCSP only, responder down: unknown",
		leaf:    testrevocation.LeafOptions{NoCRL: true},
		setup:   func(e *testrevocation.Env, _ *x509.Certificate) { e.SetOCSPDown(true) },
		leafRes: want{status: revocation.Unknown, err: revocation.ErrUnreachable},
		intRes:  want{status: revocation.Good, method: revocation.MethodCRL},
	}, {
		name:    "no OCSP responder and no CRL distribution point: not checked, with a warning",
		leaf:    testrevocation.LeafOptions{NoOCSP: true, NoCRL: true},
		leafRes: want{status: revocation.NotChecked, err: revocation.ErrNoRevocationInfo},
		intRes:  want{status: revocation.Good, method: revocation.MethodOCSP},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := testrevocation.New(t)
			leaf := e.Leaf(tt.leaf)
			if tt.setup != nil {
				tt.setup(e, leaf)
			}
			c := newChecker()
			if tt.checker != nil {
				tt.checker(c)
			}
			chain := e.Chain(leaf)
			results := c.Check(context.Background(), chain)
			if len(results) != 2 {
				t.Fatalf("got %d results, want 2 (leaf and intermediate)", len(results))
			}
			for i, w := range []want{tt.leafRes, tt.intRes} {
				assertResult(t, results[i], chain[i], w)
			}
		})
	}
}

func assertResult(t *testing.T, r revocation.Result, cert *x509.Certificate, w want) {
	t.Helper()
	name := cert.Subject.CommonName
	if r.Cert != cert {
		t.Errorf("%s: result is about %v", name, r.Cert.Subject)
	}
	if r.Status != w.status {
		t.Errorf("%s: status %v, want %v (err: %v)", name, r.Status, w.status, r.Err)
	}
	if w.method != "" && r.Method != w.method {
		t.Errorf("%s: method %q, want %q", name, r.Method, w.method)
	}
	if r.Status == revocation.Revoked && (r.Reason != w.reason || r.RevokedAt.IsZero()) {
		t.Errorf("%s: reason %d at %v, want reason %d with a time", name, r.Reason, r.RevokedAt, w.reason)
	}
	if !r.InvalidityDate.Equal(w.inval) {
		t.Errorf("%s: invalidity date %v, want %v", name, r.InvalidityDate, w.inval)
	}
	switch {
	case w.err == nil && r.Err != nil:
		t.Errorf("%s: unexpected error %v", name, r.Err)
	case w.err != nil && !errors.Is(r.Err, w.err):
		t.Errorf("%s: error %v, want one wrapping %v", name, r.Err, w.err)
	}
}

// TestCheckChains: a signature's chain and a timestamp authority's are
// checked together, each answered in order.
func TestCheckChains(t *testing.T) {
	e := testrevocation.New(t)
	e.SetDelay(300 * time.Millisecond)
	good := e.Chain(e.Leaf(testrevocation.LeafOptions{}))
	revokedLeaf := e.Leaf(testrevocation.LeafOptions{})
	e.Revoke(revokedLeaf, "keyCompromise")
	all := newChecker().CheckChains(context.Background(), good, e.Chain(revokedLeaf))
	if len(all) != 2 || all[0][0].Status != revocation.Good || all[1][0].Status != revocation.Revoked {
		t.Fatalf("results %+v, want the first leaf good and the second revoked", all)
	}
	if got := e.MaxConcurrent(); got < 4 {
		t.Errorf("at most %d requests at a time, want the 4 checks to overlap", got)
	}
}

// TestChainOrder: a certificate not signed by the next one cannot be
// checked, since no answer about it could be verified.
func TestChainOrder(t *testing.T) {
	e := testrevocation.New(t)
	leaf := e.Leaf(testrevocation.LeafOptions{})
	r := newChecker().Check(context.Background(), []*x509.Certificate{leaf, e.Root.Cert})
	if len(r) != 1 || r[0].Status != revocation.Unknown || !errors.Is(r[0].Err, revocation.ErrInvalidChain) {
		t.Fatalf("leaf followed by the root: %+v, want unknown with ErrInvalidChain", r)
	}
	if o, c := e.Requests(); o+c != 0 {
		t.Errorf("%d requests for an invalid chain, want none", o+c)
	}
	if r := newChecker().Check(context.Background(), []*x509.Certificate{leaf, nil}); len(r) != 1 || r[0].Status != revocation.Unknown || !errors.Is(r[0].Err, revocation.ErrInvalidChain) {
		t.Errorf("leaf followed by nil: %+v, want unknown with ErrInvalidChain", r)
	}
	if r := newChecker().Check(context.Background(), []*x509.Certificate{e.Root.Cert}); len(r) != 0 {
		t.Errorf("a root alone: %d results, want none", len(r))
	}
}

// TestCheckInParallel: the certificates of a chain are checked at once, so
// the server sees their requests overlap (counted, not timed).
func TestCheckInParallel(t *testing.T) {
	e := testrevocation.New(t)
	e.SetDelay(300 * time.Millisecond)
	results := newChecker().Check(context.Background(), e.Chain(e.Leaf(testrevocation.LeafOptions{})))
	for _, r := range results {
		if r.Status != revocation.Good {
			t.Fatalf("%s: %v (%v)", r.Cert.Subject, r.Status, r.Err)
		}
	}
	if got := e.MaxConcurrent(); got < 2 {
		t.Errorf("at most %d request at a time at the server, want the 2 checks to overlap", got)
	}
	if o, c := e.Requests(); o != 2 || c != 0 {
		t.Errorf("%d OCSP and %d CRL requests, want one OCSP request per certificate", o, c)
	}
}

// TestCache: a later run with the same cache sends no request; the files are
// private and a tampered one is refused and replaced.
func TestCache(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(e *testrevocation.Env)
		method revocation.Method
	}{
		{"OCSP", func(e *testrevocation.Env) {}, revocation.MethodOCSP},
		{"CRL", func(e *testrevocation.Env) { e.SetOCSPDown(true) }, revocation.MethodCRL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := testrevocation.New(t)
			tc.setup(e)
			chain := e.Chain(e.Leaf(testrevocation.LeafOptions{}))
			cache := filepath.Join(t.TempDir(), "revocation")
			run := func() []revocation.Result {
				c := newChecker() // a new Checker: a later run of nv2
				c.CacheDir = cache
				return c.Check(context.Background(), chain)
			}
			assertAll(t, run(), revocation.Good, revocation.SourceNetwork, tc.method)

			e.ResetCounts()
			assertAll(t, run(), revocation.Good, revocation.SourceCache, tc.method)
			if o, c := e.Requests(); o+c != 0 {
				t.Errorf("warm cache: %d OCSP and %d CRL requests, want none", o, c)
			}

			files, _ := filepath.Glob(filepath.Join(cache, "*.der"))
			if len(files) != 2 {
				t.Fatalf("cache holds %v, want one file per certificate", files)
			}
			if fi, err := os.Stat(cache); err != nil || fi.Mode().Perm() != 0o700 {
				t.Errorf("cache directory: %v %v, want mode 0700", fi.Mode(), err)
			}
			for _, f := range files {
				if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
					t.Errorf("%s: %v %v, want mode 0600", f, fi.Mode(), err)
				}
				data, _ := os.ReadFile(f)
				data[len(data)-1] ^= 0xff // the signature's last byte
				if err := os.WriteFile(f, data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			e.ResetCounts()
			assertAll(t, run(), revocation.Good, revocation.SourceNetwork, tc.method)
			if o, c := e.Requests(); o+c == 0 {
				t.Errorf("tampered cache files were used: no request sent")
			}
			e.ResetCounts()
			assertAll(t, run(), revocation.Good, revocation.SourceCache, tc.method)
		})
	}
}

// TestCacheTamperedOffline: a tampered cache file with no server to fall
// back to gives unknown, never good.
func TestCacheTamperedNoServer(t *testing.T) {
	e := testrevocation.New(t)
	chain := e.Chain(e.Leaf(testrevocation.LeafOptions{NoCRL: true}))
	cache := t.TempDir()
	c := newChecker()
	c.CacheDir = cache
	assertAll(t, c.Check(context.Background(), chain), revocation.Good, revocation.SourceNetwork, "")
	files, _ := filepath.Glob(filepath.Join(cache, "ocsp-*.der"))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		data[len(data)-1] ^= 0xff
		os.WriteFile(f, data, 0o600)
	}
	e.Stop()
	r := c.Check(context.Background(), chain)[0]
	if r.Status != revocation.Unknown || !errors.Is(r.Err, revocation.ErrUnreachable) {
		t.Errorf("tampered cache, server stopped: %v (%v), want unknown", r.Status, r.Err)
	}
}

// TestOffline: Fetch on a connected machine, then Check with that directory
// and no network at all.
func TestOffline(t *testing.T) {
	e := testrevocation.New(t)
	good := e.Chain(e.Leaf(testrevocation.LeafOptions{}))
	crlOnly := e.Chain(e.Leaf(testrevocation.LeafOptions{NoOCSP: true}))
	revokedLeaf := e.Leaf(testrevocation.LeafOptions{})
	e.Revoke(revokedLeaf, "keyCompromise")
	revoked := e.Chain(revokedLeaf)
	dir := filepath.Join(t.TempDir(), "revocation-data")

	fetcher := newChecker()
	for _, chain := range [][]*x509.Certificate{good, crlOnly, revoked} {
		if _, err := fetcher.Fetch(context.Background(), chain, dir); err != nil {
			t.Fatalf("Fetch: %v", err)
		}
	}
	e.Stop()

	offline := &revocation.Checker{
		HTTPClient: &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			t.Errorf("offline check sent a request to %s", r.URL)
			return nil, errors.New("no network")
		})},
		OfflineDir: dir,
	}
	assertAll(t, offline.Check(context.Background(), good), revocation.Good, revocation.SourceOffline, revocation.MethodOCSP)
	r := offline.Check(context.Background(), crlOnly)
	assertResult(t, r[0], crlOnly[0], want{status: revocation.Good, method: revocation.MethodCRL})
	if r := offline.Check(context.Background(), revoked); r[0].Status != revocation.Revoked {
		t.Errorf("revoked leaf offline: %v (%v)", r[0].Status, r[0].Err)
	}

	offline.Now = func() time.Time { return time.Now().Add(48 * time.Hour) }
	for _, chain := range [][]*x509.Certificate{good, crlOnly} {
		for _, r := range offline.Check(context.Background(), chain) {
			if r.Status != revocation.Unknown || !errors.Is(r.Err, revocation.ErrNotInOfflineData) || !errors.Is(r.Err, revocation.ErrStale) {
				t.Errorf("%s past nextUpdate offline: %v (%v), want unknown", r.Cert.Subject, r.Status, r.Err)
			}
		}
	}

	other := testrevocation.New(t)
	r = offline.Check(context.Background(), other.Chain(other.Leaf(testrevocation.LeafOptions{})))
	if r[0].Status != revocation.Unknown || !errors.Is(r[0].Err, revocation.ErrNotInOfflineData) {
		t.Errorf("chain without offline data: %v (%v), want unknown", r[0].Status, r[0].Err)
	}
}

// TestFetchFails: Fetch reports the certificates it could not get data for.
func TestFetchFails(t *testing.T) {
	e := testrevocation.New(t)
	chain := e.Chain(e.Leaf(testrevocation.LeafOptions{}))
	e.Stop()
	_, err := newChecker().Fetch(context.Background(), chain, t.TempDir())
	if !errors.Is(err, revocation.ErrUnreachable) {
		t.Errorf("Fetch with the server stopped: %v, want ErrUnreachable", err)
	}
}

func assertAll(t *testing.T, results []revocation.Result, status revocation.Status, source revocation.Source, method revocation.Method) {
	t.Helper()
	for _, r := range results {
		if r.Status != status || r.Source != source || (method != "" && r.Method != method) {
			t.Errorf("%s: %v from %q via %q (%v), want %v from %q via %q", r.Cert.Subject, r.Status, r.Source, r.Method, r.Err, status, source, method)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
