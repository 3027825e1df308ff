// Package testregistry starts real OCI registries inside a test process: the
// go-containerregistry registry with the OCI 1.1 referrers API, and CNCF
// distribution 3.x (no referrers API, so clients use the tag-schema fallback).
// Both are the upstream implementations; a Counter in front of them counts and
// optionally delays requests so tests can assert request counts and overlap.
package testregistry

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd" // basic auth
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/bcrypt"
)

// Kind names a registry implementation.
type Kind string

const (
	// GGCR is go-containerregistry's registry with the referrers API enabled.
	GGCR Kind = "ggcr-referrers"
	// Distribution is CNCF distribution 3.x, which has no referrers API.
	Distribution Kind = "distribution"
)

// Kinds lists both registry kinds, for table-driven tests.
var Kinds = []Kind{GGCR, Distribution}

// Registry is a running registry on a loopback port.
type Registry struct {
	Kind Kind
	// Host is "127.0.0.1:PORT", usable as the registry part of a reference.
	Host string
	// URL is "http://127.0.0.1:PORT".
	URL string
	*Counter
	server *httptest.Server
}

// Options change how a registry is started.
type Options struct {
	// Username and Password, when set, make the registry require HTTP basic
	// auth (distribution only: go-containerregistry's registry has no auth).
	Username, Password string
	// Wrap, when set, wraps the registry's handler (for example a proxy that
	// rewrites answers). It sits inside the Counter.
	Wrap func(http.Handler) http.Handler
}

// Start starts a registry of the given kind and stops it when the test ends.
func Start(t testing.TB, kind Kind, opts ...Options) *Registry {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	var h http.Handler
	switch kind {
	case GGCR:
		if o.Username != "" {
			t.Fatalf("testregistry: %s has no authentication; use %s", GGCR, Distribution)
		}
		h = ggcr.New(ggcr.WithReferrersSupport(true), ggcr.Logger(log.New(io.Discard, "", 0)))
	case Distribution:
		h = newDistribution(t, o)
	default:
		t.Fatalf("testregistry: unknown kind %q", kind)
	}
	if o.Wrap != nil {
		h = o.Wrap(h)
	}
	c := &Counter{next: h}
	s := httptest.NewServer(c)
	t.Cleanup(s.Close)
	return &Registry{Kind: kind, Host: strings.TrimPrefix(s.URL, "http://"), URL: s.URL, Counter: c, server: s}
}

var quietOnce sync.Once

func newDistribution(t testing.TB, o Options) http.Handler {
	quietOnce.Do(func() { logrus.SetLevel(logrus.ErrorLevel); logrus.SetOutput(io.Discard) })
	cfg := &configuration.Configuration{}
	cfg.Log.Level = "error"
	cfg.Log.AccessLog.Disabled = true
	cfg.Storage = configuration.Storage{
		"inmemory": configuration.Parameters{},
		"delete":   configuration.Parameters{"enabled": true},
		"maintenance": configuration.Parameters{
			"uploadpurging": map[interface{}]interface{}{"enabled": false},
		},
	}
	cfg.HTTP.Secret = "nv2-test-secret"
	if o.Username != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(o.Password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "htpasswd")
		if err := os.WriteFile(path, []byte(o.Username+":"+string(hash)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg.Auth = configuration.Auth{"htpasswd": configuration.Parameters{"realm": "nv2-test", "path": path}}
	}
	return handlers.NewApp(context.Background(), cfg)
}

// Counter counts the requests that reach a registry, records them, and can
// delay each one to model a registry that is far away.
type Counter struct {
	next http.Handler

	mu       sync.Mutex
	requests []Request
	gen      int // counts Resets: an answer ending after one is not recorded
	inFlight int
	maxIn    int
	delay    time.Duration
}

// Request is one request a registry received.
type Request struct {
	Method, Path, Query string
	Status              int // 0 while it is being answered
	// Start is when the request arrived (before any delay), End when its
	// answer was complete: what Levels orders requests by.
	Start, End time.Time
}

func (r Request) String() string {
	s := r.Method + " " + r.Path
	if r.Query != "" {
		s += "?" + r.Query
	}
	return fmt.Sprintf("%s -> %d", s, r.Status)
}

// SetDelay adds d before every answer from now on.
func (c *Counter) SetDelay(d time.Duration) {
	c.mu.Lock()
	c.delay = d
	c.mu.Unlock()
}

// Reset forgets the requests counted so far and the peak concurrency.
func (c *Counter) Reset() {
	c.mu.Lock()
	c.requests = nil
	c.maxIn = 0
	c.gen++
	c.mu.Unlock()
}

// Requests returns the requests received since the last Reset, in order of
// arrival. A request is recorded when it arrives, so one sent before a Reset
// never counts after it, even when its answer is still being written (a
// client can read a whole answer before the handler returns).
func (c *Counter) Requests() []Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Request(nil), c.requests...)
}

// Count returns how many requests were received since the last Reset.
func (c *Counter) Count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.requests)
}

// MaxInFlight returns the largest number of requests the registry was
// serving at one moment since the last Reset.
func (c *Counter) MaxInFlight() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.maxIn
}

func (c *Counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	c.mu.Lock()
	c.inFlight++
	if c.inFlight > c.maxIn {
		c.maxIn = c.inFlight
	}
	gen, i := c.gen, len(c.requests)
	c.requests = append(c.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Start: start})
	d := c.delay
	c.mu.Unlock()
	if d > 0 {
		time.Sleep(d)
	}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	c.next.ServeHTTP(sw, r)
	c.mu.Lock()
	c.inFlight--
	if c.gen == gen {
		c.requests[i].Status, c.requests[i].End = sw.status, time.Now()
	}
	c.mu.Unlock()
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Flush lets streaming handlers flush through the counter.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
