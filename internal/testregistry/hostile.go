package testregistry

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Hostile sits in front of a real registry (as Options.Wrap) and, once a
// Rule is set, lets it rewrite answers: the registry a verifier must not
// trust. With no rule every request passes through unchanged, so content can
// be pushed through it first.
type Hostile struct {
	mu    sync.Mutex
	rule  Rule
	wrote atomic.Int64
}

// Rule answers r itself and returns true, or returns false to let the real
// registry (next) answer.
type Rule func(w http.ResponseWriter, r *http.Request, next http.Handler) bool

// Set makes rule answer from now on; nil passes everything through again.
func (h *Hostile) Set(rule Rule) {
	h.mu.Lock()
	h.rule = rule
	h.mu.Unlock()
}

// Wrap is the Options.Wrap that puts h in front of a registry.
func (h *Hostile) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		rule := h.rule
		h.mu.Unlock()
		cw := &countingWriter{ResponseWriter: w, n: &h.wrote}
		if rule == nil || !rule(cw, r, next) {
			next.ServeHTTP(cw, r)
		}
	})
}

// BytesWritten is how many body bytes h's answers carried so far (what a
// client could have read): a bound on what a hostile answer made it hold.
func (h *Hostile) BytesWritten() int64 { return h.wrote.Load() }

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w *countingWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.n.Add(int64(n))
	return n, err
}

func (w *countingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection (to hijack it).
func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Record returns the real registry's answer to r, to be rewritten.
func Record(next http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r)
	return rec
}

// Reply writes an answer with the headers of rec (when not nil), the given
// status and body; Content-Length is set to the body's length.
func Reply(w http.ResponseWriter, rec *httptest.ResponseRecorder, status int, body []byte) {
	if rec != nil {
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// IsReferrers reports whether r is a GET of the referrers API.
func IsReferrers(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/referrers/")
}

// IsManifest reports whether r reads (GET or HEAD) the manifest reference
// (a digest or a tag) of any repository.
func IsManifest(r *http.Request, reference string) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.HasSuffix(r.URL.Path, "/manifests/"+reference)
}

// IsBlob reports whether r is a GET of a blob.
func IsBlob(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:")
}

// Endless writes the headers of rec with status 200 and no Content-Length,
// then streams body followed by filler until the client goes away: an
// answer that never ends.
func Endless(w http.ResponseWriter, r *http.Request, rec *httptest.ResponseRecorder, body []byte) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(body); err != nil {
		return
	}
	filler := bytes.Repeat([]byte(" "), 64<<10)
	for r.Context().Err() == nil {
		if _, err := w.Write(filler); err != nil {
			return
		}
	}
}

// Stall writes the headers of rec and the first half of its body, flushes
// them, then sends nothing more until the client goes away: a registry that
// stalls mid-response.
func Stall(w http.ResponseWriter, r *http.Request, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	body := rec.Body.Bytes()
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body[:len(body)/2])
	_ = http.NewResponseController(w).Flush()
	<-r.Context().Done()
}

// Truncate answers with the headers of rec, including the full
// Content-Length, and the first half of the body, then closes the
// connection: a body cut short.
func Truncate(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	body := rec.Body.Bytes()
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body[:len(body)/2])
	_ = http.NewResponseController(w).Flush()
	Drop(w)
}

// Drop closes the connection of w without an answer (or after what was
// already written): to the client the registry went away.
func Drop(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		_ = conn.Close()
		return
	}
	panic(http.ErrAbortHandler)
}

// Unwrap lets http.ResponseController reach the connection through the
// Counter (to hijack it in Drop).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
