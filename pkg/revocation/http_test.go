package revocation

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBodyBounds: an answer is read up to its limit and refused past it;
// an HTTP error status is an unreachable server; only http(s) URLs are used.
func TestBodyBounds(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		if err != nil {
			http.Error(w, "no", http.StatusInternalServerError)
			return
		}
		w.Write(make([]byte, n))
	}))
	defer srv.Close()
	c := &Checker{HTTPClient: srv.Client()}
	for _, tc := range []struct {
		path string
		want error
	}{
		{"/100", nil},
		{"/101", ErrTooLarge},
		{"/20000000", ErrTooLarge},
		{"/fail", ErrUnreachable},
	} {
		data, err := c.do(context.Background(), http.MethodGet, srv.URL+tc.path, "", nil, 100, time.Second)
		if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) || (err == nil && len(data) != 100) {
			t.Errorf("%s: %d bytes, %v; want %v", tc.path, len(data), err, tc.want)
		}
	}
	for _, u := range []string{"ldap://127.0.0.1/cn=crl", "file:///etc/passwd", "http://", "::"} {
		if err := checkURL(u); !errors.Is(err, ErrUnsupportedURL) {
			t.Errorf("checkURL(%q) = %v, want ErrUnsupportedURL", u, err)
		}
	}
}
