package registry

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/nv2-signing/nv2/pkg/registry/internal/distribution"
)

// debugTransport writes one line per request and one per response to w.
// It never writes headers or bodies, and redacts URL user info and query
// parameters that can carry secrets (tokens, signatures of pre-signed URLs).
type debugTransport struct {
	next http.RoundTripper
	mu   sync.Mutex
	w    io.Writer
}

func (d *debugTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	authScheme := ""
	if a := req.Header.Get("Authorization"); a != "" {
		scheme, _, _ := strings.Cut(a, " ")
		authScheme = " (auth: " + scheme + " <redacted>)"
	}
	d.printf("> %s %s%s\n", req.Method, distribution.RedactURL(req.URL), authScheme)
	resp, err := d.next.RoundTrip(req)
	elapsed := time.Since(start).Round(time.Millisecond)
	if err != nil {
		d.printf("< %s %s: error after %s: %s\n", req.Method, distribution.RedactURL(req.URL), elapsed, redactText(err.Error(), req.URL))
		return nil, err
	}
	d.printf("< %s %s %s (%s)\n", resp.Status, req.Method, distribution.RedactURL(req.URL), elapsed)
	return resp, nil
}

func (d *debugTransport) printf(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.w, "nv2 http: "+format, args...)
}

// redactText replaces the raw form of u (as net/http prints it in errors)
// with its redacted form.
func redactText(s string, u *url.URL) string {
	if u == nil {
		return s
	}
	return strings.ReplaceAll(s, u.String(), distribution.RedactURL(u))
}
